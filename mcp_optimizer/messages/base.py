"""The base every message shares: frozen, strict, no unknown fields."""

from __future__ import annotations

import msgspec


class Message(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Base class of every message exchanged between parts of the service.

    Frozen (no shared mutable state between actors), strict (an unknown field is an
    error, never silently dropped) and keyword-only (no positional ambiguity).
    """


class TaggedMessage(
    msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True, tag=True
):
    """Base of the members of a tagged union (the tag is the class name)."""
