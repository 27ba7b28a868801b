"""The actuator actor: a shell over the journaled write path (``safety.actuator.Actuator``).

The write path itself (journal intent, gates, node call, read-back) belongs to the Actuator;
this actor only turns messages into its calls. The decisions of an ``ActuateRequest`` are
handled in order, those that write nothing to the node journaled together (``safety.batch``);
the reply stops after the first live write, and the cycle sends the rest again. In safe mode
(``WritesHeld``) it journals each decision and its change HELD by the ``safe_mode`` gate,
without reading or writing the node.
"""

from __future__ import annotations

from typing import Any

from mcp_optimizer.journal.price_history import fee_spans
from mcp_optimizer.journal.states import as_if_states
from mcp_optimizer.messages import ChangeState, LastChangeAt, NeverChanged
from mcp_optimizer.messages.actors import (
    ActuateRequest,
    ActuationOutcome,
    ActuationReport,
    ChannelLastChange,
    FeeSpansReply,
    FeeSpansRequest,
    LastChangesReply,
    LastChangesRequest,
    ObservedReply,
    ObserveRequest,
    StageError,
    WritesAllowed,
    WritesHeld,
)
from mcp_optimizer.safety.actuator import Actuator, NodeUnavailable
from mcp_optimizer.supervisor.supervisor import ActorContext

from .base import SupervisedActor


class ActuatorActor(SupervisedActor):
    def __init__(self, ctx: ActorContext, actuator: Actuator) -> None:
        super().__init__(ctx)
        self.actuator = actuator

    def handle(self, message: Any) -> Any:
        match message:
            case ObserveRequest(channels=channels):
                try:
                    return ObservedReply(external=self.actuator.observe(channels))
                except NodeUnavailable as exc:
                    return self._error(message, str(exc))
            case LastChangesRequest(chan_ids=chan_ids):
                journal = self.actuator.journal
                counted = as_if_states(journal.mode()) | {ChangeState.EXTERNAL}
                entries = []
                for cid in chan_ids:
                    change_id, at_s = journal.last_change_at(cid, counted)
                    last = LastChangeAt(at_s=at_s) if change_id else NeverChanged()
                    entries.append(ChannelLastChange(chan_id=cid, last_change=last))
                return LastChangesReply(entries=entries)
            case FeeSpansRequest(start_s=start_s, end_s=end_s, current=current):
                journal = self.actuator.journal
                return FeeSpansReply(spans=fee_spans(journal, start_s, end_s, current))
            case ActuateRequest() as m:
                return ActuationReport(outcomes=self._actuate(m))
        raise TypeError(f"actuator cannot handle {type(message).__name__}")

    def _actuate(self, m: ActuateRequest) -> list[ActuationOutcome]:
        """The decisions through the write path (``Actuator.act_on``): one outcome per
        decision handled, in order; after a live write the rest are left for the next
        request (the cycle checks between writes whether the service is stopping)."""
        points = {p.chan_id: p.channel_point for p in m.channel_points}
        match m.writes:
            case WritesHeld(reason=reason):
                # safe mode: the changes are journaled HELD by the safe_mode gate
                acted = self.actuator.act_on(m.decisions, points, m.cycle_id, held_reason=reason)
            case WritesAllowed():
                acted = self.actuator.act_on(m.decisions, points, m.cycle_id)
        outcomes = []
        for d, rec in acted:
            if isinstance(rec, NodeUnavailable):
                outcome, detail = "failed", str(rec)
            elif rec is None:
                outcome, detail = "no action", ""
            else:
                gates = "; ".join(s.reason for s in rec.stopped_by)
                outcome = rec.state.value
                detail = f"change {rec.change_id}" + (f": {gates}" if gates else "")
            outcomes.append(
                ActuationOutcome(chan_id=d.chan_id, kind=d.kind, outcome=outcome, detail=detail)
            )
        return outcomes

    def _error(self, message: Any, reason: str) -> StageError:
        return StageError(actor=self.ctx.name, request=type(message).__name__, reason=reason)
