"""The synthetic graph reproduces the real mainnet snapshot; the real snapshot loads as is.

The real data is expected at ``../shared/data/ln-graph/`` relative to the repository root;
these tests skip, saying so, when it is absent.
"""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

import numpy as np
import pytest

from mcp_optimizer.simulator.model import SimulatedNode
from mcp_optimizer.simulator.scenario import load_scenario, parse_scenario

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "ln-graph"
SNAPSHOT = "ln-2026-02-03"
CHANNELS = DATA / f"{SNAPSHOT}.channels.csv.gz"
NODES = DATA / f"{SNAPSHOT}.nodes.csv.gz"

needs_data = pytest.mark.skipif(
    not (CHANNELS.is_file() and NODES.is_file()),
    reason=f"real Lightning graph snapshot not found at {DATA} (../shared/data/ln-graph)",
)


def ks(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample Kolmogorov-Smirnov statistic (largest gap between the empirical CDFs)."""
    a, b = np.sort(a), np.sort(b)
    x = np.concatenate([a, b])
    fa = np.searchsorted(a, x, side="right") / a.size
    fb = np.searchsorted(b, x, side="right") / b.size
    return float(np.max(np.abs(fa - fb)))


@pytest.fixture(scope="module")
def real() -> dict[str, np.ndarray]:
    with gzip.open(CHANNELS, "rt") as fh:
        d = np.loadtxt(fh, delimiter=",", skiprows=1, dtype=np.int64)
    present0 = ~((d[:, 4] == 1) & (d[:, 9] == 0))
    present1 = ~((d[:, 10] == 1) & (d[:, 15] == 0))
    return {
        "rows": d,
        "degree": np.bincount(np.concatenate([d[:, 1], d[:, 2]])),
        "capacity": d[:, 3],
        "ppm": np.concatenate([d[present0, 8], d[present1, 14]]),
        "base": np.concatenate([d[present0, 7], d[present1, 13]]),
    }


def synthetic(nodes: int, seed: int) -> dict[str, np.ndarray]:
    """Build a node in a synthetic graph and measure the graph through ``graph()``."""
    scenario = parse_scenario(
        f"seed: {seed}\nstart: 2026-02-03T00:00:00Z\nhistory_days: 0\n"
        f"graph: {{source: synthetic, nodes: {nodes}}}\n"
        "groups: [{profile: balanced, count: 1}]\n",
        name="graph-test",
        base_dir=".",
    )
    node = SimulatedNode.from_config(scenario)
    all_nodes, edges = node.graph()
    me = node.identity_pubkey
    edges = [e for e in edges if me not in (e.node1_pub, e.node2_pub)]
    index = {n.pubkey: i for i, n in enumerate(all_nodes) if n.pubkey != me}
    ends = [index[e.node1_pub] for e in edges] + [index[e.node2_pub] for e in edges]
    policies = [p for e in edges for p in (e.node1_policy, e.node2_policy) if p is not None]
    return {
        "edges": np.array(len(edges)),
        "degree": np.bincount(ends, minlength=len(index)),
        "capacity": np.array([e.capacity_sat for e in edges]),
        "ppm": np.array([p.fee_rate_ppm for p in policies]),
        "base": np.array([p.base_fee_msat for p in policies]),
    }


@needs_data
def test_mainnet_size_synthetic_graph_matches_the_real_distributions(real) -> None:
    syn = synthetic(17_324, seed=5)
    assert syn["degree"].size == 17_324
    # about as many channels as the snapshot's 50,808 (self-pairs are dropped)
    assert 0.95 * len(real["rows"]) < int(syn["edges"]) < 1.02 * len(real["rows"])
    for key in ("degree", "capacity", "ppm", "base"):
        assert ks(syn[key], real[key]) < 0.02, key
    for key in ("degree", "capacity", "ppm"):
        for q in (0.5, 0.75, 0.9, 0.99):
            s, r = np.quantile(syn[key], q), np.quantile(real[key], q)
            assert 0.8 <= (s + 1) / (r + 1) <= 1.25, (key, q, s, r)
    # heavy tail: hubs with hundreds of channels exist, as on mainnet
    assert syn["degree"].max() > 300


@needs_data
def test_small_synthetic_graph_keeps_the_shape(real) -> None:
    syn = synthetic(2_000, seed=9)
    assert ks(syn["degree"], real["degree"]) < 0.03
    assert ks(syn["capacity"], real["capacity"]) < 0.05
    assert ks(syn["ppm"], real["ppm"]) < 0.05


def test_synthetic_graph_is_deterministic_from_the_seed() -> None:
    a, b, c = synthetic(500, seed=3), synthetic(500, seed=3), synthetic(500, seed=4)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["capacity"], c["capacity"])


@needs_data
def test_mainnet_scenario_places_our_node_in_the_real_graph(monkeypatch, real) -> None:
    monkeypatch.chdir(ROOT)  # the shipped scenario names ../shared/data/ln-graph
    node = SimulatedNode.from_scenario("mainnet")
    nodes, edges = node.graph()
    with gzip.open(NODES, "rt", newline="") as fh:
        rows = list(csv.reader(fh))[1:]
    real_keys = {r[1]: r[2] for r in rows}
    assert len(nodes) == len(rows) + 1
    chans = node.channels()
    assert len(edges) == len(real["rows"]) + len(chans)
    for c in chans:
        assert c.remote_pubkey in real_keys
        assert node.graph_node(c.remote_pubkey).alias == real_keys[c.remote_pubkey]
    # a real channel keeps its announced policies: row 0 is ACINQ's channel in the snapshot
    d = real["rows"]
    acinq = rows[int(d[0, 1])][1]
    other = rows[int(d[0, 2])][1]
    edge = next(
        e
        for e in edges
        if {e.node1_pub, e.node2_pub} == {acinq, other} and e.capacity_sat == int(d[0, 3])
    )
    acinq_policy = edge.node1_policy if edge.node1_pub == acinq else edge.node2_policy
    assert acinq_policy.fee_rate_ppm == int(d[0, 8])
    assert acinq_policy.base_fee_msat == int(d[0, 7])
    assert acinq_policy.time_lock_delta == int(d[0, 9])
    # a direction announced as absent has no policy
    absent = int(np.sum((d[:, 4] == 1) & (d[:, 9] == 0)))
    absent += int(np.sum((d[:, 10] == 1) & (d[:, 15] == 0)))
    none_count = sum((e.node1_policy is None) + (e.node2_policy is None) for e in edges)
    assert none_count == absent
    assert node.forward_count() > 1000


def test_real_graph_path_that_does_not_exist_is_a_clear_error(tmp_path) -> None:
    path = tmp_path / "s.yml"
    path.write_text(
        "seed: 1\nstart: 2026-02-03T00:00:00Z\n"
        "graph: {source: real, path: no-such-dir}\n"
        "groups: [{profile: star, count: 1}]\n"
    )
    scenario = load_scenario(str(path))
    from mcp_optimizer.simulator.model import ScenarioError

    with pytest.raises(ScenarioError, match="no-such-dir does not exist"):
        SimulatedNode.from_config(scenario)
