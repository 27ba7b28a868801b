"""The backtest's baselines follow their rules, and every decision they make passes the gates."""

from __future__ import annotations

import pytest
from builders import DAY, NOW, snapshot
from hypothesis import given, settings
from hypothesis import strategies as st

from mcp_optimizer.backtest.harness import RunResult
from mcp_optimizer.backtest.plan import Plan, oracle_fees, resolve
from mcp_optimizer.backtest.strategies import (
    ChannelFlow,
    Flow,
    MarketView,
    Proportional,
    StrategyError,
    check_name,
    flow_target,
    make,
    toward,
)
from mcp_optimizer.messages import DecisionKind, LastChangeAt
from mcp_optimizer.policies.config import load_policy
from mcp_optimizer.safety.gates import check_bounds, check_min_change, check_step

POLICY = load_policy(None, {})
CAP_MSAT = 5_000_000_000


def snap(fee: int = 500, local: int = 2_500_000, last_change_ago: int | None = None):
    kw = {}
    if last_change_ago is not None:
        kw["last_change"] = LastChangeAt(at_s=NOW - last_change_ago)
    s = snapshot(**kw)
    c = s.channel
    import msgspec

    pol = msgspec.structs.replace(c.our_policy, fee_rate_ppm=fee)
    ch = msgspec.structs.replace(c, our_policy=pol, local_balance_sat=local,
                                 remote_balance_sat=c.capacity_sat - local)
    return msgspec.structs.replace(s, channel=ch)


# --- flow: LNDg's auto-fees rules -------------------------------------------------------------

def test_flow_low_liquidity_raises_25_only_after_25_failures_without_inbound_flow():
    assert flow_target(500, 0.10, CAP_MSAT, ChannelFlow(ib_failures_1d=25))[0] == 525
    assert flow_target(500, 0.15, CAP_MSAT, ChannelFlow(ib_failures_1d=40))[0] == 525
    assert flow_target(500, 0.10, CAP_MSAT, ChannelFlow(ib_failures_1d=24))[0] is None
    inbound = ChannelFlow(ib_failures_1d=99, in_1d_msat=1)
    assert flow_target(500, 0.10, CAP_MSAT, inbound)[0] is None


def test_flow_excess_lowers_25_without_flow_and_mid_range_rules():
    assert flow_target(500, 0.95, CAP_MSAT, ChannelFlow())[0] == 475
    assert flow_target(500, 0.97, CAP_MSAT, ChannelFlow(out_7d_msat=1))[0] is None
    assert flow_target(500, 0.5, CAP_MSAT, ChannelFlow())[0] == 485  # 7 days idle: -15
    assert flow_target(500, 0.5, CAP_MSAT, ChannelFlow(in_7d_msat=5))[0] is None
    # 7-day net outflow 2 x capacity: +10 x (1 + 2) = +30
    two = ChannelFlow(out_7d_msat=3 * CAP_MSAT, in_7d_msat=CAP_MSAT)
    assert flow_target(500, 0.5, CAP_MSAT, two)[0] == 530
    # net 1.26: +22.6 -> 522.6, rounded to 5 -> 525
    odd = ChannelFlow(out_7d_msat=int(1.26 * CAP_MSAT))
    assert flow_target(500, 0.5, CAP_MSAT, odd)[0] == 525
    assert flow_target(1000, 0.5, CAP_MSAT, ChannelFlow(out_7d_msat=1))[0] is None


def test_flow_rounds_to_5_and_clips_to_0_2500():
    assert flow_target(12, 0.99, CAP_MSAT, ChannelFlow())[0] == 0
    assert flow_target(2490, 0.05, CAP_MSAT, ChannelFlow(ib_failures_1d=30))[0] == 2500
    assert flow_target(503, 0.5, CAP_MSAT, ChannelFlow())[0] == 490  # 488 -> 490


def test_flow_changes_a_channel_at_most_once_per_24h():
    f = Flow()
    f.prepare(MarketView(now_s=NOW, flows={}))  # no flow: the idle rules fire
    s = snap(local=4_900_000)  # 98% outbound
    assert f(s, POLICY).kind is DecisionKind.LOWER_FEES
    recent = snap(local=4_900_000, last_change_ago=DAY - 1)
    assert f(recent, POLICY).kind is DecisionKind.NO_ACTION
    assert f(snap(local=4_900_000, last_change_ago=DAY), POLICY).kind is DecisionKind.LOWER_FEES


# --- proportional: charge-lnd ------------------------------------------------------------------

def test_proportional_follows_its_formula_and_minimum_delta():
    p = Proportional(10, 1000)
    s = snap(fee=100, local=1_000_000)  # 20% outbound: 10 + 0.8 x 990 = 802
    assert p.target(s) == pytest.approx(802.0)
    d = p(s, POLICY)
    assert d.proposed_policy.fee_rate_ppm == 100 + POLICY.steps.max_fee_rate_step_ppm
    assert p(snap(fee=795, local=1_000_000), POLICY).kind is DecisionKind.NO_ACTION  # 7 < 10
    assert p(snap(fee=790, local=1_000_000), POLICY).proposed_policy.fee_rate_ppm == 802


# --- every baseline decision passes the gates ----------------------------------------------------

@settings(max_examples=200, deadline=None)
@given(fee=st.integers(1, 2500), target=st.floats(-100, 10_000, allow_nan=False))
def test_toward_proposes_only_what_the_gates_accept(fee, target):
    d = toward(snap(fee=fee), POLICY, target, "t", "test")
    if d.kind is DecisionKind.NO_ACTION:
        assert d.proposed_policy == d.current_policy
        return
    new, old = d.proposed_policy, d.current_policy
    assert not check_bounds(new, POLICY)
    assert not check_step(old, new, POLICY)
    assert not check_min_change(old, new, POLICY)
    want = min(max(round(target), POLICY.bounds.min_fee_rate_ppm), POLICY.bounds.max_fee_rate_ppm)
    assert abs(want - new.fee_rate_ppm) < abs(want - old.fee_rate_ppm)  # always toward


def test_toward_respects_the_cooldown():
    d = toward(snap(fee=100, last_change_ago=3600), POLICY, 500, "t", "test")
    assert d.kind is DecisionKind.NO_ACTION and "cooldown" in d.reasons[0]


def test_static_and_competitor_targets():
    s = snap(fee=100)
    assert make("static:200")(s, POLICY).proposed_policy.fee_rate_ppm == 200
    comp = make("competitor:3")
    comp.prepare(MarketView(now_s=NOW, competitor_median_ppm={s.channel.chan_id: 50}))
    assert comp(s, POLICY).proposed_policy.fee_rate_ppm == 150
    comp.prepare(MarketView(now_s=NOW))
    assert comp(s, POLICY).kind is DecisionKind.NO_ACTION
    assert make("keep")(s, POLICY).kind is DecisionKind.NO_ACTION


@pytest.mark.parametrize("bad", ["static:", "static:abc", "static:1.5", "competitor:-1",
                                 "proportional:5", "proportional:9:3", "nope", "competitor:inf"])
def test_bad_strategy_names_are_refused_with_their_name(bad):
    with pytest.raises(StrategyError, match="strategy"):
        check_name(bad)


def test_names_are_normalised():
    assert check_name("competitor:2.0") == "competitor:2"
    assert check_name("proportional:10:1000") == "proportional"
    assert check_name("static:100.0") == "static:100"


# --- the oracle and the grids ---------------------------------------------------------------------

def _run(label: str, seed: int, revenue: dict[int, int], fees: dict[int, int]) -> RunResult:
    return RunResult(
        label=label, strategy=label, seed=seed, scenario="x", days=1.0, channels=len(fees),
        revenue_msat=sum(revenue.values()), forwards=0, failed_by_cause={}, updates=0,
        updates_per_channel_day=0.0, max_updates_channel_day=0, depleted_share=0.0,
        held_by_gate={}, refused_by_gate={}, violations={}, checks={}, check_detail=[],
        cycles=4, cycle_outcomes={}, wall_s=0.0, channel_revenue_msat=revenue, final_fees=fees,
    )


def test_oracle_takes_each_channels_fee_from_the_run_where_it_earned_most():
    a = _run("static:100", 1, {1: 10, 2: 50}, {1: 100, 2: 100})
    b = _run("static:500", 1, {1: 30, 2: 20}, {1: 500, 2: 500})
    assert oracle_fees([a, b]) == {1: 500, 2: 100}


def test_a_grid_stands_for_its_best_run_per_seed():
    plan = Plan(scenario="x", seeds=(1, 2), days=1.0, strategies=("best-static",),
                static_grid=(100, 500))
    runs = [_run("static:100", 1, {1: 10}, {1: 100}), _run("static:500", 1, {1: 30}, {1: 500}),
            _run("static:100", 2, {1: 40}, {1: 100}), _run("static:500", 2, {1: 5}, {1: 500})]
    out = resolve(plan, runs)
    assert out.chosen["best-static"] == {1: "static:500", 2: "static:100"}
    assert out.by_strategy["best-static"][2].revenue_msat == 40


def test_runs_measured_before_are_reused_and_only_the_missing_ones_run():
    import msgspec

    from mcp_optimizer.backtest.plan import execute

    plan = Plan(scenario="x", seeds=(1, 2), days=1.0, strategies=("keep", "oracle"),
                static_grid=(), competitor_grid=(1.0,))
    ran: list[tuple[int, str]] = []

    def fake(spec):
        ran.append((spec.seed, spec.label))
        fee = (spec.fixed_fees or {}).get(1, 100 if spec.label == "keep" else 200)
        return _run(spec.label, spec.seed, {1: fee * spec.seed}, {1: fee})

    first = execute(plan, workers=1, progress=False, run=fake)
    assert sorted(ran) == [(1, "competitor:1"), (1, "keep"), (1, "oracle"),
                           (2, "competitor:1"), (2, "keep"), (2, "oracle")]
    # seed 1 kept (through JSON, as the benchmark keeps it), seed 2 only half measured
    kept = [msgspec.json.decode(msgspec.json.encode(r), type=RunResult) for r in first.runs
            if r.seed == 1 or r.label == "keep"]
    ran.clear()
    again = execute(plan, workers=1, progress=False, run=fake, done=kept)
    assert sorted(ran) == [(2, "competitor:1"), (2, "oracle")]
    assert [(r.seed, r.label, r.revenue_msat) for r in again.runs] == [
        (r.seed, r.label, r.revenue_msat) for r in first.runs
    ]
    # a run of another length or scenario is not taken for this plan's
    import dataclasses

    ran.clear()
    execute(plan, workers=1, progress=False, run=fake,
            done=[dataclasses.replace(kept[0], days=2.0),
                  dataclasses.replace(kept[1], scenario="y")])
    assert len(ran) == 6


def test_backtest_channels_reads_kept_runs_and_names_where_the_autopilot_lost(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    import msgspec

    def kept(label, revenue, path):
        r = _run(label, 7, revenue, {1: path[-1], 2: 50})
        r.chan_ids = [1, 2]
        r.fee_paths = [[f, 50] for f in path]
        r.competitor_paths = [[100, -1]] * len(path)
        r.days = 1.0
        (tmp_path / f"demo--1d-7-{label.replace(':', '_')}.json").write_bytes(
            msgspec.json.encode(r))

    kept("autopilot", {1: 5, 2: 30}, [100, 100, 80, 64])
    kept("competitor:1", {1: 20, 2: 10}, [100, 100, 100, 100])
    kept("keep", {1: 15, 2: 15}, [120, 120, 120, 120])
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, str(root / "benchmarks/backtest_channels.py"),
                          str(tmp_path), "demo", "--worst", "1"],
                         capture_output=True, text=True, check=True).stdout
    assert "autopilot 1.167x" in out  # 35 against keep's 30
    assert "loses -0.0 M msat against competitor:1 on 1:" in out
    assert "autopilot    0.0:100/100 0.5:80/100 0.8:64/100" in out
    assert "gains +0.0 M msat against competitor:1 on 2:" in out
    missing = subprocess.run([sys.executable, str(root / "benchmarks/backtest_channels.py"),
                              str(tmp_path), "elastic"], capture_output=True, text=True)
    assert missing.returncode == 2 and "no kept runs of 'elastic'" in missing.stderr
