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
    """Carry out the service's CLOSE_CHANNEL decision through the gates and the mode."""
    return _close(act, decision.chan_id, point, decision.current_policy,
                  list(decision.reasons), decision_id, ChangeOrigin.SERVICE)


def close_by_operator(act: Actuator, chan_id: int, reason: str, by: str) -> ChangeRecord:
    """The operator's close (confirmed in the CLI or the page): the same path, but neither
    ``close.execute`` nor ``close.max_per_day`` applies (they govern the service's own
    closes); the kill switch, the circuit breaker and the mode still do."""
    try:
        chan = {c.chan_id: c for c in act.node.list_channels()}.get(chan_id)
    except LndError as exc:
        raise NodeUnavailableError(f"the node could not be read: {exc}") from None
    if chan is None:
        raise ValueError(f"channel {scid_text(chan_id)} is not an open channel of this node")
    why = f"close asked for by the operator ({by})" + (f": {reason}" if reason else "")
    return _close(act, chan_id, chan.channel_point, chan.our_policy, [why], 0,
                  ChangeOrigin.OPERATOR)


class NodeUnavailableError(Exception):
    """The node could not be read to find the channel; nothing was journaled."""


def _close(act, chan_id, point, current, reasons, decision_id, origin) -> ChangeRecord:
    journal = act.journal
    rec = _Recorder(act, chan_id, point, current, reasons, decision_id, origin)
    with act._lock:
        act.reconcile()
        mode = journal.mode()
        try:
            open_now = {c.chan_id: c for c in act.node.list_channels()}
        except LndError as exc:
            return rec(ChangeState.FAILED, [], f"the node could not be read: {exc}")
        chan = open_now.get(chan_id)
        if chan is None:
            return rec.stopped(gates.check_channel_open(chan_id, False))
        if origin is ChangeOrigin.OPERATOR:
            stops = gates.check_peer_online(chan.active)
        else:
            stops = gates.check_close(
                act.policy, journal.count_closes(journal.now_s() - DAY_S), chan.active
            )
        stops += gates.check_switches(mode, act.pause_state(), len(act.open_crashes()))
        if stops:
            return rec.stopped(stops)
        if mode is Mode.SHADOW:
            return rec(ChangeState.SHADOWED, [],
                       "shadow mode: the channel would be closed cooperatively")
        if mode is Mode.DRY_RUN:
            return rec(ChangeState.NOT_EXECUTED, [],
                       "dry-run: the close passed every gate; CloseChannel not sent")
        conf = act.policy.close.conf_target
        try:
            rate = lnd_closing.fee_rate_sat_per_vbyte(act.node, conf)
        except LndError as exc:
            return rec(ChangeState.FAILED, [],
                       f"no fee estimate from the node, nothing sent: {exc}")
        change_id = journal.record_change(
            chan_id=chan_id, channel_point=point, origin=origin, mode=mode,
            state=ChangeState.INTENT, old_policy=current, new_policy=current, reasons=reasons,
            detail=f"about to close cooperatively at {rate} sat/vB (the node's estimate for "
            f"{conf} blocks)",
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
        journal.set_open(chan_id, False)
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


class _Recorder:
    """Journals a close that did not reach the node (stopped, shadowed, failed)."""

    def __init__(self, act, chan_id, point, current, reasons, decision_id, origin) -> None:
        self.act, self.chan_id, self.point, self.current = act, chan_id, point, current
        self.reasons, self.decision_id, self.origin = reasons, decision_id, origin

    def stopped(self, stops) -> ChangeRecord:
        state = ChangeState.REFUSED if gates.outcome_is_refusal(stops) else ChangeState.HELD
        return self(state, stops, "; ".join(f"{s.gate.value}: {s.reason}" for s in stops))

    def __call__(self, state, stops, detail) -> ChangeRecord:
        journal = self.act.journal
        change_id = journal.record_change(
            chan_id=self.chan_id, channel_point=self.point, origin=self.origin,
            mode=journal.mode(), state=state, old_policy=self.current, new_policy=self.current,
            reasons=self.reasons, detail=detail, action=ChangeAction.CLOSE_CHANNEL,
            decision_id=self.decision_id, stopped_by=stops,
        )
        return journal.change(change_id)
