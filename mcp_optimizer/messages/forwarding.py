"""Forwarding aggregates asked of the LND provider actor (``lnd``).

A big node forwards about a million times a month; the ``lnd`` actor keeps those forwards in
its forwarding log as packed columns and answers with per-channel aggregates, so no actor
message ever carries the events themselves.
"""

from __future__ import annotations

from .base import Message, TaggedMessage
from .domain import FeeEpoch, ForwardingStats


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


class FeeSpan(Message):
    """A span during which one channel's fee stayed at one level (from the journal)."""

    chan_id: int
    """The channel."""
    start_s: int
    """When the level took effect, or the start of the window (Unix seconds)."""
    end_s: int
    """When it ended, or the end of the window (Unix seconds, excluded)."""
    fee_rate_ppm: int
    """Our outgoing proportional fee over the span."""
    base_fee_msat: int
    """Our outgoing base fee over the span."""
    inbound_fee_rate_ppm: int
    """Our inbound proportional fee over the span."""


class ReadEpochStatsRequest(TaggedMessage):
    """Ask the LND provider what each fee span earned and routed (from its forwarding log and
    the HTLC failures it saw)."""

    spans: list[FeeSpan]
    """The spans, any channels, any order; each must lie within the last history window read."""


class EpochStatsRead(TaggedMessage):
    """Each span of the request with its forwards, in the request's order."""

    epochs: list[FeeEpoch]
    """One epoch per span asked, same order."""
