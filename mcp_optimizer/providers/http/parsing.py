"""Strict decoding of provider answers into typed values, with errors that name the field."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, TypeVar

import msgspec

from .errors import ProviderParseError

T = TypeVar("T")

NonNegInt = Annotated[int, msgspec.Meta(ge=0)]
PosInt = Annotated[int, msgspec.Meta(ge=1)]
AwareDatetime = Annotated[datetime, msgspec.Meta(tz=True)]

_AT = re.compile(r" - at `(\$[^`]*)`$")
_MISSING = re.compile(r"missing required field `([^`]+)`")
_PUBKEY = re.compile(r"^(02|03)[0-9a-f]{64}$")


def _field_of(message: str, prefix: str) -> str:
    at = _AT.search(message)
    path = at.group(1) if at else "$"
    missing = _MISSING.search(message)
    if missing:
        path = f"{path}.{missing.group(1)}"
    return prefix + path[1:]


def decode_strict(provider: str, body: bytes, type_: type[T], *, prefix: str = "$") -> T:
    """Decode JSON ``body`` as ``type_``; anything else is a :class:`ProviderParseError`.

    ``prefix`` is the JSON path of ``body`` within the whole answer (``$.data`` for the
    ``data`` member of a GraphQL answer), so that the error names the field as sent.
    """
    try:
        return msgspec.json.decode(body, type=type_)
    except msgspec.ValidationError as exc:
        text = str(exc)
        return _raise(provider, _field_of(text, prefix), _AT.sub("", text))
    except msgspec.DecodeError as exc:
        return _raise(provider, prefix, f"not valid JSON ({exc})")


def _raise(provider: str, field: str, detail: str) -> Any:
    raise ProviderParseError(provider, field, detail)


def sat_amount(provider: str, field: str, value: int | str) -> int:
    """An amount sent as a JSON integer or as a decimal string (MySQL DECIMAL sums are)."""
    if isinstance(value, int):
        if value < 0:
            _raise(provider, field, f"expected an amount >= 0, got {value}")
        return value
    if value.isascii() and value.isdigit():
        return int(value)
    return _raise(provider, field, f"expected an amount in satoshis, got {value!r}")


def check_pubkey(pubkey: str) -> str:
    """Return ``pubkey`` if it is a compressed secp256k1 key in lower-case hex, else raise."""
    if not isinstance(pubkey, str) or not _PUBKEY.match(pubkey):
        raise ValueError(f"not a node public key (66 lower-case hex characters): {pubkey!r}")
    return pubkey
