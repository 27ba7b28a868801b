"""What ``/api/v1/`` takes and gives: msgspec types, from which the OpenAPI document is
generated (``openapi.py``), so the document and the answers agree by construction."""

from __future__ import annotations

from typing import Annotated

import msgspec

from mcp_optimizer.messages.control import (
    ActorHealth,
    CycleFinished,
    CycleQueued,
    LastCycle,
    NextCycle,
    SafeModeState,
)
from mcp_optimizer.messages.decision import Decision
from mcp_optimizer.messages.domain import ChannelPolicy, ForwardingStats, PeerPolicy
from mcp_optimizer.messages.journal import (
    ChangeRecord,
    CrashRecord,
    CycleRecord,
    Mode,
    ModeChange,
    PauseChange,
    PauseState,
)
from mcp_optimizer.messages.policy import PolicyChangeRecord

Text = Annotated[str, msgspec.Meta(max_length=500)]


class _Out(msgspec.Struct, frozen=True, kw_only=True):
    pass


class _In(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


# ------------------------------------------------------------------------------------ reads
class RevenueWindow(_Out):
    """Forwards and fees over one window ending now, from the node's forwarding history."""

    window: str
    """24h, 7d or 30d."""
    window_s: int
    forwards: int
    fees_msat: int
    amount_out_msat: int


class DayCount(_Out):
    day_s: int
    """Start of the UTC day (Unix seconds)."""
    count: int


class Overview(_Out):
    node: str
    now_s: int
    """The service's clock (the node's)."""
    started_at_s: int
    mode: Mode
    mode_since_s: int
    """When the current mode was set (0: never changed since install)."""
    pause: PauseState
    safe_mode: SafeModeState
    open_crashes: list[CrashRecord]
    actors: list[ActorHealth]
    cycle_running: bool
    last_cycle: LastCycle
    next_cycle: NextCycle
    revenue: list[RevenueWindow]
    revenue_note: str
    """How revenue was read, or why it is unknown."""
    fee_updates_per_day: list[DayCount]
    """The service's changes written to the node (verified, mismatched, applied) per day,
    over the last 30 days, oldest first."""
    channels: int
    """Channels in the latest cycle's snapshots."""


class ChannelRow(_Out):
    chan_id: int
    scid: str
    channel_point: str
    peer_alias: str
    peer_pubkey: str
    capacity_sat: int
    local_balance_sat: int
    remote_balance_sat: int
    active: bool
    our_policy: ChannelPolicy
    peer_policy: PeerPolicy
    recent: ForwardingStats
    history: ForwardingStats
    decision: Decision | None
    """The latest journaled decision, with reasons and factors (None before any)."""
    override: str
    """The channel's per-channel override in words ('' when none)."""


class ChannelList(_Out):
    taken_at_s: int
    """When the snapshots were taken (0: no cycle yet)."""
    total: int
    channels: list[ChannelRow]


class BalanceSample(_Out):
    at_s: int
    local_balance_sat: int
    capacity_sat: int
    fee_rate_ppm: int


class DayForwards(_Out):
    day_s: int
    forwards_out: int
    fees_msat: int
    amount_out_msat: int
    forwards_in: int


class DecisionRow(_Out):
    decision_id: int
    mode: Mode
    decision: Decision


class FeeLevel(_Out):
    """A span at one fee level, with what it earned (the snapshot's price history)."""

    start_s: int
    end_s: int
    fee_rate_ppm: int
    forwards_out: int
    fees_earned_msat: int


class ChannelDetail(_Out):
    channel: ChannelRow
    fee_levels: list[FeeLevel]
    """The fee levels over the history window, oldest first (empty when unknown)."""
    changes: list[ChangeRecord]
    """Every change on the channel, newest first."""
    decisions: list[DecisionRow]
    """Its latest decisions, newest first."""
    forwards_by_day: list[DayForwards]
    balance: list[BalanceSample]
    """Balance seen at each cycle since the service started."""


class ChangePage(_Out):
    total: int
    offset: int
    limit: int
    changes: list[ChangeRecord]


class StageTime(_Out):
    stage: str
    seconds: float


class CycleStages(_Out):
    cycle_id: int
    stages: list[StageTime]
    """Each stage's duration, in pipeline order (the actuator's: all its writes)."""


class CyclePage(_Out):
    cycles: list[CycleRecord]
    stages: list[CycleStages]
    """Stage durations of the cycles run since the service started (not journaled)."""


class PolicyValue(_Out):
    key: str
    value: str
    """As YAML."""
    source: str
    """default, file, page or environment."""
    env_var: str
    """The variable that sets it ('' unless the source is the environment)."""


class PolicyView(_Out):
    values: list[PolicyValue]
    page_layer: str
    """The page's layer, as the text of its file."""
    file: str
    """The operator's policy file ('' when none)."""
    changes: list[PolicyChangeRecord]
    """The latest policy changes, newest first."""


class NextDecision(_Out):
    chan_id: int
    scid: str
    decision: Decision


class NextCycleView(_Out):
    taken_at_s: int
    decisions: list[NextDecision]
    """What the current policy decides on the latest snapshots, changes first."""
    changes: int
    """How many would change a fee."""


class PreviewRow(_Out):
    chan_id: int
    scid: str
    now: Decision
    edited: Decision


class PolicyPreview(_Out):
    taken_at_s: int
    changed: int
    """Channels whose decision differs."""
    rows: list[PreviewRow]
    """Channels whose decision differs, first; then the others (at most 200 in all)."""


class CsrfToken(_Out):
    token: str
    """Send it in the ``X-CSRF-Token`` header of every POST."""


class McpConnection(_Out):
    """What an assistant's MCP configuration needs: ``/mcp``'s URL and its bearer token."""

    url: str
    """``/mcp`` at the address this page was reached by (the request's scheme and Host)."""
    token: str
    """The MCP server's bearer token (secret: sent only on this request, never cached)."""
    token_source: str
    """Where the token comes from: ``MCP_MCP_TOKEN`` or the data dir's ``mcp-token`` file."""
    actions: bool
    """Whether the acting tools are offered (``MCP_MCP_ACTIONS=true``)."""
    config: str
    """A ready ``mcpServers`` JSON entry for an assistant's configuration, token included."""


class ApiError(_Out):
    error: str
    """One line naming what was wrong."""
    field: str = ""
    """The policy key at fault, when one is."""


# ------------------------------------------------------------------------------------ acts
class PauseBody(_In):
    reason: Text = ""


class EmptyBody(_In):
    pass


class CloseBody(_In):
    chan_id: int
    confirm_scid: str
    """The channel's short id typed back by the operator: nothing is done otherwise."""
    reason: str = ""


class CloseDone(_Out):
    change: ChangeRecord
    """The close journaled (close_pending, or held, refused, shadowed... with the reason)."""


class ModeBody(_In):
    mode: Mode
    confirm: bool = False
    """Must be true to go live."""


class _Target(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True,
              tag_field="target"):
    pass


class RollbackOne(_Target, tag="change"):
    """Undo one change."""

    change_id: Annotated[int, msgspec.Meta(ge=1, le=2**62)]


class RollbackLastOne(_Target, tag="last"):
    """Undo the latest effective change."""


class RollbackSinceTime(_Target, tag="since"):
    """Undo every effective change since a time."""

    since_s: Annotated[int, msgspec.Meta(ge=0, le=2**40)]
    """Unix seconds."""


RollbackBody = RollbackOne | RollbackLastOne | RollbackSinceTime


class PolicyEdit(_In):
    set: dict[Annotated[str, msgspec.Meta(max_length=200)], Text | int | float | bool | dict] = {}
    """Keys to set in the page's layer (dotted key -> value; text is read as YAML)."""
    unset: Annotated[list[Annotated[str, msgspec.Meta(max_length=200)]],
                     msgspec.Meta(max_length=500)] = []
    """Keys to remove from the page's layer."""
    reason: Text = ""


class UndoBody(_In):
    policy_change_id: Annotated[int, msgspec.Meta(ge=1, le=2**62)]
    reason: Text = ""


class PauseDone(_Out):
    detail: str
    record: PauseChange
    state: PauseState


class ModeDone(_Out):
    detail: str
    record: ModeChange


class EvaluateDone(_Out):
    detail: str
    reply: CycleQueued | CycleFinished


class RollbackDone(_Out):
    changes: list[ChangeRecord]
    refused: list[str]
    skipped: list[str]


class AckDone(_Out):
    acknowledged: list[CrashRecord]
    safe_mode_cleared: list[str]
    revived: list[str]


class PolicySaved(_Out):
    record: PolicyChangeRecord
