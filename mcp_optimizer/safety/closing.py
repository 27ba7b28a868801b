"""The close path: a cooperative close of a channel, journaled first, never forced, never undone.

A CLOSE_CHANNEL decision goes here when the policy enables closing (``close.execute``). The
gates: the channel must be open and its peer online (a cooperative close needs it), at most
``close.max_per_day`` closes a day, the kill switch and the circuit breaker hold it, and the
mode decides how far it goes (shadow: SHADOWED, dry-run: NOT_EXECUTED, live: the node is
called). In live mode the change is journaled INTENT (durable) before LND's CloseChannel, with
the fee rate of the node's own estimate for ``close.conf_target`` blocks; it becomes
CLOSE_PENDING when LND has broadcast the closing transaction (its txid in the event), and
CLOSED once the channel has left the graph; a node that refuses makes it FAILED. After a crash
between INTENT and the reply, reconciliation tells from the node what happened.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mcp_optimizer.messages import ChangeOrigin, CrashKind, Decision, Mode
from mcp_optimizer.messages.journal import ChangeAction, ChangeRecord, ChangeState
from mcp_optimizer.providers.lnd import closing as lnd_closing
from mcp_optimizer.providers.lnd.errors import LndError
from mcp_optimizer.scid import scid_text

from . import gates

if TYPE_CHECKING:
    from .actuator import Actuator

DAY_S = 86400


def close(act: Actuator, decision: Decision, point: str, decision_id: int) -> ChangeRecord:
    """Carry out a CLOSE_CHANNEL decision through the gates and the mode (see the module)."""
    journal = act.journal
    with act._lock:
        act.reconcile()
        mode = journal.mode()
        try:
            open_now = {c.chan_id: c for c in act.node.list_channels()}
        except LndError as exc:
            return _record(act, decision, point, decision_id, ChangeState.FAILED, [],
                           f"the node could not be read: {exc}")
        chan = open_now.get(decision.chan_id)
        if chan is None:
            stops = gates.check_channel_open(decision.chan_id, False)
            return _stopped(act, decision, point, decision_id, stops)
        stops = gates.check_close(
            act.policy, journal.count_closes(journal.now_s() - DAY_S), chan.active
        )
        stops += gates.check_switches(mode, act.pause_state(), len(act.open_crashes()))
        if stops:
            return _stopped(act, decision, point, decision_id, stops)
        if mode is Mode.SHADOW:
            return _record(act, decision, point, decision_id, ChangeState.SHADOWED, [],
                           "shadow mode: the channel would be closed cooperatively")
        if mode is Mode.DRY_RUN:
            return _record(act, decision, point, decision_id, ChangeState.NOT_EXECUTED, [],
                           "dry-run: the close passed every gate; CloseChannel not sent")
        try:
            rate = lnd_closing.fee_rate_sat_per_vbyte(act.node, act.policy.close.conf_target)
        except LndError as exc:
            return _record(act, decision, point, decision_id, ChangeState.FAILED, [],
                           f"no fee estimate from the node, nothing sent: {exc}")
        change_id = journal.record_change(
            chan_id=decision.chan_id, channel_point=point, origin=ChangeOrigin.SERVICE,
            mode=mode, state=ChangeState.INTENT, old_policy=decision.current_policy,
            new_policy=decision.current_policy, reasons=list(decision.reasons),
            detail=f"about to close cooperatively at {rate} sat/vB (the node's estimate for "
            f"{act.policy.close.conf_target} blocks)",
            action=ChangeAction.CLOSE_CHANNEL, decision_id=decision_id,
        )
        try:
            txid = lnd_closing.close_channel(act.node, point, rate)
        except LndError as exc:
            journal.transition(change_id, ChangeState.FAILED, f"the node refused the close: {exc}")
            return journal.change(change_id)
        journal.transition(
            change_id, ChangeState.CLOSE_PENDING,
            f"closing transaction {txid} broadcast at {rate} sat/vB; the channel is closing",
        )
        journal.set_open(decision.chan_id, False)
        return journal.change(change_id)


def reconcile_one(act: Actuator, rec: ChangeRecord) -> ChangeRecord | None:
    """Resolve a close without a final state from what the node shows; None: still pending."""
    journal = act.journal
    if rec.state is ChangeState.INTENT:
        still_open = rec.chan_id in {c.chan_id for c in act.node.list_channels()}
        crash = (CrashKind.INTERRUPTED_WRITE,
                 f"close of channel {scid_text(rec.chan_id)} was interrupted")
        if still_open:
            journal.transition(rec.change_id, ChangeState.FAILED,
                               "reconciled after an interruption: the channel is still open, "
                               "the close never took effect", crash=crash)
        else:
            journal.transition(rec.change_id, ChangeState.CLOSE_PENDING,
                               "reconciled after an interruption: the channel left the open "
                               "channels, the close was sent", crash=crash)
            journal.set_open(rec.chan_id, False)
        return journal.change(rec.change_id)
    if rec.state is ChangeState.CLOSE_PENDING and not lnd_closing.edge_exists(act.node,
                                                                             rec.chan_id):
        journal.transition(rec.change_id, ChangeState.CLOSED,
                           "the channel left the graph: the closing transaction confirmed")
        return journal.change(rec.change_id)
    return None


def _stopped(act, decision, point, decision_id, stops) -> ChangeRecord:
    state = ChangeState.REFUSED if gates.outcome_is_refusal(stops) else ChangeState.HELD
    return _record(act, decision, point, decision_id, state, stops,
                   "; ".join(f"{s.gate.value}: {s.reason}" for s in stops))


def _record(act, decision, point, decision_id, state, stops, detail) -> ChangeRecord:
    change_id = act.journal.record_change(
        chan_id=decision.chan_id, channel_point=point, origin=ChangeOrigin.SERVICE,
        mode=act.journal.mode(), state=state, old_policy=decision.current_policy,
        new_policy=decision.current_policy, reasons=list(decision.reasons), detail=detail,
        action=ChangeAction.CLOSE_CHANNEL, decision_id=decision_id, stopped_by=stops,
    )
    return act.journal.change(change_id)
