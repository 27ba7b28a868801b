"""What the decision engine concludes, and the policy changes that follow from it."""

from __future__ import annotations

import enum

from .base import Message, TaggedMessage
from .domain import ChannelPolicy


class DecisionKind(enum.Enum):
    """The four outcomes of an evaluation."""

    NO_ACTION = "NO_ACTION"
    """Leave the channel as it is."""
    INCREASE_FEES = "INCREASE_FEES"
    """Raise our fee on the channel."""
    LOWER_FEES = "LOWER_FEES"
    """Lower our fee on the channel."""
    CLOSE_CHANNEL = "CLOSE_CHANNEL"
    """Close the channel (a recommendation unless closing is enabled)."""


class ScoredFactor(TaggedMessage):
    """A factor computed from known data: it takes part in the score."""

    name: str
    """Factor name: centrality, volume, uptime, channel_age, forward_activity."""
    value: float
    """The factor's value, between 0 and 1."""
    weight: float
    """The weight the policy gives it (counted in the score's denominator)."""
    contribution: float
    """``value * weight`` (counted in the score's numerator)."""
    detail: str
    """How the value was obtained, in words."""


class UnknownFactor(TaggedMessage):
    """An enabled factor whose input is unknown: it takes no part in the score, and its weight
    is not counted (the score is the weighted mean of the factors that could be scored)."""

    name: str
    """Factor name."""
    weight: float
    """The weight the policy gives it, left out of the score."""
    detail: str
    """Why its input is unknown."""


class DisabledFactor(TaggedMessage):
    """A factor switched off by the policy: it takes no part in the score."""

    name: str
    """Factor name."""
    detail: str
    """In words (``disabled by the policy``)."""


FactorScore = ScoredFactor | UnknownFactor | DisabledFactor
"""One heuristic's part in a channel's score: scored, unknown input, or disabled."""


class Decision(Message):
    """The outcome of ``evaluate_channel`` for one channel."""

    chan_id: int
    """The channel decided about."""
    kind: DecisionKind
    """What to do."""
    current_policy: ChannelPolicy
    """Our policy on the channel when evaluated."""
    proposed_policy: ChannelPolicy
    """The policy to apply (equal to the current one unless fees change)."""
    reasons: list[str]
    """Why, in sentences an operator can read; never empty."""
    factors: list[FactorScore]
    """Each factor, in the policy's order: scored (value, weight, contribution), unknown
    input, or disabled."""
    score: float
    """Weighted score between 0 and 1: contributions over the weights of scored factors."""
    executable: bool
    """False when the kind may only be recommended (CLOSE_CHANNEL unless enabled)."""
    evaluated_at_s: int
    """The snapshot time the decision is based on."""
    override: str = ""
    """The per-channel override (``channels:`` of the policy) that decided or bounded this
    decision, in words (``excluded from automation``, ``fee pinned at 500 ppm``...); may be
    empty (no override applied). Its default lets decisions journaled by earlier versions,
    which have no such field, be read."""


class ChangeOrigin(enum.Enum):
    """Who made a policy change."""

    SERVICE = "service"
    """This service, from a decision."""
    ROLLBACK = "rollback"
    """A rollback asked for by the operator."""
    EXTERNAL = "external"
    """Someone else (the operator by hand, another tool), detected on the node."""
    OPERATOR = "operator"
    """The operator through this service (a close asked for with `mcp-optimizer close`)."""


class PolicyChange(Message):
    """A change of our policy on one channel: what it was, what it becomes, and why."""

    chan_id: int
    """The channel."""
    channel_point: str
    """Its funding outpoint (LND's UpdateChannelPolicy addresses channels by it)."""
    old_policy: ChannelPolicy
    """The policy before the change."""
    new_policy: ChannelPolicy
    """The policy after the change."""
    origin: ChangeOrigin
    """This service, a rollback, or someone else."""
    reasons: list[str]
    """Why the change is made."""
    requested_at_s: int
    """When the change was requested (Unix seconds)."""
