"""One cycle: ingestion > preprocessing > scoring > decision > action, by asking the actors.

Runs in a worker thread (actor asks block). Every stage's reply is checked: a crash
(``ActorFailed``), an actor that cannot answer (``ActorUnavailable``) or an expected failure
(``StageError``) ends the cycle with outcome ``failed`` naming the stage and the cause, except
the scorer, whose failure leaves peer facts unknown (outcome ``partial``). The journal records
the cycle's start, its decisions and outcome. Between stages and between writes the cycle
checks ``stop``: a stopping service abandons what is left, never a write half-done.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from loguru import logger

from mcp_optimizer.journal import Journal
from mcp_optimizer.journal.compaction import CompactionSettings
from mcp_optimizer.messages import CycleOutcome, DecisionKind, NetworkStats, NetworkStatsUnknown
from mcp_optimizer.messages.actors import (
    ActuateRequest,
    ActuationOutcome,
    ActuationReport,
    ChannelPoint,
    ChannelPointPolicy,
    ChannelPriceHistory,
    DecidedReply,
    DecideRequest,
    FeeSpansReply,
    FeeSpansRequest,
    IngestRequest,
    LastChangesReply,
    LastChangesRequest,
    NodeData,
    ObservedReply,
    ObserveRequest,
    PeerNodeRecord,
    PreprocessRequest,
    ScoredReply,
    ScoreRequest,
    SnapshotsReply,
    WritePermission,
    WritesAllowed,
    WritesHeld,
)
from mcp_optimizer.messages.control import CycleDone
from mcp_optimizer.messages.forwarding import EpochStatsRead, ReadEpochStatsRequest
from mcp_optimizer.policies.config import Policy
from mcp_optimizer.supervisor import Supervisor

from .cycle_summary import action_counts, counts_text, write_problems
from .memory import release_freed_memory


class StageFailed(Exception):
    def __init__(self, stage: str, reply: Any) -> None:
        why = ""
        for attr in ("reason", "error"):
            why = getattr(reply, attr, "")
            if why:
                break
        kind = type(reply).__name__
        if kind == "ActorFailed":
            why = f"{reply.actor} crashed ({reply.error_type}: {reply.error}); it is restarted"
        super().__init__(f"{stage} failed: {why or 'unexpected reply ' + kind}")
        self.stage = stage


class Abandoned(Exception):
    pass


@dataclass
class CycleRunner:
    registry: Supervisor
    journal: Journal
    policy: Policy
    wall: Callable[[], float]
    stop: threading.Event = field(default_factory=threading.Event)
    ask_timeout_s: float = 300.0
    last_outcomes: list[ActuationOutcome] = field(default_factory=list)
    observer: Any = None
    """Told each stage's and cycle's duration and the ingestion's forwarding stats
    (``mcp_optimizer.metrics.runtime.CycleTimings``); None: nobody watches."""
    last_snapshots: list[Any] = field(default_factory=list)
    """The latest cycle's scored snapshots (the web page previews policies on them)."""
    snapshot_listeners: list[Callable[[list[Any]], None]] = field(default_factory=list)
    """Called with each cycle's scored snapshots, before deciding (errors are logged)."""
    stage_log: deque[tuple[int, dict[str, float]]] = field(
        default_factory=lambda: deque(maxlen=500))
    """``(cycle id, {stage: seconds})`` of the latest cycles (the web page's cycle list)."""
    _stages_s: dict[str, float] = field(default_factory=dict)
    compaction: CompactionSettings = field(default_factory=CompactionSettings.from_env)
    """When routine records are compacted (``MCP_JOURNAL_KEEP_DAYS``, ...)."""
    _partial: bool = False

    def _ask(self, stage: str, actor: str, message: Any, expected: type) -> Any:
        if self.stop.is_set():
            raise Abandoned(f"service stopping before {stage}")
        began = time.perf_counter()
        reply = self.registry.ask(actor, message, self.ask_timeout_s)
        took = time.perf_counter() - began
        self._stages_s[stage] = self._stages_s.get(stage, 0.0) + took
        if self.observer is not None:
            self.observer.stage_done(stage, took)
        if not isinstance(reply, expected):
            raise StageFailed(stage, reply)
        return reply

    def run(self, trigger: str) -> CycleDone:
        started = int(self.wall())
        began = time.perf_counter()
        self._stages_s = {}
        cycle_id = self.journal.begin_cycle(trigger)
        counts = {"channels": 0, "decisions": 0, "actions": 0}
        notes: list[str] = []
        self._partial = False
        self.last_outcomes = []
        outcome: CycleOutcome
        try:
            self._stages(cycle_id, counts, notes)
            outcome = CycleOutcome.PARTIAL if self._partial else CycleOutcome.OK
        except StageFailed as exc:
            outcome, notes = CycleOutcome.FAILED, [str(exc), *notes]
        except Abandoned as exc:
            outcome, notes = CycleOutcome.ABANDONED, [str(exc), *notes]
        except Exception as exc:  # noqa: BLE001 - a bug here must not kill the scheduler
            logger.exception("cycle {} failed", cycle_id)
            outcome = CycleOutcome.FAILED
            notes = [f"cycle runner error: {type(exc).__name__}: {exc}"]
        by_outcome = action_counts(self.last_outcomes)
        detail = (
            f"{counts['channels']} channels, {counts['decisions']} decisions, "
            f"{counts['actions']} actions"
        )
        if by_outcome:
            detail += f" ({counts_text(by_outcome)})"
        problem = write_problems(by_outcome)
        if problem:
            notes.append(problem)
            if outcome is CycleOutcome.OK:
                outcome = CycleOutcome.PARTIAL
        if notes:
            detail += "; " + "; ".join(notes)
        try:
            self.journal.finish_cycle(cycle_id, outcome, detail)
        except Exception:  # noqa: BLE001 - reported below and in the log, never fatal
            logger.exception("cycle {} outcome could not be journaled", cycle_id)
        try:  # routine records past the retention window become daily summaries
            done_compaction = self.journal.compact_if_due(self.compaction)
            if done_compaction is not None:
                logger.info(
                    "journal compaction {}: {} decisions and {} routine changes before {} "
                    "summarised in {} rows", done_compaction.compaction_id,
                    done_compaction.decisions_removed, done_compaction.changes_removed,
                    done_compaction.before_s, done_compaction.summary_rows,
                )
        except Exception:  # noqa: BLE001 - never fatal; the transaction left nothing half-done
            logger.exception("journal compaction failed; the journal is as it was")
        release_freed_memory()  # the cycle's objects are gone: RSS back down until the next
        done = CycleDone(
            cycle_id=cycle_id,
            trigger=trigger,
            started_at_s=started,
            finished_at_s=int(self.wall()),
            outcome=outcome,
            detail=detail,
            channels=counts["channels"],
            decisions=counts["decisions"],
            actions=counts["actions"],
            actions_by_outcome=by_outcome,
        )
        if self.observer is not None:
            self.observer.cycle_done(time.perf_counter() - began)
        log = logger.info if outcome is CycleOutcome.OK else logger.warning
        log("cycle {} ({}) {}: {}", cycle_id, trigger, outcome.value, detail)
        self.stage_log.append((cycle_id, dict(self._stages_s)))
        return done

    def _price_history(
        self, data: NodeData, history_s: int, notes: list[str]
    ) -> list[ChannelPriceHistory]:
        """Each channel's fee epochs over the history window: the levels from the journal
        (actuator), what each earned from the forwarding log (lnd). Without them the price
        learner falls back on the snapshot's windows: the cycle is ``partial``, not failed."""
        now = data.read_at_s
        current = [
            ChannelPointPolicy(
                chan_id=c.chan_id, fee_rate_ppm=c.our_policy.fee_rate_ppm,
                base_fee_msat=c.our_policy.base_fee_msat,
                inbound_fee_rate_ppm=c.our_policy.inbound_fee_rate_ppm,
                opened_at_s=now - c.age_s,
            )
            for c in data.channels
        ]
        try:
            spans: FeeSpansReply = self._ask(
                "fee history", "actuator",
                FeeSpansRequest(chan_ids=[c.chan_id for c in data.channels],
                                start_s=now - history_s, end_s=now, current=current),
                FeeSpansReply,
            )
            read: EpochStatsRead = self._ask(
                "fee history", "lnd", ReadEpochStatsRequest(spans=spans.spans), EpochStatsRead
            )
        except StageFailed as exc:
            notes.append(f"{exc}; the price learner uses the forwarding windows only")
            self._partial = True
            return []
        per: dict[int, list] = {}
        for span, epoch in zip(spans.spans, read.epochs, strict=True):
            per.setdefault(span.chan_id, []).append(epoch)
        return [ChannelPriceHistory(chan_id=c, epochs=e) for c, e in per.items()]

    def _stages(self, cycle_id: int, counts: dict[str, int], notes: list[str]) -> None:
        history_s = self.policy.windows.history_s
        recent_s = self.policy.underperformance.window_s
        data: NodeData = self._ask(
            "ingestion",
            "ingestion",
            IngestRequest(history_window_s=history_s, recent_window_s=recent_s),
            NodeData,
        )
        counts["channels"] = len(data.channels)
        if self.observer is not None:
            self.observer.node_data(recent_s, history_s, data.forwarding_stats)
        observed: ObservedReply = self._ask(
            "observation", "actuator", ObserveRequest(channels=data.channels), ObservedReply
        )
        if observed.external:
            notes.append(f"{len(observed.external)} external change(s) recorded")
        ids = [c.chan_id for c in data.channels]
        last: LastChangesReply = self._ask(
            "journal lookup", "actuator", LastChangesRequest(chan_ids=ids), LastChangesReply
        )
        history = self._price_history(data, history_s, notes)
        snaps: SnapshotsReply = self._ask(
            "preprocessing",
            "preprocessing",
            PreprocessRequest(
                data=data,
                now_s=data.read_at_s,
                recent_window_s=recent_s,
                history_window_s=history_s,
                last_changes=last.entries,
                price_history=history,
            ),
            SnapshotsReply,
        )
        snapshots = snaps.snapshots
        records: list[PeerNodeRecord] = []
        network: NetworkStats = NetworkStatsUnknown(reason="the scorer did not answer")
        try:
            scored: ScoredReply = self._ask(
                "scorer", "scorer", ScoreRequest(snapshots=snapshots), ScoredReply
            )
            snapshots = scored.snapshots
            records, network = scored.records, scored.network
            notes.extend(scored.notes)
            self._partial = self._partial or not scored.complete
        except StageFailed as exc:
            notes.append(f"{exc}; peer facts left unknown")
            self._partial = True
        self.last_snapshots = snapshots
        for listener in self.snapshot_listeners:
            try:
                listener(snapshots)
            except Exception:  # noqa: BLE001 - a watcher must not stop the cycle
                logger.exception("a snapshot listener failed")
        decided: DecidedReply = self._ask(
            "decider",
            "decider",
            DecideRequest(snapshots=snapshots, records=records, network=network),
            DecidedReply,
        )
        counts["decisions"] = len(decided.decisions)
        points = {c.chan_id: c.channel_point for c in data.channels}
        safe = self.registry.safe_mode
        self.last_outcomes = []
        # The actuator handles the decisions in order and answers after the first live write
        # (what writes nothing is journaled in one transaction): what is left is sent again,
        # so a stopping service is checked between writes.
        left = list(decided.decisions)
        while left:
            writes: WritePermission = (
                WritesHeld(reason="; ".join(safe.reasons)) if safe.active else WritesAllowed()
            )
            report: ActuationReport = self._ask(
                "actuator",
                "actuator",
                ActuateRequest(
                    cycle_id=cycle_id,
                    decisions=left,
                    channel_points=[
                        ChannelPoint(chan_id=d.chan_id, channel_point=points[d.chan_id])
                        for d in left
                    ],
                    writes=writes,
                ),
                ActuationReport,
            )
            done, left = left[: len(report.outcomes)], left[len(report.outcomes) :]
            if not done:
                raise StageFailed("actuator", report)
            counts["actions"] += sum(1 for d in done if d.kind is not DecisionKind.NO_ACTION)
            self.last_outcomes.extend(report.outcomes)
        held = sum(1 for o in self.last_outcomes if o.outcome == "held")
        if safe.active and held:
            notes.append(f"safe mode: {held} action(s) held")
