"""Each behaviour profile leaves its signature in the data the node exposes.

Measured only through the public interface (channels, graph, forwards, failures) over the
30-day history of the demo scenario, for the shipped seed and two others.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

from mcp_optimizer.simulator.model import SimulatedNode
from mcp_optimizer.simulator.scenario import SHIPPED_PACKAGE, resources

DAY = 86_400


@dataclass
class Stats:
    profile: str
    out: int
    inc: int
    fails: int
    local_ratio: float
    uptime_ratio: float
    age_days: float
    fee_ppm: int
    competitor_ppm: float
    first_forward_s: float
    opened_at_s: int


def measure(node: SimulatedNode) -> list[Stats]:
    now = node.now_s()
    cols = node.forwards(now - 30 * DAY, now).columns
    out = Counter(cols.chan_id_out.tolist())
    inc = Counter(cols.chan_id_in.tolist())
    first: dict[int, float] = {}
    for ts, ci, co in zip(
        cols.timestamp_ns.tolist(), cols.chan_id_in.tolist(), cols.chan_id_out.tolist(),
        strict=True,
    ):
        for c in (ci, co):
            first.setdefault(c, ts / 1e9)
    fails = Counter(f.outgoing_chan_id for f in node.htlc_failures(now - 30 * DAY, now))
    _, edges = node.graph()
    me = node.identity_pubkey
    into: dict[str, list[int]] = defaultdict(list)  # competitor fees to forward into a node
    for e in edges:
        if me in (e.node1_pub, e.node2_pub):
            continue
        if e.node1_policy is not None:
            into[e.node2_pub].append(e.node1_policy.fee_rate_ppm)
        if e.node2_policy is not None:
            into[e.node1_pub].append(e.node2_policy.fee_rate_ppm)
    # a peer without competitors is priced against the network's median fee (docs/simulator.md)
    network = statistics.median(f for fees in into.values() for f in fees)
    stats = []
    for c in node.channels():
        fees = into.get(c.remote_pubkey, [])
        stats.append(
            Stats(
                profile=c.profile,
                out=out[c.chan_id],
                inc=inc[c.chan_id],
                fails=fails[c.chan_id],
                local_ratio=c.local_balance_sat / c.capacity_sat,
                uptime_ratio=c.uptime_s / max(1, c.lifetime_s),
                age_days=(now - c.opened_at_s) / DAY,
                fee_ppm=c.local_policy.fee_rate_ppm,
                competitor_ppm=statistics.median(fees) if fees else network,
                first_forward_s=first.get(c.chan_id, float("inf")),
                opened_at_s=c.opened_at_s,
            )
        )
    return stats


def demo_with_seed(seed: int, tmp_path: Path) -> SimulatedNode:
    if seed == 0:
        return SimulatedNode.from_scenario("demo")
    text = resources.files(SHIPPED_PACKAGE).joinpath("demo.yml").read_text()
    path = tmp_path / f"demo-{seed}.yml"
    path.write_text(text.replace("seed: 20260203", f"seed: {seed}"))
    return SimulatedNode.from_scenario(str(path))


@pytest.fixture(
    scope="module", params=[0, 11, 12345], ids=["shipped-seed", "seed-11", "seed-12345"]
)
def stats(request, tmp_path_factory) -> dict[str, list[Stats]]:
    by_profile: dict[str, list[Stats]] = defaultdict(list)
    for s in measure(demo_with_seed(request.param, tmp_path_factory.mktemp("demo"))):
        by_profile[s.profile].append(s)
    return by_profile


def test_inactive_near_zero_forwards(stats) -> None:
    for s in stats["inactive"]:
        assert s.out + s.inc <= 10, s
        assert s.fails == 0


def test_saturated_outbound_under_5_percent_and_link_failures(stats) -> None:
    for s in stats["saturated"]:
        assert s.local_ratio < 0.05, s
        assert s.fails > 100, s
        assert s.fails > s.out, s


def test_star_high_volume_both_ways(stats) -> None:
    busiest_other = max(
        max(s.out, s.inc) for p, ss in stats.items() if p != "star" for s in ss
    )
    for s in stats["star"]:
        assert s.out > 2000 and s.inc > 2000, s
        assert min(s.out, s.inc) > busiest_other / 2, s


def test_abused_drained_one_way_below_what_the_flow_would_bear(stats) -> None:
    for s in stats["abused"]:
        assert s.out > 3 * s.inc, s  # drained one way
        assert s.local_ratio < 0.05, s
        assert s.fails > 100, s  # demand it can no longer serve
        assert s.fee_ppm <= 0.25 * max(s.competitor_ppm, 10), s  # far below the alternatives


def test_flapping_peer_often_offline(stats) -> None:
    for s in stats["flapping"]:
        assert 0.2 < s.uptime_ratio < 0.8, s
    for p, ss in stats.items():
        if p != "flapping":
            for s in ss:
                assert s.uptime_ratio > 0.85, s


def test_new_opened_days_ago(stats) -> None:
    for s in stats["new"]:
        assert s.age_days <= 7.0, s
        assert s.first_forward_s >= s.opened_at_s, s  # nothing before it opened
    others = [s.age_days for p, ss in stats.items() if p != "new" for s in ss]
    assert min(others) > 30


def test_balanced_as_much_in_as_out(stats) -> None:
    for s in stats["balanced"]:
        assert s.out > 300 and s.inc > 300, s
        assert 0.33 < s.inc / s.out < 3.0, s
