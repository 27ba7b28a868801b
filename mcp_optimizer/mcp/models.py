"""The MCP tools' inputs and outputs.

Inputs are what an assistant sends: strict (an unknown or mistyped argument is refused with its
name), every argument optional with the default the tool's description gives. Outputs are made
of the journal's and the control socket's own types (``mcp_optimizer.messages``); each is a JSON
object (MCP's structured content), described by its JSON Schema in the tool list.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from mcp_optimizer.messages import ChannelPolicy, Decision, DecisionKind, FeeEpoch
from mcp_optimizer.messages.control import CycleFinished, CycleQueued
from mcp_optimizer.messages.journal import (
    ChangeRecord,
    CycleRecord,
    Mode,
    ModeChange,
    PauseChange,
    PauseState,
)

Reason = Annotated[str, msgspec.Meta(max_length=500)]
Limit = Annotated[int, msgspec.Meta(ge=1, le=1000)]
Text = Annotated[str, msgspec.Meta(max_length=200)]


class In(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A tool's arguments."""


class Out(msgspec.Struct, frozen=True, kw_only=True):
    """A tool's result."""


# ------------------------------------------------------------------------------------ inputs
class NoArgs(In):
    pass


class ListChannelsArgs(In):
    kind: Text = ""
    """Only channels whose latest decision is of this kind (NO_ACTION, INCREASE_FEES,
    LOWER_FEES, CLOSE_CHANNEL); '' for all."""
    limit: Limit = 500
    """At most this many channels (by short channel id)."""


class ChannelArgs(In):
    channel: Text
    """The channel: its short channel id (835469x1000004x1) or LND's integer chan_id."""


class HistoryArgs(In):
    channel: Text = ""
    """Only this channel (short channel id or LND's chan_id); '' for all."""
    since: Text = ""
    """Only changes since then: Unix seconds, an ISO date/time, or an age (6h, 7d); ''."""
    limit: Limit = 50
    """At most this many, the most recent (still oldest first)."""
    state: list[Text] = []
    """Only changes in these states (intent, applied, failed, verified, mismatched, held,
    refused, shadowed, not_executed, external, close_pending, closed); [] for all."""
    origin: list[Text] = []
    """Only changes of these origins (service, rollback, external, operator); [] for all."""


class SinceArgs(In):
    since: Text = ""
    """Since then: Unix seconds, an ISO date/time, or an age (6h, 7d); '' for all."""
    limit: Limit = 20
    """At most this many, the most recent."""


class ShadowArgs(In):
    days: Annotated[int, msgspec.Meta(ge=1, le=365)] = 7
    """The period, in days, ending now."""


class ReasonArgs(In):
    reason: Reason = ""
    """Why (journaled with the act)."""


class RollbackArgs(In):
    change_id: Annotated[int, msgspec.Meta(ge=0)] = 0
    """Undo this change (its id, as history gives it)."""
    last: bool = False
    """Undo the last change the service wrote."""
    since: Text = ""
    """Undo every change since then (Unix seconds, ISO date/time, or an age such as 6h)."""


class EvaluateArgs(In):
    wait: bool = False
    """Wait for the cycle to finish and return its summary (else return once it is queued)."""


# ----------------------------------------------------------------------------------- outputs
class ChannelLine(Out):
    """A channel and its latest decision."""

    chan_id: int
    scid: str
    peer_alias: str
    """'' when the service has no snapshot of the channel yet."""
    capacity_sat: int
    """0 when the service has no snapshot of the channel yet."""
    local_balance_sat: int
    decision_id: int
    mode: Mode
    """The mode the decision was taken in."""
    kind: DecisionKind
    current_policy: ChannelPolicy
    proposed_policy: ChannelPolicy
    score: float
    reasons: list[str]


class ChannelsView(Out):
    cycle_id: int
    """The latest cycle that decided (0: none yet)."""
    total: int
    """Channels it decided on (before the filter and the limit)."""
    channels: list[ChannelLine]


class ChannelExplanation(Out):
    """Why the service decided what it did on one channel."""

    chan_id: int
    scid: str
    decision_id: int
    mode: Mode
    decision: Decision
    """Its latest decision: the reasons, each factor's value, weight and contribution."""
    fee_history: list[FeeEpoch]
    """The fee levels over the history window, oldest first, with what each earned and routed
    (from the service's latest cycle; empty before its first cycle)."""
    fee_history_note: str
    """Why the fee history is empty, or ''."""
    changes: list[ChangeRecord]
    """Its latest changes, newest first (at most 20)."""


class ChangeList(Out):
    total: int
    """Changes matching the filters (before the limit)."""
    changes: list[ChangeRecord]
    """The most recent ``limit`` of them, oldest first."""


class ModeHistory(Out):
    mode_changes: list[ModeChange]
    """Every mode change since then, oldest first."""
    pause_changes: list[PauseChange]
    """Every pause and resume since then, oldest first."""


class CycleList(Out):
    cycles: list[CycleRecord]
    """Newest first."""


class BacktestResult(Out):
    path: str
    """The file it was read from."""
    saved_at_s: int
    """When the file was written (Unix seconds)."""
    summary: dict[str, Any]
    """What ``mcp-optimizer backtest --json`` printed: per strategy its revenue, updates and
    gate stops with confidence intervals, the ratios between strategies and issue 9's
    targets."""


class PauseDone(Out):
    detail: str
    record: PauseChange
    """The journaled act (by mcp)."""
    state: PauseState
    """The kill switch now."""


class RollbackDone(Out):
    changes: list[ChangeRecord]
    """The rollback changes written (each journaled as a change of origin rollback)."""
    refused: list[str]
    skipped: list[str]


class EvaluateDone(Out):
    reply: CycleQueued | CycleFinished
