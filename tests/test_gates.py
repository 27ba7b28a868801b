"""The pure gates, one by one, and together."""

from __future__ import annotations

from builders import policy as chan_policy
from hypothesis import given
from hypothesis import strategies as st

from mcp_optimizer.messages import Gate, GateEffect, Mode, PauseState
from mcp_optimizer.policies.config import load_policy
from mcp_optimizer.safety import gates
from mcp_optimizer.safety.gates import Limits, Timing

POLICY = load_policy(environ={})  # bounds 0..5000 msat, 1..2500 ppm; step 250; min 5; 1 day
LIMITS = Limits(max_changes_per_hour=2, max_changes_per_day=5)
NOW = 1_790_000_000
QUIET = Timing(NOW, 0, 0, False, 0, 0)
RUNNING = PauseState(paused=False, sources=[], reason="")


def names(stops):
    return [(s.gate, s.effect) for s in stops]


def test_bounds():
    assert gates.check_bounds(chan_policy(fee_rate_ppm=2500), POLICY) == []
    [stop] = gates.check_bounds(chan_policy(fee_rate_ppm=2501), POLICY)
    assert (stop.gate, stop.effect) == (Gate.FEE_BOUNDS, GateEffect.REFUSE)
    assert "fee_rate_ppm 2501" in stop.reason and "[1, 2500]" in stop.reason
    assert names(gates.check_bounds(chan_policy(inbound_fee_rate_ppm=5), POLICY)) == [
        (Gate.FEE_BOUNDS, GateEffect.REFUSE)
    ]
    assert len(gates.check_bounds(chan_policy(base_fee_msat=-1, fee_rate_ppm=0), POLICY)) == 2


def test_largest_step():
    old = chan_policy(fee_rate_ppm=500)
    assert gates.check_step(old, chan_policy(fee_rate_ppm=750), POLICY) == []
    [stop] = gates.check_step(old, chan_policy(fee_rate_ppm=751), POLICY)
    assert stop.gate is Gate.MAX_STEP and "+251" in stop.reason
    [stop] = gates.check_step(old, chan_policy(fee_rate_ppm=500, base_fee_msat=2001), POLICY)
    assert "base_fee_msat" in stop.reason


def test_minimum_change():
    old = chan_policy(fee_rate_ppm=500)
    assert names(gates.check_min_change(old, old, POLICY)) == [
        (Gate.MIN_CHANGE, GateEffect.REFUSE)
    ]
    assert "equals" in gates.check_min_change(old, old, POLICY)[0].reason
    assert names(gates.check_min_change(old, chan_policy(fee_rate_ppm=504), POLICY)) == [
        (Gate.MIN_CHANGE, GateEffect.REFUSE)
    ]
    assert gates.check_min_change(old, chan_policy(fee_rate_ppm=505), POLICY) == []
    # a small rate move together with a base fee change is worth sending
    assert gates.check_min_change(old, chan_policy(fee_rate_ppm=501, base_fee_msat=0), POLICY) == []


def test_cooldown_and_caps_hold():
    recent = Timing(NOW, NOW - 3600, 12, True, 0, 0)
    [stop] = gates.check_timing(recent, POLICY, LIMITS)
    assert (stop.gate, stop.effect) == (Gate.COOLDOWN, GateEffect.HOLD)
    assert "external change" in stop.reason and "12" in stop.reason
    old_enough = Timing(NOW, NOW - 86400, 12, False, 0, 0)
    assert gates.check_timing(old_enough, POLICY, LIMITS) == []
    busy = Timing(NOW, 0, 0, False, 2, 5)
    assert names(gates.check_timing(busy, POLICY, LIMITS)) == [
        (Gate.HOURLY_CAP, GateEffect.HOLD),
        (Gate.DAILY_CAP, GateEffect.HOLD),
    ]


def test_pause_and_breaker_hold_live_writes_only():
    paused = PauseState(paused=True, sources=["file /x/PAUSED"], reason="")
    assert names(gates.check_switches(Mode.LIVE, paused, 1)) == [
        (Gate.PAUSED, GateEffect.HOLD),
        (Gate.CIRCUIT_BREAKER, GateEffect.HOLD),
    ]
    assert "file /x/PAUSED" in gates.check_switches(Mode.LIVE, paused, 0)[0].reason
    assert gates.check_switches(Mode.SHADOW, paused, 3) == []
    assert gates.check_switches(Mode.DRY_RUN, paused, 3) == []
    assert gates.check_rollback(paused)[0].gate is Gate.PAUSED
    assert gates.check_rollback(RUNNING) == []


def test_close_is_refused_disabled_or_not():
    assert gates.check_close(POLICY)[0].gate is Gate.CLOSE_DISABLED
    enabled = load_policy(environ={"MCP_POLICY__CLOSE__EXECUTE": "true"})
    assert gates.check_close(enabled, closes_last_day=0, active=True) == []
    [stop] = gates.check_close(enabled, closes_last_day=1, active=True)
    assert stop.gate is Gate.CLOSE_CAP and "close.max_per_day" in stop.reason
    [stop] = gates.check_close(enabled, closes_last_day=0, active=False)
    assert stop.gate is Gate.PEER_OFFLINE and "never force-closes" in stop.reason


def test_stale_decision_and_closed_channel():
    assert gates.check_stale(chan_policy(fee_rate_ppm=5), chan_policy(fee_rate_ppm=5)) == []
    assert gates.check_stale(chan_policy(fee_rate_ppm=5), chan_policy(fee_rate_ppm=6))[
        0
    ].gate is Gate.STALE_DECISION
    assert gates.check_channel_open(9, False)[0].gate is Gate.CHANNEL_CLOSED
    assert gates.check_channel_open(9, True) == []


@given(
    old_rate=st.integers(1, 2500),
    new_rate=st.integers(-10, 3000),
    new_base=st.integers(-10, 6000),
)
def test_a_change_that_passes_every_gate_respects_every_limit(old_rate, new_rate, new_base):
    old = chan_policy(fee_rate_ppm=old_rate, base_fee_msat=1000)
    new = chan_policy(fee_rate_ppm=new_rate, base_fee_msat=new_base)
    stops = gates.check_service_change(
        old=old, new=new, decided_on=old, policy=POLICY, limits=LIMITS, timing=QUIET,
        mode=Mode.LIVE, pause=RUNNING, open_crashes=0,
    )
    within = (
        1 <= new_rate <= 2500
        and 0 <= new_base <= 5000
        and abs(new_rate - old_rate) <= 250
        and abs(new_base - 1000) <= 1000
        and (new_base != 1000 or abs(new_rate - old_rate) >= 5)
    )
    assert (stops == []) == within
    assert all(s.effect is GateEffect.REFUSE for s in stops)
