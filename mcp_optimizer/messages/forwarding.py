"""Forwarding aggregates asked of the LND provider actor (``lnd``).

A big node forwards about a million times a month; the ``lnd`` actor keeps those forwards in
its forwarding log as packed columns and answers with per-channel aggregates, so no actor
message ever carries the events themselves.
"""

from __future__ import annotations

from .base import TaggedMessage
from .domain import ForwardingStats


class ReadForwardingStatsRequest(TaggedMessage):
    """Ask the LND provider for each channel's forwarding aggregates over windows that end at
    ``end_s`` (forwards from ForwardingHistory, failures from the HTLC event stream)."""

    end_s: int
    """Where both windows end (Unix seconds, excluded): the cycle's "now"."""
    recent_window_s: int
    """Length of the short window ``[end_s - recent_window_s, end_s)``; positive."""
    history_window_s: int
    """Length of the long window ``[end_s - history_window_s, end_s)``; positive. The
    provider keeps the forwards of the longest window asked and forgets older ones."""
    chan_ids: list[int]
    """The channels to aggregate for; a forward through any other channel is not counted."""


class ForwardingStatsRead(TaggedMessage):
    """Per-channel forwarding aggregates: one entry per requested channel and window."""

    stats: list[ForwardingStats]
    """The recent window's entries, then the history window's (once when both are equal),
    channel by channel in the order asked; a channel without forwards has zeros."""
    forwards_counted: int
    """How many forwards fell within the longest window (all channels, ours or not)."""
