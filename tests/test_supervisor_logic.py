"""The supervisor's pure decisions: restart types, intensity window, strategies."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mcp_optimizer.supervisor import (
    Action,
    ChildSpec,
    Exit,
    Intensity,
    Restart,
    RestartWindow,
    Strategy,
    decide,
)

CHILDREN = ("lnd", "ingestion", "decider", "actuator")


def _decide(window, now, *, restart=Restart.PERMANENT, exit=Exit.CRASHED, child="decider",
            strategy=Strategy.ONE_FOR_ONE):
    return decide(child=child, restart=restart, exit=exit, window=window, now=now,
                  strategy=strategy, children=CHILDREN)


def test_permanent_child_is_restarted_alone_under_one_for_one():
    v = _decide(RestartWindow(Intensity(3, 10)), 0.0)
    assert v.action is Action.RESTART
    assert v.restart_names == ("decider",)
    assert "decider crashed" in v.reason


def test_one_for_all_restarts_every_child_in_start_order():
    v = _decide(RestartWindow(Intensity(3, 10)), 0.0, strategy=Strategy.ONE_FOR_ALL)
    assert v.action is Action.RESTART
    assert v.restart_names == CHILDREN


def test_temporary_child_is_never_restarted():
    window = RestartWindow(Intensity(3, 10))
    v = _decide(window, 0.0, restart=Restart.TEMPORARY)
    assert v.action is Action.LEAVE
    assert window.count(0.0) == 0


def test_transient_child_restarted_on_crash_but_not_on_normal_stop():
    v = _decide(RestartWindow(Intensity()), 0, restart=Restart.TRANSIENT)
    assert v.action is Action.RESTART
    v = _decide(RestartWindow(Intensity()), 0, restart=Restart.TRANSIENT, exit=Exit.STOPPED)
    assert v.action is Action.LEAVE


def test_permanent_child_restarted_even_after_normal_stop():
    v = _decide(RestartWindow(Intensity()), 0, exit=Exit.STOPPED)
    assert v.action is Action.RESTART


def test_intensity_exceeded_escalates_and_window_slides():
    window = RestartWindow(Intensity(max_restarts=2, period_s=10))
    assert _decide(window, 0.0).action is Action.RESTART
    assert _decide(window, 1.0).action is Action.RESTART
    v = _decide(window, 2.0)
    assert v.action is Action.ESCALATE
    assert "more than 2 times within 10 s" in v.reason
    # 10 s after the first restart it has left the window: one more is allowed.
    assert _decide(window, 10.5).action is Action.RESTART


def test_zero_intensity_escalates_at_first_exit():
    assert _decide(RestartWindow(Intensity(0, 5)), 0.0).action is Action.ESCALATE


@given(st.lists(st.floats(min_value=0, max_value=1000, allow_nan=False), max_size=40),
       st.integers(min_value=0, max_value=5), st.floats(min_value=0.5, max_value=60))
def test_never_more_than_max_restarts_inside_any_window(gaps, max_restarts, period):
    window = RestartWindow(Intensity(max_restarts, period))
    now, restarts = 0.0, []
    for gap in gaps:
        now += gap
        if _decide(window, now).action is Action.RESTART:
            restarts.append(now)
    for t in restarts:
        inside = [r for r in restarts if t - period < r <= t]
        assert len(inside) <= max_restarts


def test_bad_specs_are_refused_with_a_clear_error():
    with pytest.raises(ValueError, match="max_restarts must be 0 or more"):
        Intensity(-1, 5)
    with pytest.raises(ValueError, match="period_s must be more than 0"):
        Intensity(1, 0)
    with pytest.raises(ValueError, match="child name must be a simple identifier"):
        ChildSpec(name="bad name", factory=lambda ctx: None)
