"""A cycle's decisions through the write path, in as few journal transactions as is safe.

A cycle decides about every channel (2,000 on a big node); most decisions write nothing to the
node (NO_ACTION, shadow and dry-run records, changes held or refused by a gate). Those are
journaled together in one transaction (one fsync) instead of one each, and what the gates need
that is the same for every decision is read once per call (:class:`CycleGates`): the mode, the
pause switches, the open crashes, the service's changes in the last hour and day (counted on
in memory as the call records more), and our policy on every channel acted on, read from the
node in one call (``get_policies``) after the decisions were taken.

A live write is never batched: the transaction holding the decisions before it is committed
first, then :meth:`Actuator.apply_change` runs the one-write path unchanged (INTENT committed
before the node is called, read back and VERIFIED after), and :func:`act_on` returns. The
caller sends the decisions left in a new call: a stopping service is checked between writes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mcp_optimizer.journal.states import as_if_states
from mcp_optimizer.messages.decision import ChangeOrigin, Decision, DecisionKind, PolicyChange
from mcp_optimizer.messages.journal import ChangeRecord, ChangeState, Mode, PauseState

from . import closing, gates

if TYPE_CHECKING:
    from .actuator import Actuator, NodeUnavailable

Acted = "ChangeRecord | None | NodeUnavailable"
"""What became of one decision: its change, None for NO_ACTION, or why the node could not be
read (nothing was written; the decision is journaled)."""


@dataclass
class CycleGates:
    """What every gate check of one call shares, read from the journal once."""

    mode: Mode
    pause: PauseState
    open_crashes: int
    now_s: int
    counted: frozenset[ChangeState]
    """States the caps and the cooldown count in this mode (``as_if_states``)."""
    changes_last_hour: int
    changes_last_day: int

    @classmethod
    def read(cls, actuator: Actuator) -> CycleGates:
        journal = actuator.journal
        mode = journal.mode()
        now = journal.now_s()
        counted = as_if_states(mode)
        return cls(
            mode=mode,
            pause=actuator.pause_state(),
            open_crashes=len(actuator.open_crashes()),
            now_s=now,
            counted=counted,
            changes_last_hour=journal.count_service_changes(now - gates.HOUR_S + 1, counted),
            changes_last_day=journal.count_service_changes(now - gates.DAY_S + 1, counted),
        )

    def recorded(self, rec: ChangeRecord) -> None:
        """A service change was just recorded: the caps count it when its state counts."""
        if rec.origin is ChangeOrigin.SERVICE and rec.state in self.counted:
            self.changes_last_hour += 1
            self.changes_last_day += 1


def _change(decision: Decision, point: str, now_s: int) -> PolicyChange:
    return PolicyChange(
        chan_id=decision.chan_id,
        channel_point=point,
        old_policy=decision.current_policy,
        new_policy=decision.proposed_policy,
        origin=ChangeOrigin.SERVICE,
        reasons=list(decision.reasons),
        requested_at_s=now_s,
    )


def _acts(decision: Decision) -> bool:
    return decision.kind not in (DecisionKind.NO_ACTION, DecisionKind.CLOSE_CHANNEL)


def hold_all(
    actuator: Actuator, decisions: Sequence[Decision], points: Mapping[int, str], reason: str,
    cycle_id: int,
) -> list[tuple[Decision, Acted]]:
    """Safe mode: every decision and its change HELD by ``safe_mode``, one transaction."""
    with actuator._lock, actuator.journal.batch():
        return [
            (d, actuator.hold_decision(d, points[d.chan_id], reason, cycle_id)) for d in decisions
        ]


def act_on(
    actuator: Actuator, decisions: Sequence[Decision], points: Mapping[int, str], cycle_id: int
) -> list[tuple[Decision, Acted]]:
    """Journal and act on ``decisions`` in order. Returns what became of each one handled:
    all of them, or those up to and including the first live write (the caller sends the rest
    again, after checking whether the service is stopping)."""
    from .actuator import NodeUnavailable

    journal = actuator.journal
    out: list[tuple[Decision, Acted]] = []
    with actuator._lock:
        actuator.reconcile()
        shared = CycleGates.read(actuator)
        acting = [d.chan_id for d in decisions if _acts(d)]
        unreadable: NodeUnavailable | None = None
        fresh = {}
        try:
            fresh = actuator.read_policies(acting)
        except NodeUnavailable as exc:
            unreadable = exc
        live: tuple[Decision, PolicyChange, int] | None = None
        close_item: tuple[Decision, str, int] | None = None
        known = {k.chan_id: k for k in journal.known_policies()}  # one read for all
        with journal.batch():
            for d in decisions:
                decision_id = journal.record_decision(d, cycle_id)
                if d.kind is DecisionKind.NO_ACTION:
                    out.append((d, None))
                    continue
                point = points[d.chan_id]
                if d.kind is DecisionKind.CLOSE_CHANNEL:
                    if actuator.policy.close.execute:  # reads (and may call) the node
                        close_item = (d, point, decision_id)
                        break
                    out.append((d, actuator._close(d, point, decision_id)))
                    continue
                if unreadable is not None:
                    out.append((d, unreadable))
                    continue
                change = _change(d, point, shared.now_s)
                actual = fresh[d.chan_id]
                if actual is None:
                    rec = actuator._stopped(
                        change, shared.mode, change.old_policy, decision_id, (),
                        gates.check_channel_open(change.chan_id, False),
                    )
                    out.append((d, rec))
                    continue
                stops = actuator._gate(change, actual, shared, known.get(d.chan_id))
                if stops:
                    rec = actuator._stopped(change, shared.mode, actual, decision_id, (), stops)
                elif shared.mode is Mode.LIVE:
                    live = (d, change, decision_id)
                    break
                else:  # shadow or dry-run: recorded, nothing sent
                    rec = actuator._write(change, shared.mode, actual, decision_id, ())
                shared.recorded(rec)
                out.append((d, rec))
        if close_item is not None:
            # journaled INTENT before CloseChannel, outside the batch (see safety/closing.py)
            d, point, decision_id = close_item
            try:
                out.append((d, closing.close(actuator, d, point, decision_id)))
            except NodeUnavailable as exc:
                out.append((d, exc))
        if live is not None:
            # the decisions before it are committed; the write goes its one-by-one way
            d, change, decision_id = live
            try:
                out.append((d, actuator.apply_change(change, decision_id=decision_id)))
            except NodeUnavailable as exc:
                out.append((d, exc))
    return out
