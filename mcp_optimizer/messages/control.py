"""The control socket's protocol: typed requests, typed replies, and the frame envelope.

A frame is a 4-byte big-endian length followed by that many bytes of JSON (msgspec): a
:class:`ControlRequestFrame` from the client, a :class:`ControlReplyFrame` back. Each request
gets exactly one reply; a request the server cannot read gets a :class:`ControlError`.
"""

from __future__ import annotations

from .base import Message, TaggedMessage
from .decision import Decision
from .journal import ChangeRecord, CrashRecord, CycleOutcome, Mode, PauseState, ShadowReport

CONTROL_PROTOCOL_VERSION = 1
"""Version of this protocol; a frame with another version is answered ``unsupported_version``."""

MAX_FRAME_BYTES = 1 << 20
"""Largest frame accepted by default (1 MiB); a longer one is refused and the connection closed."""


# ---------------------------------------------------------------------------------- requests
class StatusRequest(TaggedMessage):
    """Ask for the service's health: actors, restarts, mode, cycles, pause and safe mode."""


class PauseRequest(TaggedMessage):
    """Stop writing to the node (kill switch) until resumed; scheduled cycles are skipped."""

    reason: str
    """Why, in the operator's words (shown in status)."""


class ResumeRequest(TaggedMessage):
    """Lift a pause set over the socket."""

    reason: str
    """Why, in the operator's words (may be empty; journaled with the resume)."""


class SetModeRequest(TaggedMessage):
    """Switch between shadow, dry-run and live (journaled)."""

    mode: Mode
    """The mode to switch to."""
    reason: str
    """Why, in the operator's words (may be empty; journaled and logged with the change)."""


class EvaluateNowRequest(TaggedMessage):
    """Run a full cycle now (after the running one, if any; never two at once)."""

    wait: bool
    """True: reply when the cycle has finished, with its summary; false: reply once queued."""


class ListDecisionsRequest(TaggedMessage):
    """The most recent journaled decisions, newest first."""

    limit: int
    """How many decisions at most."""


class RollbackChange(TaggedMessage):
    """Undo one change."""

    change_id: int
    """The journal's change id."""


class RollbackLast(TaggedMessage):
    """Undo the latest effective change (verified, mismatched or external) of any origin:
    made by this service, by a rollback, or found on the node.

    Right after a rollback, this undoes that rollback.
    """


class RollbackSince(TaggedMessage):
    """Undo every effective change of any origin since a time: one write per channel, channels
    in id order, each restoring the policy the channel had before the first of those changes.
    """

    since_at_s: int
    """Unix seconds: changes recorded at or after this time are undone."""


RollbackTarget = RollbackChange | RollbackLast | RollbackSince


class RollbackRequest(TaggedMessage):
    """Restore the previous policy of one or more changes through the journaled path."""

    target: RollbackTarget
    """Which change(s)."""


class AckCrashRequest(TaggedMessage):
    """Acknowledge every unacknowledged crash: releases held actions, leaves safe mode."""


class ShadowReportRequest(TaggedMessage):
    """The shadow report over the last ``period_s`` seconds of the service's clock, with the
    effect of the would-be fees estimated from the node's forwarding history (the service
    holds the node connection). Added in protocol version 1 after the first release: an older
    service answers ``bad_frame``."""

    period_s: int
    """Length of the period, ending at the service's now; positive."""


class CloseChannelRequest(TaggedMessage):
    """The operator closes a channel (cooperatively; after a confirmation in the CLI or the
    page). Journaled like the service's closes and stopped by the same kill switch, circuit
    breaker and mode; allowed whatever ``close.execute`` says (that switch is for the
    service's own close decisions)."""

    chan_id: int
    """The channel to close."""
    reason: str
    """Why, in the operator's words (may be empty)."""


ControlRequest = (
    StatusRequest
    | PauseRequest
    | ResumeRequest
    | SetModeRequest
    | EvaluateNowRequest
    | ListDecisionsRequest
    | RollbackRequest
    | AckCrashRequest
    | ShadowReportRequest
    | CloseChannelRequest
)


class ControlRequestFrame(Message):
    """What a client sends: one request with the protocol version it speaks."""

    protocol_version: int
    """Must equal ``CONTROL_PROTOCOL_VERSION``."""
    request: ControlRequest
    """The request."""


# ------------------------------------------------------------------------------ status parts
class CrashSeen(TaggedMessage):
    """The last crash of an actor."""

    cause: str
    """Exception class and message."""
    at_s: int
    """When (Unix seconds)."""


class NoCrash(TaggedMessage):
    """The actor never crashed since the service started."""


LastCrash = CrashSeen | NoCrash


class ActorHealth(Message):
    """One supervised actor."""

    name: str
    """Its name in the supervisor's registry."""
    state: str
    """running, restarting, stopped (by its restart type) or failed (stopped for good)."""
    generation: int
    """1 at first start, +1 per restart."""
    crashes: int
    """Crashes since the service started."""
    restarts: int
    """Restarts since the service started."""
    last_crash: LastCrash
    """The last crash, or none."""


class CycleDone(TaggedMessage):
    """The last finished cycle."""

    cycle_id: int
    """Sequence number since the service started (1, 2...)."""
    trigger: str
    """What started it: schedule, evaluate-now, or the node event(s) that triggered it."""
    started_at_s: int
    """Unix seconds."""
    finished_at_s: int
    """Unix seconds."""
    outcome: CycleOutcome
    """ok, partial (a provider or the scorer could not answer: some peer facts stayed
    unknown), failed (a stage failed) or abandoned (the service was stopping)."""
    detail: str
    """What happened, in words (failed stage and cause, counts)."""
    channels: int
    """Channels evaluated."""
    decisions: int
    """Decisions made."""
    actions: int
    """Decisions that were not NO_ACTION."""
    actions_by_outcome: dict[str, int]
    """The actions counted by what became of each (verified, shadowed, not_executed, held,
    refused, failed, mismatched...): what was written and what was stopped."""


class NoCycleYet(TaggedMessage):
    """No cycle has finished since the service started."""


LastCycle = CycleDone | NoCycleYet


class NextCycleAt(TaggedMessage):
    """When the next cycle is due."""

    at_s: int
    """Unix seconds."""
    trigger: str
    """schedule, or the pending node events."""


class NoCycleDue(TaggedMessage):
    """No cycle will start by itself (paused, or the service is stopping)."""

    reason: str
    """Why."""


NextCycle = NextCycleAt | NoCycleDue


class SafeModeOn(TaggedMessage):
    """Safe mode: a part failed past its restart intensity; no policy writes until ack-crash."""

    reasons: list[str]
    """Each escalation, in words."""


class SafeModeOff(TaggedMessage):
    """Normal operation."""


SafeModeState = SafeModeOn | SafeModeOff


# ------------------------------------------------------------------------------------ replies
class StatusReply(TaggedMessage):
    """The service's health."""

    node: str
    """Which node the service drives (LND at host:port, or the embedded simulator)."""
    started_at_s: int
    """When the service started (Unix seconds)."""
    mode: Mode
    """shadow, dry-run or live."""
    pause: PauseState
    """The kill switch and which sources hold it (API, environment, file flag)."""
    safe_mode: SafeModeState
    """Whether writes are stopped by an escalation, and why."""
    actors: list[ActorHealth]
    """Every supervised actor, in start order."""
    cycle_running: bool
    """Whether a cycle is running now."""
    last_cycle: LastCycle
    """The last finished cycle."""
    next_cycle: NextCycle
    """When the next one is due."""
    open_crashes: list[CrashRecord]
    """Crashes not acknowledged yet: they hold live actions until ``ack-crash``."""


class Done(TaggedMessage):
    """The request was carried out."""

    detail: str
    """What was done, in words."""


class CycleQueued(TaggedMessage):
    """An evaluate-now request was accepted; the cycle runs as soon as none is running."""

    detail: str
    """In words."""


class CycleFinished(TaggedMessage):
    """An evaluate-now request with ``wait``: the cycle's summary."""

    cycle: CycleDone
    """The cycle."""


class DecisionEntry(Message):
    """One journaled decision."""

    decision_id: int
    """The journal's id."""
    mode: Mode
    """The mode the service was in when it decided."""
    decision: Decision
    """The decision, with its reasons and factors."""


class DecisionsReply(TaggedMessage):
    """Recent decisions, newest first."""

    decisions: list[DecisionEntry]
    """At most the requested number."""


class RollbackReply(TaggedMessage):
    """What a rollback did."""

    changes: list[ChangeRecord]
    """The rollback changes journaled (applied, held or failed: see each state)."""
    refused: list[str]
    """Channels whose change could not be rolled back, one sentence each."""
    skipped: list[str]
    """Channels skipped because the rollback would write the policy they already have (the
    changes since the time undid themselves), one sentence each; nothing was written there."""


class AckCrashReply(TaggedMessage):
    """What was acknowledged."""

    acknowledged: list[CrashRecord]
    """The crashes acknowledged (the circuit breaker is closed again)."""
    safe_mode_cleared: list[str]
    """The escalations that had put the service in safe mode, now cleared."""
    revived: list[str]
    """Actors restarted because they had been stopped for good."""


class ShadowReportReply(TaggedMessage):
    """The shadow report, built by the service from its journal and its node."""

    report: ShadowReport
    """The report (its ``effect`` says how, or why not, the effect was estimated)."""


class StartingReply(TaggedMessage):
    """``status`` while the service is still being built (node connection, journal, actors):
    the control socket answers from the first second, before anything can be asked of it."""

    stage: str
    """What the start is doing now, in words ("opening the journal")."""
    started_at_s: int
    """When ``run`` started (Unix seconds)."""


class ControlError(TaggedMessage):
    """The request was not carried out."""

    code: str
    """bad_frame, frame_too_large, unsupported_version, busy, refused, internal, starting
    (the service is still being built: nothing was done)."""
    message: str
    """One sentence for the operator."""


class CloseReply(TaggedMessage):
    """What became of an operator's close."""

    change: ChangeRecord
    """The close journaled: close_pending (the closing transaction broadcast), or held,
    refused, shadowed, not_executed or failed with the reason."""


ControlReply = (
    StatusReply
    | StartingReply
    | Done
    | CycleQueued
    | CycleFinished
    | DecisionsReply
    | RollbackReply
    | AckCrashReply
    | ShadowReportReply
    | CloseReply
    | ControlError
)


class ControlReplyFrame(Message):
    """What the server sends back: one reply."""

    protocol_version: int
    """The server's ``CONTROL_PROTOCOL_VERSION``."""
    reply: ControlReply
    """The reply."""
