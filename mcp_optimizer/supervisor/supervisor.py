"""A supervisor for pykka actors: registry by name, crash detection, restarts, escalation.

The supervisor is not an actor itself: it owns a watcher thread that receives crash reports
from its children (and polls their liveness as a backstop), and applies the pure decisions of
:mod:`mcp_optimizer.supervisor.logic`. Other parts reach a child only through :meth:`ask` /
:meth:`tell` by name, so a restarted child is reachable at once without any rewiring.
"""

from __future__ import annotations

import enum
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pykka
from loguru import logger

from mcp_optimizer.messages.actors import ActorUnavailable

from .logic import Action, Exit, RestartWindow, decide
from .spec import ChildSpec, Intensity, Strategy


class ChildState(enum.Enum):
    RUNNING = "running"
    RESTARTING = "restarting"
    STOPPED = "stopped"
    FAILED = "failed"
    """Stopped for good after the restart intensity was exceeded (safe mode)."""


class SafeMode:
    """Thread-safe flag: while active, no policy is written to the node."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reasons: list[str] = []

    def enter(self, reason: str) -> None:
        with self._lock:
            self._reasons.append(reason)
        logger.critical("SAFE MODE: no policy writes until acknowledged ({})", reason)

    def clear(self) -> list[str]:
        with self._lock:
            cleared, self._reasons = self._reasons, []
        if cleared:
            logger.warning("safe mode left by operator acknowledgement: {}", "; ".join(cleared))
        return cleared

    @property
    def active(self) -> bool:
        with self._lock:
            return bool(self._reasons)

    @property
    def reasons(self) -> list[str]:
        with self._lock:
            return list(self._reasons)


@dataclass(frozen=True)
class ActorContext:
    """What a child actor is given at each start."""

    name: str
    generation: int
    """1 at first start, +1 at each restart; stale crash reports are recognised by it."""
    registry: Supervisor
    """Reach peers by name: ``ctx.registry.ask("lnd", request)``."""
    wall: Callable[[], float]

    def report_crash(self, cause: BaseException) -> None:
        self.registry.report_crash(self.name, self.generation, cause)


@dataclass
class ChildRecord:
    spec: ChildSpec
    window: RestartWindow
    ref: pykka.ActorRef[Any] | None = None
    generation: int = 0
    state: ChildState = ChildState.STOPPED
    crashes: int = 0
    restarts: int = 0
    last_crash: str = ""
    last_crash_at_s: float = 0.0
    started_at_s: float = 0.0
    stopping: bool = False
    history: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Report:
    name: str
    generation: int
    cause: str
    at_s: float = 0.0
    """Wall time of the crash (when the actor reported it)."""


class Supervisor:
    """Start children in order, restart them by their spec, escalate past the intensity."""

    def __init__(
        self,
        specs: list[ChildSpec],
        *,
        strategy: Strategy = Strategy.ONE_FOR_ONE,
        intensity: Intensity | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        safe_mode: SafeMode | None = None,
        poll_s: float = 0.1,
        name: str = "root",
        on_crash: Callable[[str, str], None] | None = None,
    ) -> None:
        names = [s.name for s in specs]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate child names: {', '.join(dupes)}")
        self.name = name
        self.strategy = strategy
        self.intensity = intensity or Intensity()
        self.clock = clock
        self.wall = wall
        self.safe_mode = safe_mode or SafeMode()
        self._poll_s = poll_s
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._children: dict[str, ChildRecord] = {
            s.name: ChildRecord(spec=s, window=RestartWindow(s.intensity or self.intensity))
            for s in specs
        }
        self._reports: queue.Queue[_Report] = queue.Queue()
        self._closing = threading.Event()
        self._watcher: threading.Thread | None = None
        self.escalations: list[str] = []
        self.on_crash = on_crash
        """Called (from the watcher thread) with the actor's name and cause at each crash."""

    # ----------------------------------------------------------------- lifecycle
    def start(self) -> None:
        """Start every child in order, then the watcher. A child failing to start is fatal."""
        for name in self._children:
            with self._lock:
                self._start_child(name)
                if self._children[name].state is not ChildState.RUNNING:
                    cause = self._children[name].last_crash
                    self._stop_all()
                    raise RuntimeError(f"child {name} failed to start: {cause}")
        self._watcher = threading.Thread(
            target=self._watch, name=f"supervisor-{self.name}", daemon=True
        )
        self._watcher.start()
        logger.info("supervisor {} started: {}", self.name, ", ".join(self._children))

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the watcher, then the children in reverse order (each finishes its message)."""
        self._closing.set()
        if self._watcher is not None:
            self._watcher.join(timeout=timeout_s)
        with self._lock:
            self._stop_all(timeout_s)
        logger.info("supervisor {} stopped", self.name)

    def _stop_all(self, timeout_s: float = 10.0) -> None:
        for record in reversed(list(self._children.values())):
            record.stopping = True
            ref = record.ref
            if ref is not None and ref.is_alive():
                try:
                    ref.stop(block=True, timeout=timeout_s)
                except pykka.Timeout:
                    logger.error("{} did not stop within {} s", record.spec.name, timeout_s)
            if record.state in (ChildState.RUNNING, ChildState.RESTARTING):
                record.state = ChildState.STOPPED
            record.ref = None
        self._changed.notify_all()

    def _start_child(self, name: str) -> None:
        """Start (or restart) ``name``; a factory error counts as a crash. Lock held."""
        record = self._children[name]
        record.generation += 1
        record.stopping = False
        ctx = ActorContext(name=name, generation=record.generation, registry=self, wall=self.wall)
        try:
            ref = record.spec.factory(ctx)
        except Exception as exc:  # noqa: BLE001 - a failed start is a crash, reported below
            record.ref = None
            record.state = ChildState.RESTARTING
            cause = f"{type(exc).__name__}: {exc}"
            logger.error("{} failed to start: {}", name, cause)
            self._reports.put(_Report(name, record.generation, f"start failed: {cause}"))
            record.last_crash = f"start failed: {cause}"
            return
        record.ref = ref
        record.state = ChildState.RUNNING
        record.started_at_s = self.wall()
        self._changed.notify_all()

    # ------------------------------------------------------------------ registry
    def names(self) -> list[str]:
        return list(self._children)

    def ref(self, name: str) -> pykka.ActorRef[Any] | None:
        with self._lock:
            record = self._children.get(name)
            if record is None or record.state is not ChildState.RUNNING:
                return None
            return record.ref

    def ask(self, name: str, message: Any, timeout_s: float = 30.0) -> Any:
        """Ask the child named ``name``; a typed :class:`ActorUnavailable` when it cannot answer.

        While the child is being restarted, waits up to one second for it to come back.
        A crash while handling this request returns the actor's :class:`ActorFailed` reply.
        """
        request = type(message).__name__
        if name not in self._children:
            raise KeyError(f"no child named {name!r} under supervisor {self.name}")
        for attempt in (1, 2):
            ref = self._running_ref(name, request, min(1.0, timeout_s))
            if isinstance(ref, ActorUnavailable):
                return ref
            try:
                return ref.ask(message, timeout=timeout_s)
            except pykka.ActorDeadError:
                # Not handled at all (the actor died before reaching it): safe to send once
                # more to the restarted instance; otherwise reported as unhandled.
                if attempt == 2:
                    return self._unavailable(
                        name, request, f"{name} stopped before handling the request"
                    )
            except pykka.Timeout:
                return self._unavailable(
                    name, request, f"{name} gave no reply within {timeout_s} s"
                )
        raise AssertionError("unreachable")  # pragma: no cover

    def _running_ref(
        self, name: str, request: str, wait_s: float
    ) -> pykka.ActorRef[Any] | ActorUnavailable:
        """The child's live reference, waiting up to ``wait_s`` while it is being restarted."""
        deadline = time.monotonic() + wait_s
        with self._lock:
            while True:
                record = self._children[name]
                if record.state is ChildState.RUNNING and record.ref is not None:
                    if record.ref.is_alive() or record.stopping:
                        return record.ref
                    # dead but its exit not handled yet: treat as restarting
                    state = ChildState.RESTARTING
                else:
                    state = record.state
                left = deadline - time.monotonic()
                if state is not ChildState.RESTARTING or left <= 0:
                    return self._unavailable(name, request, f"{name} is {state.value}")
                self._changed.wait(min(left, 0.02))

    def tell(self, name: str, message: Any) -> bool:
        ref = self.ref(name)
        if ref is None:
            return False
        try:
            ref.tell(message)
        except pykka.ActorDeadError:
            return False
        return True

    def _unavailable(self, name: str, request: str, reason: str) -> ActorUnavailable:
        return ActorUnavailable(actor=name, request=request, reason=reason, at_s=int(self.wall()))

    # ------------------------------------------------------------- crash handling
    def report_crash(self, name: str, generation: int, cause: BaseException | str) -> None:
        """Called by a child (from its own thread) when an exception escaped its handler."""
        text = cause if isinstance(cause, str) else f"{type(cause).__name__}: {cause}"
        self._reports.put(_Report(name, generation, text, self.wall()))
        # Fast path so that askers wait for the restart instead of hitting the dead actor.
        # Bounded wait: the watcher may hold the lock while stopping this very actor.
        if self._lock.acquire(timeout=0.5):
            try:
                record = self._children.get(name)
                if record is not None and record.generation == generation:
                    if record.state is ChildState.RUNNING:
                        record.state = ChildState.RESTARTING
                        self._changed.notify_all()
            finally:
                self._lock.release()

    def _watch(self) -> None:
        while not self._closing.is_set():
            try:
                report: _Report | None = self._reports.get(timeout=self._poll_s)
            except queue.Empty:
                report = None
            try:
                while report is not None:
                    self._on_exit(
                        report.name, report.generation, Exit.CRASHED, report.cause, report.at_s
                    )
                    try:
                        report = self._reports.get_nowait()
                    except queue.Empty:
                        report = None
                self._poll_liveness()
            except Exception:  # noqa: BLE001 - the watcher must outlive any bug in a handler
                logger.exception("supervisor {} watcher error", self.name)

    def _poll_liveness(self) -> None:
        with self._lock:
            dead = [
                (name, r.generation)
                for name, r in self._children.items()
                if r.state is ChildState.RUNNING
                and not r.stopping
                and r.ref is not None
                and not r.ref.is_alive()
            ]
        for name, generation in dead:
            self._on_exit(name, generation, Exit.STOPPED, "stopped without a crash report")

    def _on_exit(
        self, name: str, generation: int, exit: Exit, cause: str, at_s: float = 0.0
    ) -> None:
        if self._closing.is_set():
            return
        with self._lock:
            record = self._children.get(name)
            if record is None or record.generation != generation:
                return  # stale: already handled
            if record.state not in (ChildState.RUNNING, ChildState.RESTARTING):
                return
            if exit is Exit.CRASHED:
                record.crashes += 1
                record.last_crash = cause
                record.last_crash_at_s = at_s or self.wall()
                logger.error(
                    "actor {} crashed (crash #{}): {}", name, record.crashes, cause
                )
                if self.on_crash is not None:
                    try:
                        self.on_crash(name, cause)
                    except Exception:  # noqa: BLE001 - recording must not stop supervision
                        logger.exception("recording the crash of {} failed", name)
            else:
                logger.warning("actor {} stopped by itself: {}", name, cause)
            if record.ref is not None and record.ref.is_alive():
                record.stopping = True
                record.ref.stop(block=False)
            record.state = ChildState.RESTARTING
            running = tuple(
                n for n, r in self._children.items()
                if r.state in (ChildState.RUNNING, ChildState.RESTARTING)
            )
            verdict = decide(
                child=name,
                restart=record.spec.restart,
                exit=exit,
                window=record.window,
                now=self.clock(),
                strategy=self.strategy,
                children=running,
            )
            if verdict.action is Action.LEAVE:
                record.state = ChildState.STOPPED
                record.ref = None
                logger.info("{}", verdict.reason)
            elif verdict.action is Action.ESCALATE:
                record.state = ChildState.FAILED
                record.ref = None
                reason = f"{verdict.reason}; last cause: {cause}"
                self.escalations.append(reason)
                logger.critical("supervisor {} escalates: {} is stopped for good", self.name, name)
                self.safe_mode.enter(reason)
            else:
                for n in verdict.restart_names:
                    sibling = self._children[n]
                    if n != name and sibling.ref is not None and sibling.ref.is_alive():
                        sibling.stopping = True
                        sibling.ref.stop(block=True, timeout=10)
                    self._start_child(n)
                    sibling.restarts += 1
                    if sibling.state is ChildState.RUNNING:
                        logger.warning(
                            "actor {} restarted (restart #{}, generation {}) after: {}",
                            n, sibling.restarts, sibling.generation, cause,
                        )
            self._changed.notify_all()

    # ------------------------------------------------------------------- status
    def revive(self) -> list[str]:
        """Operator acknowledgement: restart children stopped for good, reset their windows,
        leave safe mode. Returns the names restarted."""
        revived = []
        with self._lock:
            for name, record in self._children.items():
                record.window.reset()
                if record.state is ChildState.FAILED:
                    self._start_child(name)
                    revived.append(name)
            self.escalations.clear()
        self.safe_mode.clear()
        for name in revived:
            logger.warning("actor {} restarted by operator acknowledgement", name)
        return revived

    def snapshot(self) -> list[ChildRecord]:
        """Copies of the children's records, in start order."""
        with self._lock:
            return [
                ChildRecord(
                    spec=r.spec,
                    window=r.window,
                    ref=r.ref,
                    generation=r.generation,
                    state=(
                        ChildState.RESTARTING
                        if r.state is ChildState.RUNNING and r.ref is not None
                        and not r.ref.is_alive()
                        else r.state
                    ),
                    crashes=r.crashes,
                    restarts=r.restarts,
                    last_crash=r.last_crash,
                    last_crash_at_s=r.last_crash_at_s,
                    started_at_s=r.started_at_s,
                )
                for r in self._children.values()
            ]
