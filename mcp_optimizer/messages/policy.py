"""Changes of the policy itself, made on the web page (``mcp_optimizer/web``): journaled with
who made them and the layer before and after, and undone like a fee change."""

from __future__ import annotations

from .base import Message


class PolicyKeyChange(Message):
    """One key of the page's policy layer that a change set, changed or removed."""

    key: str
    """The dotted key (``bounds.max_fee_rate_ppm``, ``channels.835469x1000004x1``)."""
    old: str
    """Its value in the page's layer before, as YAML (empty: not set by the page)."""
    new: str
    """Its value after, as YAML (empty: no longer set by the page)."""


class PolicyChangeRecord(Message):
    """A journaled change of the page's policy layer (``<data dir>/policy.page.yml``)."""

    policy_change_id: int
    """The journal's id (1, 2, ...)."""
    at_s: int
    """When it was saved (Unix seconds, the journal's clock)."""
    by: str
    """Who: ``web`` for the page, or the caller's name."""
    reason: str
    """Why, in the operator's words (may be empty)."""
    old_layer: str
    """The page's layer before, as the YAML text of the file."""
    new_layer: str
    """The page's layer after, as the YAML text written to the file."""
    keys: list[PolicyKeyChange]
    """The keys that differ between the two layers, in key order."""
    undoes: int
    """The id of the policy change this one undoes; 0 when it undoes none."""
