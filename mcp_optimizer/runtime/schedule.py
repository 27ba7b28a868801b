"""When to run a cycle: the pure scheduling logic (no clock read, no sleeping).

The caller passes ``now`` (any monotonic seconds) to every method. Rules:

- a full cycle every ``interval_s`` (6 h by default) on a fixed period: cycles asked by events
  or evaluate-now do not move it (a flapping peer cannot postpone the schedule for ever);
- node events (channel opened/closed/inactive, a burst of forwarding failures) ask for a cycle
  after ``debounce_s`` of quiet, and at the latest ``max_delay_s`` after the first event of a
  storm: a storm of events gives one cycle, not hundreds; and at most one event cycle starts
  per ``event_min_interval_s`` (events arriving sooner wait for the window's end, or are
  absorbed by the next scheduled cycle);
- evaluate-now asks for a cycle at once;
- never two cycles at once: what arrives during a cycle is kept for one follow-up cycle;
- while paused, nothing starts by itself (evaluate-now still does).
"""

from __future__ import annotations

import math
from collections import Counter, deque
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ScheduleSettings:
    interval_s: float = 6 * 3600.0
    """Time between full cycles."""
    debounce_s: float = 30.0
    """Quiet time after the last node event before the cycle it asks for."""
    max_delay_s: float = 300.0
    """Longest wait after the first event of a storm that never quiets down."""
    event_min_interval_s: float = 1800.0
    """Shortest time between the starts of two cycles asked by node events."""
    failure_burst_count: int = 20
    """Forwarding failures within ``failure_burst_window_s`` that count as a burst."""
    failure_burst_window_s: float = 60.0
    """Window of the burst detector."""
    run_at_start: bool = True
    """Whether the first cycle starts as soon as the service is up."""

    def __post_init__(self) -> None:
        for name in ("interval_s", "max_delay_s", "failure_burst_window_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"schedule setting {name} must be more than 0")
        for name in ("debounce_s", "event_min_interval_s"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"schedule setting {name} must be 0 or more")
        if self.failure_burst_count < 1:
            raise ValueError("schedule setting failure_burst_count must be 1 or more")


@dataclass(frozen=True)
class CycleStart:
    """What a starting cycle was asked by, in words, and when."""

    trigger: str
    started_at: float


@dataclass
class Scheduler:
    settings: ScheduleSettings
    now: float
    """The creation time (the service's start)."""
    next_periodic: float = field(init=False)
    running: bool = field(default=False, init=False)
    paused: bool = field(default=False, init=False)
    manual: bool = field(default=False, init=False)
    first_event_at: float | None = field(default=None, init=False)
    last_event_at: float | None = field(default=None, init=False)
    events: Counter[str] = field(default_factory=Counter, init=False)
    failures: deque[float] = field(default_factory=deque, init=False)
    burst_until: float = field(default=-math.inf, init=False)
    cycles_started: int = field(default=0, init=False)
    last_event_cycle_at: float = field(default=-math.inf, init=False)

    def __post_init__(self) -> None:
        s = self.settings
        self.next_periodic = self.now if s.run_at_start else self.now + s.interval_s

    # --------------------------------------------------------------------- inputs
    def on_event(self, what: str, now: float) -> None:
        """A node event that asks for a cycle (channel opened/closed/inactive...)."""
        if self.first_event_at is None:
            self.first_event_at = now
        self.last_event_at = now
        self.events[what] += 1

    def on_forward_failure(self, now: float) -> bool:
        """One failed forward; True when it completes a burst (which then asks for a cycle)."""
        s = self.settings
        self.failures.append(now)
        while self.failures and self.failures[0] <= now - s.failure_burst_window_s:
            self.failures.popleft()
        if len(self.failures) >= s.failure_burst_count and now >= self.burst_until:
            self.burst_until = now + s.failure_burst_window_s  # one burst per window
            self.on_event(
                f"burst of {len(self.failures)} forwarding failures within "
                f"{s.failure_burst_window_s:g} s",
                now,
            )
            return True
        return False

    def request_now(self) -> None:
        """evaluate-now: a cycle as soon as none is running."""
        self.manual = True

    def set_paused(self, paused: bool) -> None:
        self.paused = paused

    # -------------------------------------------------------------------- queries
    def _event_due_at(self) -> float | None:
        if self.first_event_at is None or self.last_event_at is None:
            return None
        s = self.settings
        quiet = min(self.last_event_at + s.debounce_s, self.first_event_at + s.max_delay_s)
        return max(quiet, self.last_event_cycle_at + s.event_min_interval_s)

    def due(self, now: float) -> str | None:
        """The trigger of the cycle to start now, or None."""
        if self.running:
            return None
        if self.manual:
            return "evaluate-now"
        if self.paused:
            return None
        event_at = self._event_due_at()
        if event_at is not None and now >= event_at:
            return "node events: " + ", ".join(
                f"{what} x{n}" if n > 1 else what for what, n in sorted(self.events.items())
            )
        if now >= self.next_periodic:
            return "schedule"
        return None

    def next_due(self) -> tuple[float, str] | None:
        """When the next cycle will start by itself, and why; None while paused or running."""
        if self.manual:
            return (self.now if not self.running else math.inf, "evaluate-now")
        if self.paused:
            return None
        candidates = [(self.next_periodic, "schedule")]
        event_at = self._event_due_at()
        if event_at is not None:
            candidates.append((event_at, "node events"))
        return min(candidates)

    def next_wakeup(self) -> float:
        """The time the driver should look again (infinity: only an input can change it)."""
        if self.running:
            return math.inf
        nxt = self.next_due()
        return math.inf if nxt is None else nxt[0]

    # ------------------------------------------------------------------ transitions
    def start(self, now: float) -> CycleStart:
        trigger = self.due(now)
        if trigger is None:
            raise RuntimeError("no cycle is due" if not self.running else "a cycle is running")
        self.running = True
        self.manual = False
        self.first_event_at = self.last_event_at = None
        self.events.clear()
        if now >= self.next_periodic:
            # this cycle (whatever asked for it) is the period's: the next one is counted from
            # when this one was due, so a late start does not shift the schedule and missed
            # periods are not run twice; a cycle before it is due leaves the period alone
            interval = self.settings.interval_s
            steps = max(1, math.ceil((now - self.next_periodic) / interval))
            self.next_periodic += interval * steps
            if self.next_periodic <= now:
                self.next_periodic += interval
        if trigger.startswith("node events"):
            self.last_event_cycle_at = now
        self.cycles_started += 1
        self.now = now
        return CycleStart(trigger=trigger, started_at=now)

    def finish(self, now: float) -> None:
        if not self.running:
            raise RuntimeError("no cycle is running")
        self.running = False
        self.now = now
