"""Scheduling: periodic cycles, debounced node events, no overlap; driven by explicit times
(pure logic) and by trio's MockClock (the driver), never by real sleeping."""

from __future__ import annotations

import dataclasses
import math
import random

import pytest
import trio
import trio.testing

from mcp_optimizer.runtime.schedule import Scheduler, ScheduleSettings
from mcp_optimizer.runtime.scheduler import CycleDriver

S = ScheduleSettings(interval_s=6 * 3600, debounce_s=30, max_delay_s=300,
                     failure_burst_count=5, failure_burst_window_s=60)


def test_first_cycle_at_start_then_every_interval():
    s = Scheduler(S, 0.0)
    assert s.due(0.0) == "schedule"
    s.start(0.0)
    assert s.due(1.0) is None  # running
    s.finish(120.0)
    assert s.due(6 * 3600 - 1) is None
    assert s.next_due() == (6 * 3600, "schedule")
    assert s.due(6 * 3600) == "schedule"


def test_no_cycle_at_start_when_disabled():
    s = Scheduler(ScheduleSettings(run_at_start=False), 100.0)
    assert s.due(100.0) is None
    assert s.next_wakeup() == 100.0 + 6 * 3600


def test_storm_of_events_gives_one_cycle_after_quiet():
    s = Scheduler(S, 0.0)
    s.start(0.0)
    s.finish(1.0)
    for t in range(100, 120):  # 20 events, one per second
        s.on_event("channel inactive", float(t))
        assert s.due(float(t)) is None
    assert s.due(119 + 29.9) is None
    assert s.due(119 + 30) == "node events: channel inactive x20"
    s.start(149.0)
    s.finish(150.0)
    assert s.due(200.0) is None  # the storm was consumed by that one cycle


def test_endless_storm_still_gives_a_cycle_after_max_delay():
    s = Scheduler(dataclasses.replace(S, event_min_interval_s=0), 0.0)
    s.start(0.0)
    s.finish(1.0)
    cycles = 0
    t = 10.0
    while t <= 1800:  # an event every 10 s for 30 minutes never quiets 30 s
        s.on_event("channel closed", t)
        if s.due(t):
            s.start(t)
            s.finish(t)
            cycles += 1
        t += 10
    assert cycles == 5  # one per max_delay_s (+1 event period), not one per event (180)


def test_endless_storm_gives_one_event_cycle_per_min_interval():
    s = Scheduler(S, 0.0)  # event_min_interval_s 1800 (the default)
    s.start(0.0)
    s.finish(1.0)
    started = []
    t = 10.0
    while t <= 7200:  # an event every 10 s for two hours
        s.on_event("channel closed", t)
        if s.due(t):
            s.start(t)
            s.finish(t)
            started.append(t)
        t += 10
    assert started == [310.0, 2110.0, 3910.0, 5710.0]  # max_delay, then one per 1800 s


def test_flapping_peers_for_30_days_keep_the_6_hour_schedule():
    """A peer flapping every few minutes to hours for 30 simulated days (the new operator saw
    ~340 of 357 cycles triggered by events, and each pushed the 6-hourly cycle back)."""
    rng = random.Random(7)
    s = Scheduler(S, 0.0)
    triggers: list[tuple[float, str]] = []
    t, end = 0.0, 30 * 86400.0
    next_event = rng.expovariate(1 / 900)
    while t <= end:
        if t >= next_event:
            s.on_event("channel inactive", t)
            next_event = t + rng.expovariate(1 / 900)  # every 15 minutes on average
        trigger = s.due(t)
        if trigger:
            s.start(t)
            s.finish(t + 30)
            triggers.append((t, trigger))
        t += 10
    periodic = [at for at, why in triggers if why == "schedule"]
    events = [at for at, why in triggers if why.startswith("node events")]
    # the scheduled cycles keep their period: at 0, 6 h, 12 h, ... none pushed back (a period
    # may be served by an event cycle that starts when it is due)
    assert all(at % (6 * 3600) == 0 for at in periodic)
    assert len(periodic) >= 115
    # and at most one event cycle per 30 minutes
    assert all(b - a >= 1800 for a, b in zip(events, events[1:], strict=False))
    assert len(events) <= end / 1800 + 1


def test_events_during_a_cycle_give_exactly_one_follow_up():
    s = Scheduler(S, 0.0)
    s.start(0.0)
    for t in range(1, 50):
        s.on_event("channel opened", float(t))
        assert s.due(float(t)) is None  # never overlap
    s.finish(60.0)
    assert s.due(78.0) is None
    assert s.due(79.0) == "node events: channel opened x49"  # 30 s after the last one
    s.start(79.0)
    s.finish(80.0)
    assert s.due(1000.0) is None


def test_forwarding_failure_burst_triggers_once_per_window():
    s = Scheduler(S, 0.0)
    s.start(0.0)
    s.finish(0.0)
    fired = [s.on_forward_failure(100.0 + i) for i in range(12)]
    assert fired == [False] * 4 + [True] + [False] * 7
    assert "burst of 5 forwarding failures within 60 s" in s.due(200.0)
    # failures spread out never make a burst
    s2 = Scheduler(S, 0.0)
    assert not any(s2.on_forward_failure(t * 20.0) for t in range(50))


def test_pause_stops_automatic_cycles_but_not_evaluate_now():
    s = Scheduler(S, 0.0)
    s.set_paused(True)
    assert s.due(0.0) is None
    assert s.next_due() is None
    s.on_event("channel closed", 1.0)
    assert s.due(1000.0) is None
    s.request_now()
    assert s.due(1000.0) == "evaluate-now"
    s.start(1000.0)
    assert s.due(1000.0) is None
    s.finish(1001.0)
    s.set_paused(False)
    assert s.due(1001.0) is None  # the manual cycle consumed the pending events
    assert s.due(1000.0 + 6 * 3600) == "schedule"


def test_start_when_nothing_due_is_an_error():
    s = Scheduler(ScheduleSettings(run_at_start=False), 0.0)
    with pytest.raises(RuntimeError, match="no cycle is due"):
        s.start(1.0)
    with pytest.raises(RuntimeError, match="no cycle is running"):
        s.finish(1.0)


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="interval_s must be more than 0"):
        ScheduleSettings(interval_s=0)
    with pytest.raises(ValueError, match="failure_burst_count must be 1 or more"):
        ScheduleSettings(failure_burst_count=0)


# ------------------------------------------------------------------------ the trio driver
def _driver(cycle_s: float):
    log: list[tuple[float, float, str]] = []
    active = [0]

    async def run_cycle(start):
        active[0] += 1
        assert active[0] == 1, "cycles overlap"
        t0 = trio.current_time()
        await trio.sleep(cycle_s)
        log.append((t0, trio.current_time(), start.trigger))
        active[0] -= 1

    return CycleDriver(S, run_cycle), log


def test_driver_runs_periodic_cycles_on_a_mock_clock():
    clock = trio.testing.MockClock(autojump_threshold=0)

    async def main():
        driver, log = _driver(cycle_s=60)
        async with trio.open_nursery() as nursery:
            await nursery.start(driver.run)
            await trio.sleep(3 * 6 * 3600 + 61)
            nursery.cancel_scope.cancel()
        return log

    log = trio.run(main, clock=clock)
    assert [round(start) for start, _, _ in log] == [0, 6 * 3600, 12 * 3600, 18 * 3600]
    assert {t for _, _, t in log} == {"schedule"}


def test_driver_storm_during_cycle_no_overlap_one_follow_up_and_evaluate_now():
    clock = trio.testing.MockClock(autojump_threshold=0)

    async def main():
        driver, log = _driver(cycle_s=120)
        async with trio.open_nursery() as nursery:
            await nursery.start(driver.run)  # first cycle runs 0..120
            for _ in range(200):  # a storm of events while it runs
                await trio.sleep(0.5)
                driver.on_event("channel inactive")
            await trio.sleep(600)
            assert len(log) == 2
            done = driver.request_now()
            with trio.fail_after(1000):
                await done.wait()
            assert driver.next_due_in()[1] == "schedule"
            nursery.cancel_scope.cancel()
        return log

    log = trio.run(main, clock=clock)
    assert [t for _, _, t in log] == [
        "schedule", "node events: channel inactive x200", "evaluate-now"
    ]
    # the follow-up started only after the first finished and after 30 s of quiet
    assert log[1][0] >= log[0][1]
    assert math.isclose(log[1][0], 100 + 30, abs_tol=1)
