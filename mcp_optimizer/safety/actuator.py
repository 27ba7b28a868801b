"""The journaled write path: the only code that writes a policy to the node.

Every write, whatever asked for it (a decision, a rollback), goes through :class:`Actuator`:

1. read the node's policy for the channel; if it differs from the journal's last knowledge,
   record it as an EXTERNAL change first (nobody's change goes untracked);
2. run the gates (pure, :mod:`mcp_optimizer.safety.gates`); a stop is journaled as HELD or
   REFUSED with the gates that closed;
3. in shadow mode record SHADOWED, in dry-run NOT_EXECUTED, and stop there;
4. live: commit INTENT (old and new policy) to disk, call the node, record APPLIED or FAILED,
   read the policy back, record VERIFIED or MISMATCHED.

A failed write or a mismatch opens the circuit breaker (a crash record) until ``ack-crash``.
Only one process writes at a time: the actuator holds an exclusive lock on
``<data dir>/writer.lock`` for its lifetime.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from mcp_optimizer.journal import planning
from mcp_optimizer.journal.integrity import DamagedRecord
from mcp_optimizer.journal.planning import RollbackPlan, RollbackRefused
from mcp_optimizer.journal.states import (
    EFFECTIVE_STATES,
    describe,
    same_policy,
)
from mcp_optimizer.journal.store import Journal, JournalError, KnownPolicy
from mcp_optimizer.messages.decision import ChangeOrigin, Decision, DecisionKind, PolicyChange
from mcp_optimizer.messages.domain import Channel, ChannelPolicy
from mcp_optimizer.messages.journal import (
    ChangeAction,
    ChangeRecord,
    ChangeState,
    CrashKind,
    CrashRecord,
    GateStop,
    Mode,
    ModeChange,
    PauseState,
)
from mcp_optimizer.policies.config import Policy
from mcp_optimizer.providers.lnd.errors import LndError
from mcp_optimizer.scid import scid_text

from . import batch, closing, gates
from .settings import PauseSources, limits_from_env, paused_from_env

WRITER_LOCK = "writer.lock"
_READ = object()
"""``known`` not given: the journal is asked."""


class NodePort(Protocol):
    """What the actuator needs from the node (``LndClient`` provides it). A node may also
    offer ``get_policies(chan_ids) -> {chan_id: ChannelPolicy}`` (many channels in one read;
    a channel left out is read with ``get_policy``)."""

    def list_channels(self) -> list[Channel]: ...

    def get_policy(self, chan_id: int) -> ChannelPolicy: ...

    def update_policy(self, channel_point: str, policy: ChannelPolicy) -> object: ...


class WriterBusy(JournalError):
    """Another process (the running service) holds the writer lock of this data directory."""


def _refuse_damaged(method):  # noqa: ANN001, ANN202 - a rollback method
    """A rollback that meets a damaged journal record (its checksum fails) is refused with
    the journal's sentence; nothing is written."""

    def wrapper(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        try:
            return method(self, *args, **kwargs)
        except DamagedRecord as exc:
            raise RollbackRefused(f"{exc}; nothing was written") from None

    wrapper.__doc__ = method.__doc__
    wrapper.__name__ = method.__name__
    return wrapper


class NodeUnavailable(Exception):
    """The node could not be read, so nothing was written; the message says why."""


class _WriterLock:
    def __init__(self, data_dir: Path, wait_s: float):
        self.path = data_dir / WRITER_LOCK
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() < deadline:
                    time.sleep(0.005)
                    continue
                os.close(self._fd)
                raise WriterBusy(
                    f"another process (the running service?) holds {self.path}; send this "
                    "through its control socket instead"
                ) from None
        os.ftruncate(self._fd, 0)
        os.write(self._fd, f"{os.getpid()}\n".encode())

    def release(self) -> None:
        if self._fd >= 0:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = -1


class Actuator:
    """The write path, the kill switch, the circuit breaker and reconciliation, over one
    journal and one node. Thread-safe: writes are serialised."""

    def __init__(
        self,
        journal: Journal,
        node: NodePort,
        policy: Policy,
        data_dir: str | Path,
        environ: Mapping[str, str] | None = None,
        *,
        lock_wait_s: float = 0.0,
    ):
        """Take the data directory's writer lock (waiting up to ``lock_wait_s``), read the
        safety settings from ``environ`` (default ``os.environ``)."""
        self.journal = journal
        self.node = node
        self.policy = policy
        self.data_dir = Path(data_dir)
        self.limits = limits_from_env(environ)
        self.node_channels = 0
        """Open channels at the last observation: the gossip caps grow with them."""
        self.pause_sources = PauseSources(self.data_dir, paused_from_env(environ))
        self._lock = threading.RLock()
        self._writer = _WriterLock(self.data_dir, lock_wait_s)

    def close(self) -> None:
        self._writer.release()

    def __enter__(self) -> Actuator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- mode, kill switch, circuit breaker ------------------------------------------------

    def mode(self) -> Mode:
        return self.journal.mode()

    def set_mode(self, mode: Mode, by: str, reason: str = "") -> ModeChange:
        return self.journal.set_mode(mode, by, reason)

    def pause_state(self) -> PauseState:
        last = self.journal.last_pause()
        if last is None or not last.paused:
            return self.pause_sources.state(False)
        why = f"by {last.by}" + (f": {last.reason}" if last.reason else "")
        return self.pause_sources.state(True, why)

    def pause(self, by: str, reason: str = "") -> PauseState:
        self.journal.set_paused(True, by, reason)
        return self.pause_state()

    def resume(self, by: str, reason: str = "") -> PauseState:
        """Clear the API pause; the file flag and MCP_PAUSED keep pausing (status names them)."""
        self.journal.set_paused(False, by, reason)
        return self.pause_state()

    def open_crashes(self) -> list[CrashRecord]:
        return self.journal.crashes(unacknowledged_only=True)

    def record_crash(self, kind: CrashKind, source: str, detail: str) -> int:
        """For the supervisor: an actor restart opens the breaker like a failed write does."""
        return self.journal.record_crash(kind, source, detail)

    def ack_crashes(self) -> list[CrashRecord]:
        return self.journal.acknowledge_crashes()

    # ---- reading the node ------------------------------------------------------------------

    def _read(self, chan_id: int) -> ChannelPolicy | None:
        """The node's policy for the channel; None when the channel is not open (any more)."""
        try:
            return self.node.get_policy(chan_id)
        except Exception as first:  # noqa: BLE001 - any failure: is the channel still there?
            try:
                open_ids = {c.chan_id for c in self.node.list_channels()}
            except Exception as exc:  # noqa: BLE001
                raise NodeUnavailable(f"cannot read the node: {exc}") from exc
            if chan_id in open_ids:
                raise NodeUnavailable(
                    f"cannot read the policy of channel {scid_text(chan_id)}: {first}"
                ) from first
            return None

    def read_policies(self, chan_ids: list[int]) -> dict[int, ChannelPolicy | None]:
        """The node's policy of each channel now (None: not open any more), in one call when
        the node offers ``get_policies``; a channel it did not give is read on its own."""
        many = getattr(self.node, "get_policies", None)
        found: Mapping[int, ChannelPolicy] = {}
        if many is not None and chan_ids:
            try:
                found = many(chan_ids)
            except Exception:  # noqa: BLE001 - each channel is then read on its own
                found = {}
        return {c: found[c] if c in found else self._read(c) for c in chan_ids}

    def _observe_one(
        self, chan_id: int, point: str, actual: ChannelPolicy,
        known: KnownPolicy | None | object = _READ,
    ) -> ChangeRecord | None:
        """Compare the node with the journal; record an EXTERNAL change or a first baseline.
        ``known``: the journal's knowledge of the channel when the caller read it already
        (a batch reads every channel's at once)."""
        if known is _READ:
            known = self.journal.known_policy(chan_id)
        if known is None:
            self.journal.set_baseline(chan_id, point, actual)
            return None
        if not known.open:
            self.journal.set_open(chan_id, True)
        if same_policy(known.policy, actual):
            return None
        change_id = self.journal.record_change(
            chan_id=chan_id,
            channel_point=point,
            origin=ChangeOrigin.EXTERNAL,
            mode=self.journal.mode(),
            state=ChangeState.EXTERNAL,
            old_policy=known.policy,
            new_policy=actual,
            reasons=["the node's policy differs from the journal's last state"],
            detail=f"found {describe(actual)}; the journal had {describe(known.policy)}",
            observed=actual,
            known_after=True,
        )
        return self.journal.change(change_id)

    def observe(self, channels: list[Channel]) -> list[ChangeRecord]:
        """At each cycle: record external changes and closed channels. Returns the EXTERNAL
        records made."""
        found = []
        with self._lock:
            self.node_channels = len(channels)
            self.reconcile()
            known = {k.chan_id: k for k in self.journal.known_policies()}
            now: dict[int, ChannelPolicy | None] = {}
            for ch in channels:
                k = known.get(ch.chan_id)
                now[ch.chan_id] = ch.our_policy
                if k is not None and not same_policy(k.policy, ch.our_policy):
                    # the list was read before this lock was taken: a write since (a rollback
                    # over the control socket) would show as someone else's change. Only the
                    # node's policy now can say whether the difference is external.
                    now[ch.chan_id] = self._read(ch.chan_id)
            # nothing is read from the node below: one transaction for the whole list
            with self.journal.batch():
                for ch in channels:
                    actual = now[ch.chan_id]
                    if actual is None:
                        self.journal.set_open(ch.chan_id, False)
                        continue
                    k = known.get(ch.chan_id)
                    if k is not None and k.open and same_policy(k.policy, actual):
                        continue  # what _observe_one would find: nothing to record
                    rec = self._observe_one(ch.chan_id, ch.channel_point, actual)
                    if rec is not None:
                        found.append(rec)
                seen = {ch.chan_id for ch in channels}
                for k in known.values():
                    if k.open and k.chan_id not in seen:
                        self.journal.set_open(k.chan_id, False)
        return found

    # ---- reconciliation --------------------------------------------------------------------

    def reconcile(self) -> list[ChangeRecord]:
        """Resolve every write left without outcome (a crash between INTENT and VERIFIED) by
        reading the node; each opens the circuit breaker as an interrupted write."""
        resolved = []
        with self._lock:
            for rec in self.journal.pending_changes():
                if rec.action is ChangeAction.CLOSE_CHANNEL:  # a close: its own moves
                    try:
                        done = closing.reconcile_one(self, rec)
                    except LndError as exc:
                        raise NodeUnavailable(f"cannot reconcile a close: {exc}") from None
                    if done is not None:
                        resolved.append(done)
                    continue
                actual = self._read(rec.chan_id)
                crash = (
                    CrashKind.INTERRUPTED_WRITE,
                    f"write on channel {scid_text(rec.chan_id)} was interrupted in state "
                    f"{rec.state.value}",
                )
                if actual is None:
                    self.journal.transition(
                        rec.change_id,
                        ChangeState.FAILED if rec.state is ChangeState.INTENT
                        else ChangeState.MISMATCHED,
                        "reconciled after an interruption: the channel is no longer open, its "
                        "policy cannot be read",
                        crash=crash,
                    )
                    self.journal.set_open(rec.chan_id, False)
                else:
                    state, detail = planning.resolve_pending(rec, actual)
                    self.journal.transition(
                        rec.change_id, state, detail, observed=actual, known_after=True,
                        crash=crash,
                    )
                resolved.append(self.journal.change(rec.change_id))
        return resolved

    # ---- the write path --------------------------------------------------------------------

    def apply_decision(
        self, decision: Decision, channel_point: str, cycle_id: int = 0
    ) -> ChangeRecord | None:
        """Journal the decision, then act on it: NO_ACTION does nothing (None), fee changes go
        through :meth:`apply_change`, CLOSE_CHANNEL through its own (refused) path."""
        decision_id = self.journal.record_decision(decision, cycle_id)
        if decision.kind is DecisionKind.NO_ACTION:
            return None
        if decision.kind is DecisionKind.CLOSE_CHANNEL:
            if self.policy.close.execute:
                return closing.close(self, decision, channel_point, decision_id)
            return self._close(decision, channel_point, decision_id)
        change = PolicyChange(
            chan_id=decision.chan_id,
            channel_point=channel_point,
            old_policy=decision.current_policy,
            new_policy=decision.proposed_policy,
            origin=ChangeOrigin.SERVICE,
            reasons=list(decision.reasons),
            requested_at_s=self.journal.now_s(),
        )
        return self.apply_change(change, decision_id=decision_id)

    def hold_decision(
        self, decision: Decision, channel_point: str, reason: str, cycle_id: int = 0
    ) -> ChangeRecord | None:
        """Safe mode: journal the decision and, unless it is NO_ACTION, its change as HELD by
        ``safe_mode`` (``reason``: why the supervisor escalated). Nothing is read or written on
        the node."""
        decision_id = self.journal.record_decision(decision, cycle_id)
        if decision.kind is DecisionKind.NO_ACTION:
            return None
        action = (
            ChangeAction.CLOSE_CHANNEL if decision.kind is DecisionKind.CLOSE_CHANNEL
            else ChangeAction.UPDATE_POLICY
        )
        return self._decision_stopped(
            decision, channel_point, decision_id, ChangeState.HELD, decision.proposed_policy,
            action, gates.check_safe_mode(reason),
        )

    def act_on(
        self, decisions: list[Decision], points: Mapping[int, str], cycle_id: int = 0,
        held_reason: str | None = None,
    ) -> list[tuple[Decision, ChangeRecord | None | NodeUnavailable]]:
        """A cycle's decisions, in order: what writes nothing to the node is journaled in one
        transaction; returns after the first live write (see :mod:`.batch`). With
        ``held_reason`` (safe mode) every change is HELD, nothing is read or written."""
        if held_reason is not None:
            return batch.hold_all(self, decisions, points, held_reason, cycle_id)
        return batch.act_on(self, decisions, points, cycle_id)

    def _close(self, decision: Decision, point: str, decision_id: int) -> ChangeRecord:
        return self._decision_stopped(
            decision, point, decision_id, ChangeState.REFUSED, decision.current_policy,
            ChangeAction.CLOSE_CHANNEL, gates.check_close(self.policy),
        )

    def _decision_stopped(
        self, decision: Decision, point: str, decision_id: int, state: ChangeState,
        new_policy: ChannelPolicy, action: ChangeAction, stops: list[GateStop],
    ) -> ChangeRecord:
        """Journal a service decision's change that ``stops`` kept from the node."""
        change_id = self.journal.record_change(
            chan_id=decision.chan_id,
            channel_point=point,
            origin=ChangeOrigin.SERVICE,
            mode=self.journal.mode(),
            state=state,
            old_policy=decision.current_policy,
            new_policy=new_policy,
            reasons=list(decision.reasons),
            detail="; ".join(s.reason for s in stops),
            action=action,
            decision_id=decision_id,
            stopped_by=stops,
        )
        return self.journal.change(change_id)

    def apply_change(self, change: PolicyChange, decision_id: int = 0) -> ChangeRecord:
        """A change proposed by the service: every gate, then the mode decides how far it goes."""
        if change.origin is not ChangeOrigin.SERVICE:
            raise ValueError("apply_change takes service changes; rollbacks use rollback()")
        with self._lock:
            self.reconcile()
            mode = self.journal.mode()
            actual = self._read(change.chan_id)
            if actual is None:
                return self._stopped(
                    change, mode, change.old_policy, decision_id, (),
                    gates.check_channel_open(change.chan_id, False),
                )
            stops = self._gate(change, actual, batch.CycleGates.read(self))
            if stops:
                return self._stopped(change, mode, actual, decision_id, (), stops)
            return self._write(change, mode, actual, decision_id, ())

    def _gate(
        self, change: PolicyChange, actual: ChannelPolicy, shared: batch.CycleGates,
        known: KnownPolicy | None | object = _READ,
    ) -> list[GateStop]:
        """Every gate of a service change, ``actual`` being the node's policy just read;
        records an EXTERNAL change first when the node differs from the journal."""
        external = self._observe_one(change.chan_id, change.channel_point, actual, known)
        counted = shared.counted | {ChangeState.EXTERNAL}
        last_id, last_at = self.journal.last_change_at(change.chan_id, counted)
        last_external = external is not None or (
            last_id != 0 and self.journal.change_origin(last_id) is ChangeOrigin.EXTERNAL
        )
        timing = gates.Timing(
            now_s=shared.now_s,
            last_change_at_s=last_at,
            last_change_id=last_id,
            last_change_external=last_external,
            changes_last_hour=shared.changes_last_hour,
            changes_last_day=shared.changes_last_day,
        )
        return gates.check_service_change(
            old=actual,
            new=change.new_policy,
            decided_on=change.old_policy,
            policy=self.policy,
            limits=self.limits.sized(
                self.node_channels, self.policy.pricing.gossip_budget_per_channel_day
            ),
            timing=timing,
            mode=shared.mode,
            pause=shared.pause,
            open_crashes=shared.open_crashes,
        )

    def _stopped(
        self,
        change: PolicyChange,
        mode: Mode,
        old: ChannelPolicy,
        decision_id: int,
        rolls_back: tuple[int, ...],
        stops: list[GateStop],
    ) -> ChangeRecord:
        refused = gates.outcome_is_refusal(stops)
        change_id = self.journal.record_change(
            chan_id=change.chan_id,
            channel_point=change.channel_point,
            origin=change.origin,
            mode=mode,
            state=ChangeState.REFUSED if refused else ChangeState.HELD,
            old_policy=old,
            new_policy=change.new_policy,
            reasons=change.reasons,
            detail="; ".join(f"{s.gate.value}: {s.reason}" for s in stops),
            decision_id=decision_id,
            rolls_back=rolls_back,
            stopped_by=stops,
        )
        return self.journal.change(change_id)

    def _write(
        self,
        change: PolicyChange,
        mode: Mode,
        old: ChannelPolicy,
        decision_id: int,
        rolls_back: tuple[int, ...],
    ) -> ChangeRecord:
        common = dict(
            chan_id=change.chan_id,
            channel_point=change.channel_point,
            origin=change.origin,
            mode=mode,
            old_policy=old,
            new_policy=change.new_policy,
            reasons=change.reasons,
            decision_id=decision_id,
            rolls_back=rolls_back,
        )
        if mode is Mode.SHADOW and change.origin is ChangeOrigin.SERVICE:
            cid = self.journal.record_change(
                state=ChangeState.SHADOWED, detail="shadow mode: would have been sent", **common
            )
            return self.journal.change(cid)
        if mode is Mode.DRY_RUN and change.origin is ChangeOrigin.SERVICE:
            cid = self.journal.record_change(
                state=ChangeState.NOT_EXECUTED,
                detail="dry-run mode: every gate passed, the node call was skipped",
                **common,
            )
            return self.journal.change(cid)
        # Whatever path led here (a decision, a rollback), never write to the node a policy that
        # does not pass the bounds now: a stored policy may be damaged, or the bounds changed.
        stops = gates.check_bounds(change.new_policy, self.policy)
        if stops:
            return self._stopped(change, mode, old, decision_id, rolls_back, stops)
        cid = self.journal.record_change(
            state=ChangeState.INTENT,
            detail=f"about to write {describe(change.new_policy)}",
            **common,
        )
        try:
            self.node.update_policy(change.channel_point, change.new_policy)
        except Exception as exc:  # noqa: BLE001 - every failure is journaled, then reported
            return self._after_failed_call(cid, change, old, f"the node call failed: {exc}")
        self.journal.transition(cid, ChangeState.APPLIED, "the node accepted the write")
        try:
            back = self.node.get_policy(change.chan_id)
        except Exception as exc:  # noqa: BLE001
            self.journal.record_crash(
                CrashKind.ACTUATION_ERROR,
                f"change {cid}",
                f"read-back failed: {exc}; reconciliation will resolve it",
            )
            return self.journal.change(cid)
        if same_policy(back, change.new_policy):
            self.journal.transition(
                cid, ChangeState.VERIFIED, "read back: the node shows the policy written",
                observed=back, known_after=True,
            )
        else:
            detail = f"read back {describe(back)}, wrote {describe(change.new_policy)}"
            self.journal.transition(
                cid, ChangeState.MISMATCHED, detail, observed=back, known_after=True,
                crash=(CrashKind.VERIFICATION_MISMATCH, detail),
            )
        return self.journal.change(cid)

    def _after_failed_call(
        self, cid: int, change: PolicyChange, old: ChannelPolicy, error: str
    ) -> ChangeRecord:
        """The node call raised: a timeout may still have written. Read the node to know."""
        try:
            now = self.node.get_policy(change.chan_id)
        except Exception as exc:  # noqa: BLE001 - outcome unknown: reconciliation resolves it
            self.journal.record_crash(
                CrashKind.ACTUATION_ERROR,
                f"change {cid}",
                f"{error}; the policy could not be read back ({exc}); the change stays "
                "pending until reconciliation",
            )
            return self.journal.change(cid)
        crash = (CrashKind.ACTUATION_ERROR, error)
        if same_policy(now, change.new_policy):
            state, detail = ChangeState.VERIFIED, f"{error}; yet the node shows the policy written"
        elif same_policy(now, old):
            state, detail = ChangeState.FAILED, f"{error}; the node still shows the old policy"
        else:
            state, detail = ChangeState.MISMATCHED, f"{error}; the node shows {describe(now)}"
        self.journal.transition(cid, state, detail, observed=now, known_after=True, crash=crash)
        return self.journal.change(cid)

    # ---- rollback --------------------------------------------------------------------------

    def _reconcile_before_rollback(self) -> None:
        try:
            self.reconcile()
        except NodeUnavailable as exc:
            raise RollbackRefused(f"{exc}; nothing was written") from None

    @_refuse_damaged
    def rollback(self, change_id: int) -> ChangeRecord:
        """Undo one change (it must be its channel's latest effective change)."""
        with self._lock:
            self._reconcile_before_rollback()
            try:
                target = self.journal.change(change_id)
            except KeyError:
                raise RollbackRefused(f"the journal has no change {change_id}") from None
            history = self.journal.changes(chan_id=target.chan_id, states_in=EFFECTIVE_STATES)
            plan = planning.plan_rollback(
                target, planning.latest_effective(history).get(target.chan_id)
            )
            return self._execute_rollback(plan)

    @_refuse_damaged
    def rollback_last(self) -> ChangeRecord:
        """Undo the latest effective change of any origin (right after a rollback: undo it)."""
        with self._lock:
            self._reconcile_before_rollback()
            last = self.journal.latest_change(EFFECTIVE_STATES)
            if last is None:
                raise RollbackRefused("the journal has no applied change to roll back")
            return self.rollback(last.change_id)

    @_refuse_damaged
    def rollback_since(
        self, since_s: int
    ) -> tuple[list[ChangeRecord], list[str], list[str]]:
        """Undo every applied change since ``since_s``, one write per channel. Returns the
        rollbacks made (held ones included), the refusals, and the channels skipped because
        the rollback would write the policy they already have, one sentence per channel."""
        with self._lock:
            self._reconcile_before_rollback()
            recent = self.journal.changes(since_s=since_s, states_in=EFFECTIVE_STATES)
            plans = planning.plan_rollback_since(since_s, recent)
            if not plans:
                raise RollbackRefused("no applied change since that time; nothing to roll back")
            plans, skipped = planning.split_noops(plans)
            done, refused = [], []
            for plan in plans:
                try:
                    done.append(self._execute_rollback(plan))
                except RollbackRefused as exc:
                    refused.append(str(exc))
            return done, refused, skipped

    def _execute_rollback(self, plan: RollbackPlan) -> ChangeRecord:
        ids = ", ".join(str(i) for i in plan.change_ids)
        try:
            actual = self._read(plan.chan_id)
        except NodeUnavailable as exc:
            raise RollbackRefused(f"{exc}; change {ids} was not rolled back") from None
        if actual is None:
            self.journal.set_open(plan.chan_id, False)
            raise RollbackRefused(
                f"channel {scid_text(plan.chan_id)} is closed; change {ids} cannot be rolled back"
            )
        external = self._observe_one(plan.chan_id, plan.channel_point, actual)
        if external is not None or not same_policy(actual, plan.from_policy):
            newer = f" (recorded as external change {external.change_id})" if external else ""
            raise RollbackRefused(
                f"channel {scid_text(plan.chan_id)} was changed on the node since change "
                f"{ids}{newer}; "
                "roll back the newer change first"
            )
        change = PolicyChange(
            chan_id=plan.chan_id,
            channel_point=plan.channel_point,
            old_policy=actual,
            new_policy=plan.to_policy,
            origin=ChangeOrigin.ROLLBACK,
            reasons=[f"rollback of change {ids} asked for by the operator"],
            requested_at_s=self.journal.now_s(),
        )
        stops = gates.check_rollback(self.pause_state())
        if stops:
            return self._stopped(change, self.journal.mode(), actual, 0, plan.change_ids, stops)
        return self._write(change, self.journal.mode(), actual, 0, plan.change_ids)
