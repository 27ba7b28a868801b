"""The shadow report's effect estimate: what the would-be fees would have earned.

At constant volume: the forwards the node really made out through a channel over the report
period are charged again at the fee policy the service would have written (each shadowed or
dry-run change from the time it was recorded). How demand would have answered another fee is
not modelled: this is a first-order figure, never a forecast. Built by the pure
:mod:`mcp_optimizer.journal.effect`; carried in :class:`~.journal.ShadowReport` and over the
control socket (``ShadowReportRequest``).
"""

from __future__ import annotations

from .base import Message, TaggedMessage
from .domain import ChannelPolicy

CONSTANT_VOLUME_BASIS = (
    "at constant volume (first order: how demand would have answered the fee is not modelled)"
)
"""The label every estimate carries."""


class AsOnNode(TaggedMessage):
    """No would-be change yet in this part of the period: the service would have left the
    node's own policy, so the would-be fees are the fees the node really earned."""


WouldBePolicy = ChannelPolicy | AsOnNode


class WouldBePeriod(Message):
    """A stretch of the report period during which one would-be policy holds on a channel."""

    chan_id: int
    """The channel."""
    start_s: int
    """Start (Unix seconds, included)."""
    end_s: int
    """End (Unix seconds, excluded)."""
    policy: WouldBePolicy
    """The policy the service would have had on the node then, or that it would have left the
    node's own."""


class PeriodEffect(Message):
    """The forwards out through a channel during one would-be period, charged both ways."""

    period: WouldBePeriod
    """The period and its would-be policy."""
    forward_count: int
    """Forwards out through the channel within the period."""
    amt_out_msat: int
    """Their total amount sent out through the channel."""
    actual_fee_msat: int
    """The fees the node really earned on them (LND's ``fee_msat``)."""
    would_be_fee_msat: int
    """What the would-be policy charges for them: per forward ``base_fee_msat + amt_out_msat *
    fee_rate_ppm // 1_000_000`` (rounded down per forward, as LND does); the actual fees where
    the policy is the node's own."""


class ChannelEffect(TaggedMessage):
    """One channel's forwards over the report period, charged at the would-be policy."""

    chan_id: int
    """The channel."""
    forward_count: int
    """Forwards out through the channel over the period (at least one)."""
    amt_out_msat: int
    """Their total amount sent out through the channel."""
    actual_fee_msat: int
    """The fees the node really earned on them."""
    would_be_fee_msat: int
    """What the would-be policies would have earned on the same forwards."""
    difference_msat: int
    """``would_be_fee_msat - actual_fee_msat``: positive when the would-be fees earn more."""
    periods: list[PeriodEffect]
    """Period by period as the would-be policy changed, oldest first."""


class ChannelNoForwards(TaggedMessage):
    """The channel forwarded nothing out over the period: no effect is estimated."""

    chan_id: int
    """The channel."""
    reason: str
    """In words (``no forwards: no effect estimated``)."""


ChannelEffectEstimate = ChannelEffect | ChannelNoForwards


class EffectEstimated(TaggedMessage):
    """The effect of the would-be fees on the report's channels, at constant volume."""

    basis: str
    """What the figures assume (``CONSTANT_VOLUME_BASIS``)."""
    source: str
    """Where the forwarding history was read (the running service's node, or the node named
    by ``MCP_LND_*``)."""
    channels: list[ChannelEffectEstimate]
    """One entry per channel of the report, in the report's order."""
    forward_count: int
    """Forwards counted over every channel of the report."""
    actual_fee_msat: int
    """Fees really earned on them."""
    would_be_fee_msat: int
    """What the would-be policies would have earned on them."""
    difference_msat: int
    """``would_be_fee_msat - actual_fee_msat`` over every channel of the report."""


class EffectNotEstimated(TaggedMessage):
    """No estimate: the forwarding history could not be read."""

    reason: str
    """Why (no node to read from, or the node's error)."""


ShadowEffect = EffectEstimated | EffectNotEstimated
