"""The supervisor's decisions as pure functions: restart, leave stopped, or escalate.

No threads, no clock reads: the caller passes the time. Unit-tested on its own.
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass, field

from .spec import Intensity, Restart, Strategy


class Exit(enum.Enum):
    """How a child ended."""

    CRASHED = "crashed"
    """An exception escaped its handler (or its start)."""
    STOPPED = "stopped"
    """It stopped by itself, without an exception."""


class Action(enum.Enum):
    """What the supervisor does about a child that exited."""

    RESTART = "restart"
    """Start it again (and, under one_for_all, its siblings)."""
    LEAVE = "leave"
    """Leave it stopped: its restart type says so."""
    ESCALATE = "escalate"
    """Too many restarts: stop the branch for good and enter safe mode."""


@dataclass
class RestartWindow:
    """Restart times of one child inside a sliding window of ``intensity.period_s`` seconds."""

    intensity: Intensity
    times: deque[float] = field(default_factory=deque)

    def prune(self, now: float) -> None:
        horizon = now - self.intensity.period_s
        while self.times and self.times[0] <= horizon:
            self.times.popleft()

    def would_exceed(self, now: float) -> bool:
        """Whether one more restart at ``now`` would pass the intensity."""
        self.prune(now)
        return len(self.times) + 1 > self.intensity.max_restarts

    def record(self, now: float) -> None:
        self.prune(now)
        self.times.append(now)

    def count(self, now: float) -> int:
        self.prune(now)
        return len(self.times)

    def reset(self) -> None:
        self.times.clear()


@dataclass(frozen=True)
class Verdict:
    """The decision about one exit, with its reason in words."""

    action: Action
    restart_names: tuple[str, ...]
    """The children to (re)start, in start order (empty unless ``action`` is RESTART)."""
    reason: str


def decide(
    *,
    child: str,
    restart: Restart,
    exit: Exit,
    window: RestartWindow,
    now: float,
    strategy: Strategy,
    children: tuple[str, ...],
) -> Verdict:
    """Decide what to do when ``child`` exits, and record the restart in ``window`` if any.

    ``children`` lists the supervisor's live children in start order (for one_for_all).
    """
    if restart is Restart.TEMPORARY:
        return Verdict(Action.LEAVE, (), f"{child} is temporary: it is not restarted")
    if restart is Restart.TRANSIENT and exit is Exit.STOPPED:
        return Verdict(
            Action.LEAVE, (), f"{child} is transient and stopped normally: it is not restarted"
        )
    if window.would_exceed(now):
        limit = window.intensity
        return Verdict(
            Action.ESCALATE,
            (),
            f"{child} exited more than {limit.max_restarts} times within {limit.period_s:g} s "
            "(restart intensity exceeded)",
        )
    window.record(now)
    if strategy is Strategy.ONE_FOR_ALL:
        names = tuple(n for n in children if n != child)
        order = tuple(n for n in children) if child in children else (*names, child)
        return Verdict(Action.RESTART, order, f"{child} {exit.value}: restarting all children")
    return Verdict(Action.RESTART, (child,), f"{child} {exit.value}: restarting it")
