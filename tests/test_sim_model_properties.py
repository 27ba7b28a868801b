"""Invariants of the market model over random small scenarios (hypothesis)."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mcp_optimizer.simulator.model import SimHtlcEvent, SimulatedNode
from mcp_optimizer.simulator.profiles import PROFILES
from mcp_optimizer.simulator.scenario import parse_scenario

groups = st.lists(
    st.tuples(st.sampled_from(sorted(PROFILES)), st.integers(1, 4)), min_size=1, max_size=5
)


def scenario_text(
    seed: int, gs: list[tuple[str, int]], days: int, elasticity: float, extra: str = ""
) -> str:
    lines = [
        f"seed: {seed}",
        "start: 2026-02-03T00:00:00Z",
        f"history_days: {days}",
        "graph: {source: synthetic, nodes: 150}",
        f"market: {{elasticity: {elasticity}, step_s: 600{extra}}}",
        "groups:",
    ]
    for profile, count in gs:
        lines += [f"  - profile: {profile}", f"    count: {count}"]
    return "\n".join(lines) + "\n"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32),
    gs=groups,
    days=st.integers(0, 3),
    elasticity=st.sampled_from([0.0, 1.0, 2.5]),
    advance=st.integers(0, 2 * 86_400),
)
def test_market_invariants(
    seed: int, gs: list[tuple[str, int]], days: int, elasticity: float, advance: int
) -> None:
    sc = parse_scenario(scenario_text(seed, gs, days, elasticity), name="p", base_dir=".")
    node = SimulatedNode.from_config(sc)
    before = {c.chan_id: c for c in node.channels()}
    events: list = []
    node.subscribe(events.append)
    t0 = node.now_s()
    node.advance(advance)
    assert node.now_s() == t0 + advance
    after = {c.chan_id: c for c in node.channels()}
    cols = node.forwards(t0, node.now_s()).columns
    assert np.all(np.diff(cols.timestamp_ns) >= 0)
    assert np.all(cols.amt_in_msat == cols.amt_out_msat + cols.fee_msat)
    assert np.all(cols.fee_msat >= 0) and np.all(cols.amt_out_msat > 0)
    assert np.all(cols.chan_id_in != cols.chan_id_out)
    for cid, c in after.items():
        assert c.local_balance_sat >= 0 and c.remote_balance_sat >= 0
        assert c.capacity_sat - 1 <= c.local_balance_sat + c.remote_balance_sat <= c.capacity_sat
        moved = int(cols.amt_in_msat[cols.chan_id_in == cid].sum()) - int(
            cols.amt_out_msat[cols.chan_id_out == cid].sum()
        )
        assert abs((c.local_balance_sat - before[cid].local_balance_sat) * 1000 - moved) < 1000
        assert 0 <= c.uptime_s <= c.lifetime_s
    kinds = Counter(e.kind for e in events)
    assert kinds["forward"] == kinds["settle"] == len(cols)
    assert kinds["link_fail"] == len(node.htlc_failures(t0, node.now_s()))
    assert all(
        e.failure_detail == "INSUFFICIENT_BALANCE"
        for e in events
        if isinstance(e, SimHtlcEvent) and e.kind == "link_fail"
    )


markets = st.sampled_from(
    [
        "",
        ", failure_share: 0.5, failure_half_life_s: 60",
        ", competitor_react_share: 1, competitor_react_days: 0.1, max_competitors: 1",
        ", competitor_drift_share: 1, competitor_drift_days: 0.1, regime_days: 0.2",
        ", sender_memory: 1, memory_days: 0.01, gossip_delay_s: 7200, amount_sigma: 0",
        ", seasonality_weekly: 0.9, seasonality_daily: 0.9, regime_sigma: 3",
    ]
)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32),
    gs=groups,
    elasticity=st.sampled_from([0.0, 0.5, 4.0]),
    extra=markets,
    factor=st.sampled_from([0.0, 0.5, 3.0, 40.0]),
    advances=st.lists(st.integers(1, 8 * 3600), min_size=1, max_size=4),
)
def test_fee_changes_keep_the_market_consistent(
    seed: int,
    gs: list[tuple[str, int]],
    elasticity: float,
    extra: str,
    factor: float,
    advances: list[int],
) -> None:
    """Fee changes between windows of any length, in any market: balances conserved, fees as
    the policy says (or a stale sender's old, higher one), FEE_INSUFFICIENT only on a channel
    whose fee was raised, the same run twice from the same seed."""

    def run() -> tuple:
        sc = parse_scenario(scenario_text(seed, gs, 1, elasticity, extra), name="p", base_dir=".")
        node = SimulatedNode.from_config(sc)
        chans = node.channels()
        raised: set[int] = set()
        t0 = node.now_s()
        before = {c.chan_id: c for c in chans}
        for k, secs in enumerate(advances):
            c = chans[k % len(chans)]
            p = node.channel(c.channel_point).local_policy
            new = int(p.fee_rate_ppm * factor) + (k % 2)
            if new > p.fee_rate_ppm:
                raised.add(c.chan_id)
            node.set_local_policy(c.channel_point, replace(p, fee_rate_ppm=new))
            node.advance(secs)
        cols = node.forwards(t0, node.now_s()).columns
        fails = node.htlc_failures(t0, node.now_s())
        for f in fails:
            assert f.kind == "link_fail"
            if f.wire_failure == "FEE_INSUFFICIENT":
                assert f.failure_detail == "NO_DETAIL" and f.outgoing_chan_id in raised
            else:
                assert (f.wire_failure, f.failure_detail) == (
                    "TEMPORARY_CHANNEL_FAILURE",
                    "INSUFFICIENT_BALANCE",
                )
        assert np.all(cols.amt_in_msat == cols.amt_out_msat + cols.fee_msat)
        assert np.all(cols.fee_msat >= 0)
        for cid, c in {c.chan_id: c for c in node.channels()}.items():
            assert c.capacity_sat - 1 <= c.local_balance_sat + c.remote_balance_sat
            assert c.local_balance_sat + c.remote_balance_sat <= c.capacity_sat
            moved = int(cols.amt_in_msat[cols.chan_id_in == cid].sum()) - int(
                cols.amt_out_msat[cols.chan_id_out == cid].sum()
            )
            assert abs((c.local_balance_sat - before[cid].local_balance_sat) * 1000 - moved) < 1000
        truth = node.market_truth()
        assert np.all((truth.avoided_share >= 0) & (truth.avoided_share <= 1))
        assert np.all(truth.remember_us_share >= 0) and np.all(truth.pool_per_day >= 0)
        for c in chans[:2]:
            curve = node.revenue_curve(c.channel_point, [0, 100, 10_000])
            assert np.all(np.isfinite(curve["revenue_msat_per_day"]))
        return cols.fee_msat.tobytes(), [(f.timestamp_ns, f.wire_failure) for f in fails]

    assert run() == run()
