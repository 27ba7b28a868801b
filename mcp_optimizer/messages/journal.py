"""What the journal records: modes, policy changes as a state machine, gates, crashes, cycles.

The journal (``mcp_optimizer/journal/``) stores these; ``mcp-optimizer history --json`` and
``shadow-report --json`` print them; the control socket carries them. A change moves through
the states of :class:`ChangeState` (see ``docs/journal.md`` for the diagram).
"""

from __future__ import annotations

import enum

from .base import Message, TaggedMessage
from .decision import ChangeOrigin
from .domain import ChannelPolicy, PeerPolicy
from .shadow_effect import ShadowEffect


class Mode(enum.Enum):
    """How far the service goes with what it decides."""

    SHADOW = "shadow"
    """Observe only: decisions and what would have been sent are recorded, nothing is sent."""
    DRY_RUN = "dry-run"
    """The whole write path runs (gates included) up to the node call, recorded as not executed."""
    LIVE = "live"
    """Changes that pass every gate are written to the node, read back and verified."""


class ChangeAction(enum.Enum):
    """What a change does to the channel."""

    UPDATE_POLICY = "update_policy"
    """Write a new routing policy (UpdateChannelPolicy)."""
    CLOSE_CHANNEL = "close_channel"
    """Close the channel cooperatively (CloseChannel, never forced); refused unless the policy
    enables it (``close.execute``). Its states: intent, close_pending, closed (or failed)."""


class ChangeState(enum.Enum):
    """Where a change stands. INTENT is committed to disk before the node is called."""

    INTENT = "intent"
    """About to call the node; old and new policy recorded. Left alone only by a crash."""
    APPLIED = "applied"
    """The node accepted the write; the read-back has not been recorded yet."""
    FAILED = "failed"
    """The node refused the write or was unreachable (the error is in the events)."""
    VERIFIED = "verified"
    """The policy read back from the node equals what was written."""
    MISMATCHED = "mismatched"
    """The policy read back differs from what was written (recorded in ``observed_policy``)."""
    HELD = "held"
    """Stopped by a gate that may open later (pause, circuit breaker, cooldown, caps)."""
    REFUSED = "refused"
    """Stopped by a gate the change itself breaks (bounds, step, minimum change, closing)."""
    SHADOWED = "shadowed"
    """Shadow mode: passed every gate and would have been sent; nothing was sent."""
    NOT_EXECUTED = "not_executed"
    """Dry-run mode: passed every gate, the node call was skipped."""
    EXTERNAL = "external"
    """Not made by this service: the node's policy differed from the journal's last state."""
    CLOSE_PENDING = "close_pending"
    """A close: the node accepted CloseChannel and broadcast the closing transaction (its txid
    in the event); the channel is no longer open, the close not yet confirmed."""
    CLOSED = "closed"
    """A close: the channel has left the graph (the closing transaction confirmed)."""


class Gate(enum.Enum):
    """A check every service change passes before the node is called."""

    FEE_BOUNDS = "fee_bounds"
    """The new policy lies outside the policy's bounds."""
    MAX_STEP = "max_step"
    """The change moves a fee by more than the largest step allowed."""
    MIN_CHANGE = "min_change"
    """The change is too small to be worth a gossip update."""
    COOLDOWN = "cooldown"
    """The channel changed (by us or by someone else) less than ``cooldown_s`` ago."""
    HOURLY_CAP = "hourly_cap"
    """The global number of changes in the last hour is reached."""
    DAILY_CAP = "daily_cap"
    """The global number of changes in the last day is reached."""
    CLOSE_DISABLED = "close_disabled"
    """Closing channels is not enabled by the policy (``close.execute``)."""
    CLOSE_UNSUPPORTED = "close_unsupported"
    """Journals of earlier versions: closing was enabled but could not be done."""
    CLOSE_CAP = "close_cap"
    """The most closes a day (``close.max_per_day``) are done."""
    PEER_OFFLINE = "peer_offline"
    """A cooperative close needs the peer online; the channel is inactive (never forced)."""
    STALE_DECISION = "stale_decision"
    """The node's policy is no longer the one the decision was based on."""
    CHANNEL_CLOSED = "channel_closed"
    """The channel is not among the node's open channels."""
    PAUSED = "paused"
    """The kill switch is on: nothing is written to the node."""
    CIRCUIT_BREAKER = "circuit_breaker"
    """A crash is unacknowledged: live writes wait for ``ack-crash``."""
    SAFE_MODE = "safe_mode"
    """The supervisor escalated (restart intensity exceeded): no policy writes until cleared."""


class GateEffect(enum.Enum):
    """What a closed gate does to a change."""

    HOLD = "hold"
    """The change waits: the same change may pass later."""
    REFUSE = "refuse"
    """The change itself is not acceptable."""


class GateStop(Message):
    """One gate that stopped a change, and why."""

    gate: Gate
    """Which gate."""
    effect: GateEffect
    """Held (may pass later) or refused."""
    reason: str
    """The figures that closed the gate, in a sentence."""


class ChangeEvent(Message):
    """One step of a change's life, in order."""

    state: ChangeState
    """The state entered."""
    at_s: int
    """When (Unix seconds, service clock)."""
    detail: str
    """What happened (the node's error, the reconciliation finding...)."""


class FromDecision(TaggedMessage):
    """The change was proposed by a journaled decision."""

    decision_id: int
    """The journal's id of that decision (``decisions`` of the control socket list it)."""


class WithoutDecision(TaggedMessage):
    """The change comes from no decision: a rollback asked for by the operator, or a change
    found on the node (external)."""


DecisionLink = FromDecision | WithoutDecision


class ChangeRecord(Message):
    """A policy change (or close) as the journal knows it, with its whole trail."""

    change_id: int
    """The journal's id (1, 2, ...): what ``rollback CHANGE_ID`` takes."""
    chan_id: int
    """The channel."""
    channel_point: str
    """Its funding outpoint."""
    action: ChangeAction
    """Policy update or close."""
    origin: ChangeOrigin
    """This service, a rollback, or someone else."""
    mode: Mode
    """The service's mode when the change was recorded."""
    state: ChangeState
    """The latest state."""
    old_policy: ChannelPolicy
    """The policy on the node before the change."""
    new_policy: ChannelPolicy
    """The policy the change writes (for EXTERNAL: what was found on the node)."""
    observed_policy: PeerPolicy
    """The policy last read back from the node for this change, or why none was read."""
    decision: DecisionLink
    """The decision it comes from, or that it comes from none."""
    rolls_back: list[int]
    """For a rollback: the change ids it undoes (no id for other origins)."""
    reasons: list[str]
    """Why the change was made or proposed."""
    stopped_by: list[GateStop]
    """The gates that held or refused it (empty when it passed them all)."""
    requested_at_s: int
    """When it was recorded (Unix seconds)."""
    updated_at_s: int
    """When its state last changed (Unix seconds)."""
    events: list[ChangeEvent]
    """Every state it went through, oldest first."""


class CrashKind(enum.Enum):
    """What opened the circuit breaker."""

    ACTOR_RESTART = "actor_restart"
    """An actor crashed and was restarted by the supervisor."""
    ACTUATION_ERROR = "actuation_error"
    """A write to the node failed."""
    VERIFICATION_MISMATCH = "verification_mismatch"
    """A policy read back after a write differed from what was written."""
    INTERRUPTED_WRITE = "interrupted_write"
    """A write was left without outcome (process killed); resolved at start by reconciliation."""


class AcknowledgedAt(TaggedMessage):
    """An operator acknowledged the crash (``ack-crash``)."""

    at_s: int
    """When (Unix seconds)."""


class NotAcknowledged(TaggedMessage):
    """Nobody has acknowledged the crash yet: live writes are held until ``ack-crash``."""


Acknowledgement = AcknowledgedAt | NotAcknowledged


class CrashRecord(Message):
    """A crash that holds live writes until an operator acknowledges it."""

    crash_id: int
    """The journal's id."""
    kind: CrashKind
    """What happened."""
    source: str
    """Where: an actor's name, or ``change N``."""
    detail: str
    """The error, in words."""
    at_s: int
    """When (Unix seconds)."""
    acknowledgement: Acknowledgement
    """When an operator acknowledged it, or that nobody has yet (it holds live writes)."""


class ModeChange(Message):
    """A journaled change of mode."""

    at_s: int
    """When (Unix seconds)."""
    old_mode: Mode
    """The mode before (SHADOW for the first change of a fresh install)."""
    new_mode: Mode
    """The mode after."""
    by: str
    """Who asked (``cli``, ``control-socket``...)."""
    reason: str
    """Why, as given by the operator (may be empty)."""


class PauseChange(Message):
    """A journaled pause or resume given over the API (control socket, CLI, web page)."""

    at_s: int
    """When (Unix seconds)."""
    paused: bool
    """True: paused; false: resumed."""
    by: str
    """Who asked (``cli``, ``web``...)."""
    reason: str
    """Why, as given by the operator (may be empty)."""


class CycleOutcome(enum.Enum):
    """How a finished evaluation cycle ended."""

    OK = "ok"
    """Every stage answered; every decision went through the write path."""
    PARTIAL = "partial"
    """The cycle ran to its end, but a provider or the scorer could not answer: some peer facts
    stayed unknown (the detail names what was missing); decisions used what was known."""
    FAILED = "failed"
    """A stage failed and the cycle stopped there; the detail names the stage and the cause."""
    ABANDONED = "abandoned"
    """The service was stopping: what was left was not done (never a write half-done)."""


class CycleEnded(TaggedMessage):
    """The cycle finished and its outcome is journaled."""

    at_s: int
    """When it finished (Unix seconds)."""
    outcome: CycleOutcome
    """ok, partial, failed or abandoned."""


class CycleNotEnded(TaggedMessage):
    """No outcome is journaled: the cycle is running, or the process stopped during it."""


CycleEnd = CycleEnded | CycleNotEnded


class CycleRecord(Message):
    """One evaluation cycle."""

    cycle_id: int
    """The journal's id."""
    started_at_s: int
    """When it started (Unix seconds)."""
    end: CycleEnd
    """When and how it ended, or that it has no journaled end."""
    mode: Mode
    """The mode it ran in."""
    trigger: str
    """What started it (``schedule``, ``evaluate-now``, a node event...)."""
    detail: str
    """Counts and notes, or the error, in words."""


class PauseState(Message):
    """The kill switch: paused when any source says so."""

    paused: bool
    """Whether writes to the node are stopped."""
    sources: list[str]
    """Which sources pause: ``api``, ``env MCP_PAUSED``, ``file <data dir>/PAUSED``."""
    reason: str
    """Who set the API pause and why (``by cli: upgrading LND``); may be empty (no API
    pause)."""


class FeeRateGapKnown(TaggedMessage):
    """Both policies are known: the service's last would-be fee rate minus the node's."""

    gap_ppm: int
    """``last_would_policy.fee_rate_ppm - actual_policy.fee_rate_ppm`` (0: they agree)."""


class FeeRateGapUnknown(TaggedMessage):
    """The gap cannot be computed."""

    reason: str
    """Which side is missing (no would-be policy in the period, or the node's is unknown)."""


FeeRateGap = FeeRateGapKnown | FeeRateGapUnknown


class ShadowChannelReport(Message):
    """One channel in ``shadow-report``: what the service would have done, what really changed."""

    chan_id: int
    """The channel."""
    would_change_count: int
    """Changes it would have sent over the period (SHADOWED or NOT_EXECUTED)."""
    stopped_count: int
    """Changes it proposed that a gate held or refused over the period."""
    first_would_policy: PeerPolicy
    """The first policy it would have written, or why there is none."""
    last_would_policy: PeerPolicy
    """The last policy it would have written, or why there is none."""
    external_change_count: int
    """Changes made on the node by someone else over the period."""
    actual_policy: PeerPolicy
    """The policy the journal last saw on the node, or why it is unknown."""
    fee_rate_gap: FeeRateGap
    """``last_would`` minus ``actual`` fee rate, or why it cannot be computed."""


class ShadowReport(Message):
    """``shadow-report``: per channel, the service's would-be moves next to the node's real ones."""

    since_s: int
    """Start of the period (Unix seconds)."""
    until_s: int
    """End of the period (Unix seconds)."""
    channels: list[ShadowChannelReport]
    """One row per channel that had a decision or an external change in the period."""
    effect: ShadowEffect
    """What the would-be fees would have earned on the same forwards (at constant volume), or
    why no estimate could be made."""
