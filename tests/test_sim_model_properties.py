"""Invariants of the market model over random small scenarios (hypothesis)."""

from __future__ import annotations

from collections import Counter

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mcp_optimizer.simulator.model import SimHtlcEvent, SimulatedNode
from mcp_optimizer.simulator.profiles import PROFILES
from mcp_optimizer.simulator.scenario import parse_scenario

groups = st.lists(
    st.tuples(st.sampled_from(sorted(PROFILES)), st.integers(1, 4)), min_size=1, max_size=5
)


def scenario_text(seed: int, gs: list[tuple[str, int]], days: int, elasticity: float) -> str:
    lines = [
        f"seed: {seed}",
        "start: 2026-02-03T00:00:00Z",
        f"history_days: {days}",
        "graph: {source: synthetic, nodes: 150}",
        f"market: {{elasticity: {elasticity}, step_s: 600}}",
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
