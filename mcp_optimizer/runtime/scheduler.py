"""The trio task that runs cycles when :class:`Scheduler` says so, one at a time."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable

import trio
from loguru import logger

from .schedule import CycleStart, Scheduler, ScheduleSettings


class CycleDriver:
    """Owns a :class:`Scheduler` and runs ``run_cycle`` when a cycle is due.

    Every method is called from the trio thread (threads use ``trio.from_thread``). Time is
    ``trio.current_time()``, so tests drive it with ``trio.testing.MockClock``.
    """

    def __init__(
        self,
        settings: ScheduleSettings,
        run_cycle: Callable[[CycleStart], Awaitable[object]],
    ) -> None:
        self.settings = settings
        self.run_cycle = run_cycle
        self.scheduler: Scheduler | None = None
        self._kick = trio.Event()
        self._finished: dict[int, trio.Event] = {}
        self.started: list[CycleStart] = []

    def _sched(self) -> Scheduler:
        if self.scheduler is None:
            self.scheduler = Scheduler(self.settings, trio.current_time())
        return self.scheduler

    def _wake(self) -> None:
        self._kick.set()

    def on_event(self, what: str) -> None:
        self._sched().on_event(what, trio.current_time())
        self._wake()

    def on_forward_failure(self) -> None:
        if self._sched().on_forward_failure(trio.current_time()):
            self._wake()

    def set_paused(self, paused: bool) -> None:
        self._sched().set_paused(paused)
        self._wake()

    def request_now(self) -> trio.Event:
        """Ask for a cycle now; the event is set when that cycle has finished."""
        sched = self._sched()
        sched.request_now()
        number = sched.cycles_started + 1
        done = self._finished.setdefault(number, trio.Event())
        self._wake()
        return done

    @property
    def running(self) -> bool:
        return self._sched().running

    def next_due_in(self) -> tuple[float, str] | None:
        """Seconds until the next cycle starts by itself, and why (None: nothing due)."""
        sched = self._sched()
        nxt = sched.next_due()
        if nxt is None or math.isinf(nxt[0]):
            return None
        return max(0.0, nxt[0] - trio.current_time()), nxt[1]

    async def run(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        sched = self._sched()
        task_status.started()
        while True:
            now = trio.current_time()
            if sched.due(now) is not None:
                start = sched.start(now)
                self.started.append(start)
                number = sched.cycles_started
                try:
                    await self.run_cycle(start)
                except Exception:  # noqa: BLE001 - a cycle failure never stops the schedule
                    logger.exception("cycle {} ({}) failed", number, start.trigger)
                finally:
                    sched.finish(trio.current_time())
                    for n in [n for n in self._finished if n <= number]:
                        self._finished.pop(n).set()
                continue
            self._kick = trio.Event()
            with trio.move_on_at(sched.next_wakeup()):
                await self._kick.wait()
