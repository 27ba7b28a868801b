"""The simulator's market: route choice gives each channel a finite revenue-maximising fee.

Measured through the node's public interface (scenario files, policies, forwards, failures,
the served graph). Liquidity is taken out of the way where a test is about price alone
(channels of 10 BTC at half balance), and the demand's drift (seasonality, regimes, competitor
moves) is switched off there, so that only the fee differs between runs.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import replace

import numpy as np
import pytest

from mcp_optimizer.simulator.grpc.servicer import htlc_event_msg
from mcp_optimizer.simulator.model import SimHtlcEvent, SimulatedNode
from mcp_optimizer.simulator.scenario import parse_scenario

DAY = 86_400

STILL = (
    "market: {{regime_days: 10000, seasonality_weekly: 0, seasonality_daily: 0,"
    " competitor_drift_share: 0, competitor_react_share: 0{extra}}}"
)

PRICE_ONLY = """
seed: {seed}
start: 2026-02-03T00:00:00Z
history_days: 0
graph: {{source: synthetic, nodes: 400}}
{market}
groups:
  - profile: star
    count: 1
    capacity_sat: 1000000000
    balance_ratio: 0.5
    fee_ppm: {fee}
  - profile: balanced
    count: 7
    capacity_sat: 1000000000
    balance_ratio: 0.5
    forwards_per_day: 400
    fee_ppm: 100
"""


def price_node(seed: int, fee: int, extra: str = "") -> SimulatedNode:
    text = PRICE_ONLY.format(seed=seed, fee=fee, market=STILL.format(extra=extra))
    return SimulatedNode.from_config(parse_scenario(text, name="price", base_dir="."))


def earned_per_day(seed: int, fee: int, days: int = 6, extra: str = "") -> float:
    """Fee income per day of channel 0 (a star) held at ``fee`` from the start (the senders'
    memory then starts settled at that fee, as after a long time at it)."""
    node = price_node(seed, fee, extra)
    chan = node.channels()[0]
    t0 = node.now_s()
    node.advance(days * DAY)
    cols = node.forwards(t0, node.now_s()).columns
    return int(cols.fee_msat[cols.chan_id_out == chan.chan_id].sum()) / days


def fee_grid(seed: int) -> np.ndarray:
    ref = float(price_node(seed, 100).market_truth().competitor_ref_ppm[0])
    mult = np.array([0.1, 0.3, 0.6, 1.0, 1.5, 2.5, 4.0, 7.0])
    return np.unique(np.rint(mult * max(ref, 20.0))).astype(int)


@pytest.mark.parametrize("seed", [1, 2])
def test_revenue_against_fee_has_an_interior_optimum(seed: int) -> None:
    grid = fee_grid(seed)
    revenue = [earned_per_day(seed, int(f)) for f in grid]
    table = " | ".join(
        f"{f} ppm: {r / 1000:.0f} sat/day" for f, r in zip(grid, revenue, strict=True)
    )
    best = int(np.argmax(revenue))
    assert 0 < best < len(grid) - 1, table
    assert revenue[best] > 1.4 * revenue[0], table  # a cheap fee leaves money on the table
    assert revenue[best] > 2.0 * revenue[-1], table  # a dear one drives the payments away
    # the simulation and the market's own expected curve agree on where the optimum lies
    node = price_node(seed, 100)
    curve = node.revenue_curve(node.channels()[0].channel_point, grid)["revenue_msat_per_day"]
    assert abs(int(np.argmax(curve)) - best) <= 1, (table, curve.round().tolist())


def test_optima_differ_between_channels_and_from_one_multiple_of_the_competitors() -> None:
    """Each channel's best fee follows its own competition: not one number, not one multiple
    of the competitors' median."""
    node = SimulatedNode.from_scenario("demo")
    truth = node.market_truth()
    fees = np.unique(np.rint(np.geomspace(1, 5000, 60))).astype(int)
    best, ratio = [], []
    for j, c in enumerate(node.channels()):
        if c.profile == "inactive":
            continue
        rev = node.revenue_curve(c.channel_point, fees)["revenue_msat_per_day"]
        k = int(np.argmax(rev))
        assert 0 < k < fees.size - 1, c.profile
        best.append(int(fees[k]))
        ratio.append(fees[k] / max(truth.competitor_ref_ppm[j], 1.0))
    assert len(set(best)) >= 8, best
    assert max(best) > 4 * min(best), best
    assert max(ratio) > 3 * min(ratio), ratio


def test_elastic_market_punishes_a_raise_more_than_an_inelastic_one() -> None:
    def drop(elasticity: float) -> float:
        extra = f", elasticity: {elasticity}, elasticity_spread: 0"
        node = price_node(3, 100, extra)
        c = node.channels()[0]
        ref = float(node.market_truth().competitor_ref_ppm[0])
        att = node.revenue_curve(c.channel_point, [ref, 3 * ref])["attempts_per_day"]
        return float(att[1] / att[0])

    assert drop(3.0) < 0.5 * drop(0.3)


def test_raise_fails_stale_senders_with_fee_insufficient_for_a_while() -> None:
    node = price_node(1, 100)
    star = node.channels()[0]
    node.advance(DAY)
    events: list = []
    node.subscribe(events.append)
    t0 = node.now_s()
    node.set_local_policy(
        star.channel_point,
        replace(star.local_policy, fee_rate_ppm=star.local_policy.fee_rate_ppm * 3 + 50),
    )
    node.advance(2 * 3600)

    def fee_fails(t_from: int, t_to: int) -> list[SimHtlcEvent]:
        return [
            f
            for f in node.htlc_failures(t_from, t_to)
            if f.outgoing_chan_id == star.chan_id and f.wire_failure == "FEE_INSUFFICIENT"
        ]

    early = fee_fails(t0, t0 + 2 * 3600)
    assert len(early) >= 3
    assert all(f.failure_detail == "NO_DETAIL" and f.kind == "link_fail" for f in early)
    streamed = [e for e in events if isinstance(e, SimHtlcEvent) and e.kind == "link_fail"]
    assert sum(e.wire_failure == "FEE_INSUFFICIENT" for e in streamed) == len(early)
    # on LND's wire: wire failure FEE_INSUFFICIENT, failure detail NO_DETAIL
    msg = htlc_event_msg(early[0])
    assert msg.link_fail_event.wire_failure == 12  # lnrpc.Failure.FEE_INSUFFICIENT
    assert msg.link_fail_event.failure_detail == 1  # routerrpc.FailureDetail.NO_DETAIL
    # gossip has long spread a day later; a cut never fails anybody
    node.advance(DAY)
    t1 = node.now_s()
    p = node.channel(star.channel_point).local_policy
    node.set_local_policy(star.channel_point, replace(p, fee_rate_ppm=p.fee_rate_ppm // 4))
    node.advance(DAY)
    assert fee_fails(t1 - DAY // 2, node.now_s()) == []
    assert len(fee_fails(t0, node.now_s())) < 4 * len(early)


def test_senders_avoid_a_channel_that_fails() -> None:
    """Drained channels get fewer attempts when senders remember their failures."""
    text = """
seed: 5
start: 2026-02-03T00:00:00Z
history_days: 0
graph: {{source: synthetic, nodes: 400}}
market: {{failure_share: {share}}}
groups:
  - profile: saturated
    count: 4
  - profile: balanced
    count: 6
"""

    def failures(share: float) -> int:
        sc = parse_scenario(text.format(share=share), name="avoid", base_dir=".")
        node = SimulatedNode.from_config(sc)
        node.advance(5 * DAY)
        return len(node.htlc_failures(0, node.now_s()))

    assert failures(0.3) < 0.5 * failures(0.0)


def served_competitor_median(node: SimulatedNode) -> dict[str, float]:
    _, edges = node.graph()
    me = node.identity_pubkey
    into: dict[str, list[int]] = defaultdict(list)
    for e in edges:
        if me in (e.node1_pub, e.node2_pub):
            continue
        if e.node1_policy is not None:
            into[e.node2_pub].append(e.node1_policy.fee_rate_ppm)
        if e.node2_policy is not None:
            into[e.node1_pub].append(e.node2_policy.fee_rate_ppm)
    return {k: statistics.median(v) for k, v in into.items()}


def test_competitors_move_and_the_served_graph_shows_it() -> None:
    node = SimulatedNode.from_scenario("demo")
    before = served_competitor_median(node)
    t0 = node.now_s()
    node.advance(20 * DAY)
    after = served_competitor_median(node)
    truth = node.market_truth()
    moved = 0
    for j, c in enumerate(node.channels()):
        if c.remote_pubkey not in after:
            assert np.isnan(truth.competitor_ref_ppm[j])
            continue
        assert truth.competitor_ref_ppm[j] == pytest.approx(after[c.remote_pubkey])
        history = node.competitor_history(c.channel_point)
        at_start = [r for t, r in history if t <= t0][-1]
        assert at_start == pytest.approx(before[c.remote_pubkey])
        assert history[-1][1] == pytest.approx(after[c.remote_pubkey])
        assert [t for t, _ in history] == sorted(t for t, _ in history)
        assert history[0][0] == t0 - 30 * DAY  # from the start of the history
        moved += after[c.remote_pubkey] != before[c.remote_pubkey]
    assert moved >= 3


def test_reacting_competitors_follow_our_raise() -> None:
    extra = (
        "market: {competitor_react_share: 1, competitor_drift_share: 0, competitor_react_days: 1}"
    )

    def node() -> SimulatedNode:
        text = PRICE_ONLY.format(seed=7, fee=100, market=extra)
        return SimulatedNode.from_config(parse_scenario(text, name="react", base_dir="."))

    plain, raised = node(), node()
    refs = raised.market_truth().competitor_ref_ppm
    j = int(np.flatnonzero(~np.isnan(refs))[0])  # a peer with competitors
    c = raised.channels()[j]
    ref0 = float(refs[j])
    # plain: at the competitors' median (nothing to react to); raised: three times that
    plain.set_local_policy(c.channel_point, replace(c.local_policy, fee_rate_ppm=int(ref0)))
    raised.set_local_policy(
        c.channel_point, replace(c.local_policy, fee_rate_ppm=int(ref0 * 3) + 10)
    )
    for n in (plain, raised):
        n.advance(10 * DAY)
    assert raised.market_truth().competitor_ref_ppm[j] > 1.3 * ref0
    assert (
        raised.market_truth().competitor_ref_ppm[j]
        > 1.2 * plain.market_truth().competitor_ref_ppm[j]
    )


def test_demand_follows_the_week_and_the_day() -> None:
    node = SimulatedNode.from_scenario("demo")
    now = node.now_s()
    ts = node.forwards(now - 30 * DAY, now).columns.timestamp_ns // 1_000_000_000
    hours = np.bincount((ts % DAY) // 3600, minlength=24)
    assert hours.max() > 1.3 * hours.min()


def test_same_seed_same_run_after_the_same_calls() -> None:
    def run() -> tuple:
        node = SimulatedNode.from_scenario("demo")
        c = node.channels()[0]
        node.advance(3600)
        node.set_local_policy(c.channel_point, replace(c.local_policy, fee_rate_ppm=777))
        node.advance(3 * DAY)
        cols = node.forwards(0, node.now_s()).columns
        fails = node.htlc_failures(0, node.now_s())
        truth = node.market_truth()
        return (
            cols.fee_msat.tobytes(),
            cols.chan_id_out.tobytes(),
            [(f.timestamp_ns, f.wire_failure) for f in fails],
            truth.competitor_ref_ppm.tobytes(),
        )

    assert run() == run()
