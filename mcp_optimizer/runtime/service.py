"""The running service's trio side: scheduler, control handler, node event feed.

:class:`Service` owns no actor: it asks the supervisor's children by name, runs cycles in a
worker thread (never two at once), and answers the control socket.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trio
from loguru import logger

from mcp_optimizer.journal import RollbackRefused
from mcp_optimizer.messages import ChannelEventKind
from mcp_optimizer.messages.control import (
    AckCrashReply,
    AckCrashRequest,
    ActorHealth,
    CloseChannelRequest,
    CloseReply,
    ControlError,
    ControlReply,
    ControlRequest,
    CrashSeen,
    CycleDone,
    CycleFinished,
    CycleQueued,
    DecisionEntry,
    DecisionsReply,
    Done,
    EvaluateNowRequest,
    LastCycle,
    ListDecisionsRequest,
    NextCycle,
    NextCycleAt,
    NoCrash,
    NoCycleDue,
    NoCycleYet,
    PauseRequest,
    ResumeRequest,
    RollbackChange,
    RollbackLast,
    RollbackReply,
    RollbackRequest,
    RollbackSince,
    SafeModeOff,
    SafeModeOn,
    SetModeRequest,
    ShadowReportReply,
    ShadowReportRequest,
    StatusReply,
    StatusRequest,
)
from mcp_optimizer.safety.actuator import Actuator
from mcp_optimizer.supervisor import Supervisor

from .control_server import ControlServer
from .cycle import CycleRunner
from .schedule import CycleStart, ScheduleSettings
from .scheduler import CycleDriver

STREAM_RETRY_FIRST_S = 5.0
"""Pause before reopening a node event stream after it failed or ended; doubled after each
failure in a row (a node down for a day: about 3,000 log lines, not 35,000)..."""
STREAM_RETRY_MAX_S = 60.0
"""...up to this; back to the first pause once a stream delivered events or lived this long."""

BY = "control-socket"


def _via(by: str) -> str:
    """How an act arrived, in words ("over the control socket", "by web")."""
    return "over the control socket" if by == BY else f"by {by}"


TRIGGERING_KINDS = {
    ChannelEventKind.OPENED: "channel opened",
    ChannelEventKind.CLOSED: "channel closed",
    ChannelEventKind.INACTIVE: "channel inactive",
}


@dataclass
class EventFeed:
    """Where node events come from: callables returning cancellable iterators (LndClient's
    ``channel_events`` / ``htlc_events``)."""

    channel_events: Callable[[], Any]
    htlc_events: Callable[[], Any]
    on_htlc: Callable[[Any], bool]
    """Keeps an HTLC event (the failure log); True when it is a failure."""


class Service:
    def __init__(
        self,
        *,
        supervisor: Supervisor,
        actuator: Actuator,
        runner: CycleRunner,
        schedule: ScheduleSettings,
        socket_path: Path,
        node_description: str,
        events: EventFeed | None = None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.supervisor = supervisor
        self.actuator = actuator
        self.runner = runner
        self.socket_path = socket_path
        self.node_description = node_description
        self.events = events
        self.wall = wall
        self.started_at_s = int(wall())
        self.last_cycle: CycleDone | None = None
        self.driver = CycleDriver(schedule, self._run_cycle)
        self.control = ControlServer(socket_path, self.handle)
        self._streams: list[Any] = []
        self.sim_node: Any = None
        """The embedded simulator's node, when the service runs against it."""
        self.client: Any = None
        """The LND client the actors use."""
        self.centrality: Any = None
        """The local-graph centrality cache (outlives restarts of the local_graph actor)."""
        self._stopping = threading.Event()
        self.metrics_registry: Any = None
        """The service's prometheus-client registry (``mcp_optimizer.metrics.registry``)."""
        self.http: Any = None
        """The HTTP server (``mcp_optimizer.http.server.HttpServer``), when one is configured:
        started with the rest in :meth:`main` and supervised there."""
        self.notifier: Any = None
        """The notifier (``mcp_optimizer.notify.worker.Notifier``) when ``MCP_NOTIFY_URLS``
        names a URL: told of cycles, mode and pause changes and rollbacks (never blocks)."""
        self.policy_desk: Any = None
        """The policy the next cycle uses and its changes from the web page
        (``mcp_optimizer.policies.desk.PolicyDesk``), set by ``runtime/run.py``."""

    # ------------------------------------------------------------------------ cycles
    async def _run_cycle(self, start: CycleStart) -> None:
        done = await trio.to_thread.run_sync(self.runner.run, start.trigger)
        self.last_cycle = done
        if self.notifier is not None:  # queued: sent from the notifier's thread
            self.notifier.cycle_done(done, self.supervisor.safe_mode.reasons)

    # ----------------------------------------------------------------------- control
    async def handle(self, request: ControlRequest, by: str = BY) -> ControlReply:
        """Carry out one control request; ``by`` names who asked (journaled and logged)."""
        match request:
            case StatusRequest():
                return await trio.to_thread.run_sync(self.status)
            case PauseRequest(reason=reason):
                state = await trio.to_thread.run_sync(
                    lambda: self.actuator.pause(by, reason or f"paused {_via(by)}")
                )
                self.driver.set_paused(state.paused)
                if self.notifier is not None:
                    self.notifier.pause_changed(True, by, reason, state.sources)
                return Done(detail="paused: nothing is written to the node until resumed")
            case ResumeRequest(reason=reason):
                state = await trio.to_thread.run_sync(
                    lambda: self.actuator.resume(by, reason or f"resumed {_via(by)}")
                )
                self.driver.set_paused(state.paused)
                if self.notifier is not None:
                    self.notifier.pause_changed(False, by, reason, state.sources)
                if state.paused:
                    return Done(
                        detail="API pause lifted, but still paused by: " + ", ".join(state.sources)
                    )
                return Done(detail="resumed")
            case SetModeRequest(mode=mode, reason=reason):
                change = await trio.to_thread.run_sync(
                    lambda: self.actuator.set_mode(mode, by, reason or f"set {_via(by)}")
                )
                if self.notifier is not None:
                    self.notifier.mode_changed(change)
                return Done(detail=f"mode {change.old_mode.value} -> {change.new_mode.value}")
            case EvaluateNowRequest(wait=wait):
                finished = self.driver.request_now()
                if not wait:
                    return CycleQueued(detail="a cycle starts as soon as none is running")
                await finished.wait()
                if self.last_cycle is None:  # pragma: no cover - set before the event
                    return ControlError(code="internal", message="the cycle left no summary")
                return CycleFinished(cycle=self.last_cycle)
            case ListDecisionsRequest(limit=limit):
                if limit < 1:
                    return ControlError(code="refused", message="limit must be 1 or more")
                rows = await trio.to_thread.run_sync(
                    lambda: self.actuator.journal.decisions(limit=limit)
                )
                return DecisionsReply(
                    decisions=[DecisionEntry(decision_id=i, mode=m, decision=d)
                               for i, m, d in rows]
                )
            case RollbackRequest(target=target):
                reply = await trio.to_thread.run_sync(self._rollback, target)
                if self.notifier is not None:
                    self.notifier.rollbacks()
                return reply
            case AckCrashRequest():
                return await trio.to_thread.run_sync(self._ack)
            case ShadowReportRequest(period_s=period_s):
                if period_s < 1:
                    return ControlError(code="refused", message="period_s must be 1 or more")
                return await trio.to_thread.run_sync(self._shadow_report, period_s)
            case CloseChannelRequest(chan_id=chan_id, reason=reason):
                return await trio.to_thread.run_sync(self._close, chan_id, reason, by)
        return ControlError(code="refused", message=f"unknown request {type(request).__name__}")

    def _close(self, chan_id: int, reason: str, by: str) -> ControlReply:
        from mcp_optimizer.safety import closing

        try:
            return CloseReply(
                change=closing.close_by_operator(self.actuator, chan_id, reason, by)
            )
        except (ValueError, closing.NodeUnavailableError) as exc:
            return ControlError(code="refused", message=str(exc))

    def _rollback(self, target: Any) -> ControlReply:
        try:
            match target:
                case RollbackChange(change_id=cid):
                    return RollbackReply(
                        changes=[self.actuator.rollback(cid)], refused=[], skipped=[]
                    )
                case RollbackLast():
                    return RollbackReply(
                        changes=[self.actuator.rollback_last()], refused=[], skipped=[]
                    )
                case RollbackSince(since_at_s=since):
                    done, refused, skipped = self.actuator.rollback_since(since)
                    return RollbackReply(changes=done, refused=refused, skipped=skipped)
        except RollbackRefused as exc:
            return ControlError(code="refused", message=str(exc))
        return ControlError(code="refused", message="unknown rollback target")

    def _shadow_report(self, period_s: int) -> ShadowReportReply:
        """The shadow report over the last ``period_s`` of the journal's clock (the node's),
        the effect estimated from this service's node."""
        from mcp_optimizer.journal.shadow import build_shadow_report, from_history, not_estimated

        journal = self.actuator.journal
        until = journal.now_s()
        since = until - period_s
        if self.client is None:
            effect = not_estimated("effect not estimated: this service holds no node client")
        else:
            source = f"the running service's node ({self.node_description})"
            effect = from_history(self.client.forwarding_event_pages, source, since, until)
        return ShadowReportReply(report=build_shadow_report(journal, since, until, effect))

    def _ack(self) -> AckCrashReply:
        cleared = self.supervisor.safe_mode.reasons
        revived = self.supervisor.revive()
        acknowledged = self.actuator.ack_crashes()
        logger.warning(
            "crashes acknowledged over the control socket: {} crash record(s), {} escalation(s)",
            len(acknowledged), len(cleared),
        )
        return AckCrashReply(acknowledged=acknowledged, safe_mode_cleared=cleared, revived=revived)

    def status(self) -> StatusReply:
        actors = []
        for r in self.supervisor.snapshot():
            last = (
                CrashSeen(cause=r.last_crash, at_s=int(r.last_crash_at_s))
                if r.crashes else NoCrash()
            )
            actors.append(ActorHealth(
                name=r.spec.name, state=r.state.value, generation=r.generation,
                crashes=r.crashes, restarts=r.restarts, last_crash=last,
            ))
        safe = self.supervisor.safe_mode
        reasons = list(safe.reasons)
        unwritable = self.actuator.journal.write_failure
        if unwritable:  # nothing is written to the node without its journal record first
            reasons.append(f"the journal cannot be written, so no policy is: {unwritable}")
        last_cycle: LastCycle = self.last_cycle if self.last_cycle is not None else NoCycleYet()
        return StatusReply(
            node=self.node_description,
            started_at_s=self.started_at_s,
            mode=self.actuator.mode(),
            pause=self.actuator.pause_state(),
            safe_mode=SafeModeOn(reasons=reasons) if safe.active or unwritable
            else SafeModeOff(),
            actors=actors,
            cycle_running=self._cycle_running,
            last_cycle=last_cycle,
            next_cycle=self._next_cycle,
            open_crashes=self.actuator.open_crashes(),
        )

    # Updated from the trio thread (status is built in a worker thread).
    _cycle_running: bool = False
    _next_cycle: NextCycle = NoCycleDue(reason="the service is starting")

    def _refresh_schedule_view(self) -> None:
        self._cycle_running = self.driver.running
        if self._stopping.is_set():
            self._next_cycle = NoCycleDue(reason="the service is stopping")
            return
        nxt = self.driver.next_due_in()
        if nxt is None:
            reason = "paused" if self.driver.scheduler and self.driver.scheduler.paused else (
                "a cycle is running" if self.driver.running else "nothing scheduled")
            self._next_cycle = NoCycleDue(reason=reason)
        else:
            self._next_cycle = NextCycleAt(at_s=int(self.wall() + nxt[0]), trigger=nxt[1])

    async def _schedule_view(self) -> None:
        while True:
            self._refresh_schedule_view()
            await trio.sleep(0.2)

    # --------------------------------------------------------------------- node events
    def _feed(self, token: trio.lowlevel.TrioToken, which: str) -> None:
        """Thread body: follow one event stream, reconnecting with a pause after errors."""
        assert self.events is not None
        opener = self.events.channel_events if which == "channel" else self.events.htlc_events
        delay_s = STREAM_RETRY_FIRST_S
        while not self._stopping.is_set():
            opened_at, delivered = time.monotonic(), False
            try:
                stream = opener()
                self._streams.append(stream)
                for ev in stream:
                    if self._stopping.is_set():
                        return
                    delivered = True
                    self._on_event(token, which, ev)
                if self._stopping.is_set():
                    return
                failure = "ended"
            except Exception as exc:  # noqa: BLE001 - the node may be down: retry later
                if self._stopping.is_set():
                    return
                failure = f"failed ({exc})"
            if delivered or time.monotonic() - opened_at >= STREAM_RETRY_MAX_S:
                delay_s = STREAM_RETRY_FIRST_S  # it worked for a while: a fresh failure
            logger.warning("{} event stream {}; retrying in {:g} s", which, failure, delay_s)
            self._stopping.wait(delay_s)
            delay_s = min(2 * delay_s, STREAM_RETRY_MAX_S)

    def _on_event(self, token: trio.lowlevel.TrioToken, which: str, ev: Any) -> None:
        try:
            if which == "channel":
                what = TRIGGERING_KINDS.get(ev.kind)
                if what is not None:
                    trio.from_thread.run_sync(self.driver.on_event, what, trio_token=token)
            elif self.events is not None and self.events.on_htlc(ev):
                trio.from_thread.run_sync(self.driver.on_forward_failure, trio_token=token)
        except trio.RunFinishedError:
            self._stopping.set()

    def _cancel_streams(self) -> None:
        for s in self._streams:
            try:
                s.cancel()
            except Exception:  # noqa: BLE001
                pass

    # ---------------------------------------------------------------------------- main
    async def main(self, signals: Iterable[int] = (), *, serve_control: bool = True) -> None:
        """Run until a signal in ``signals`` arrives (or the task is cancelled).
        ``serve_control`` False: the control socket is already served by the caller, which
        hands its requests to :meth:`handle` (``runtime/start.py``: open before the build)."""
        token = trio.lowlevel.current_trio_token()
        threads = []
        try:
            async with trio.open_nursery() as nursery:
                if serve_control:
                    await nursery.start(self.control.serve)
                if self.http is not None:
                    await nursery.start(self.http.run)
                paused = await trio.to_thread.run_sync(lambda: self.actuator.pause_state().paused)
                self.driver.set_paused(paused)
                if paused:
                    logger.warning("starting PAUSED: nothing is written to the node until resumed")
                await nursery.start(self.driver.run)
                nursery.start_soon(self._schedule_view)
                if self.events is not None:
                    for which in ("channel", "htlc"):
                        t = threading.Thread(
                            target=self._feed, args=(token, which), name=f"events-{which}",
                            daemon=True,
                        )
                        t.start()
                        threads.append(t)
                if signals:
                    with trio.open_signal_receiver(*signals) as receiver:
                        async for signum in receiver:
                            logger.warning("signal {} received: stopping", signum)
                            break
                    self._begin_stop()
                    nursery.cancel_scope.cancel()
                else:
                    await trio.sleep(math.inf)
        finally:
            self._begin_stop()
            for t in threads:
                t.join(timeout=5)

    def stop(self) -> None:
        """Stop as a signal does: no new cycle, the running one abandons what it has left."""
        self._begin_stop()

    def _begin_stop(self) -> None:
        if not self._stopping.is_set():
            self._stopping.set()
            self.runner.stop.set()
            self._cancel_streams()
            self._refresh_schedule_view()
