"""The first centrality estimated from sampled pivots (Brandes & Pich 2007): with every source
it is the exact betweenness, its average over seeds is the exact one (unbiased, leaves folded
and parallel channels counted), one graph gives one estimate, small graphs stay exact, and a
decision that used an estimate says so. Its agreement with exact on the mainnet graph is in
test_centrality_snapshot.py."""

from __future__ import annotations

import numpy as np
import pytest
from builders import node, snapshot

from mcp_optimizer.messages import CentralityKnown, ScoredFactor
from mcp_optimizer.policies.config import load_policy
from mcp_optimizer.policies.factors import score_factor
from mcp_optimizer.providers.local_graph import topology_from_pairs, warm_up
from mcp_optimizer.providers.local_graph.centrality import (
    centrality_table,
    estimate_worthwhile,
    pivot_seed,
)
from mcp_optimizer.providers.local_graph.kernel import (
    betweenness_csr,
    estimate_betweenness_csr,
)


@pytest.fixture(scope="module", autouse=True)
def _compiled() -> None:
    warm_up()


def leafy_graph(seed: int, core: int = 60, leaves: int = 80, extra: int = 90):
    """A connected random core with parallel channels, leaves (some with two channels to their
    anchor), an isolated channel and a lone node: every case the folding handles."""
    rng = np.random.default_rng(seed)
    a = [i for i in range(1, core)]
    b = [int(rng.integers(0, i)) for i in range(1, core)]  # a random tree: connected
    for _ in range(extra):
        u, v = rng.integers(0, core, 2)
        a.append(int(u))
        b.append(int(v))
    for j in range(leaves):
        anchor = int(rng.integers(0, core // 3))  # leaves crowd on a few hubs
        a.append(core + j)
        b.append(anchor)
        if j % 7 == 0:
            a.append(core + j)
            b.append(anchor)
    n = core + leaves
    a += [n, n + 1]
    b += [n + 1, n]
    names = tuple(f"{i:04d}" for i in range(n + 3))
    return topology_from_pairs(names, np.array(a), np.array(b))


def test_every_source_as_pivot_is_the_exact_betweenness() -> None:
    t = leafy_graph(1)
    exact = betweenness_csr(t.indptr, t.indices, t.mult)
    est, used, sources = estimate_betweenness_csr(t.indptr, t.indices, t.mult, 10**6, seed=7)
    assert used == sources == int((np.diff(t.indptr) >= 2).sum())
    np.testing.assert_array_equal(est, exact)


def test_the_estimate_is_unbiased_its_mean_over_seeds_is_exact() -> None:
    t = leafy_graph(2)
    exact = betweenness_csr(t.indptr, t.indices, t.mult)
    runs = [estimate_betweenness_csr(t.indptr, t.indices, t.mult, 12, seed=s, threads=1)[0]
            for s in range(600)]
    mean = np.mean(runs, axis=0)
    spread = np.std(runs, axis=0) / np.sqrt(len(runs))
    central = exact > 0.05 * exact.max()
    assert central.sum() >= 10
    # within 5 standard errors of the mean, node by node (max 2.1 here); a scale 5 % off is
    # 30 errors away, counting the drawn sources' leaf term twice over 200
    assert np.all(np.abs(mean - exact)[central] <= 5 * spread[central] + 1e-9)
    np.testing.assert_array_equal(mean[exact == 0], 0.0)
    # relative to the exact values: under 10 %, where one run of 12 pivots is off by far more
    rel = np.abs(mean - exact)[central] / exact[central]
    one = np.abs(runs[0] - exact)[central] / exact[central]
    assert rel.max() < 0.1 and one.max() > 3 * rel.max()


def test_one_graph_gives_one_estimate_and_another_seed_another() -> None:
    t = leafy_graph(3)
    first = estimate_betweenness_csr(t.indptr, t.indices, t.mult, 10, seed=5, threads=2)[0]
    again = estimate_betweenness_csr(t.indptr, t.indices, t.mult, 10, seed=5, threads=1)[0]
    other = estimate_betweenness_csr(t.indptr, t.indices, t.mult, 10, seed=6, threads=1)[0]
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    a, b = centrality_table(t, pivots=10), centrality_table(t, pivots=10)
    assert a.pivots == b.pivots == 10 and a.estimated
    np.testing.assert_array_equal(a.normalized_ppm, b.normalized_ppm)
    np.testing.assert_array_equal(a.rank, b.rank)
    assert pivot_seed(t.fingerprint) == int(t.fingerprint[:16], 16)


def test_a_small_graph_stays_exact_and_the_messages_say_which() -> None:
    t = leafy_graph(4)
    sources = int((np.diff(t.indptr) >= 2).sum())
    assert estimate_worthwhile(t, sources // 4) and not estimate_worthwhile(t, sources // 4 + 1)
    assert not estimate_worthwhile(t, 0)
    exact = centrality_table(t)
    same = centrality_table(t, pivots=sources // 4 + 1)
    assert same.pivots == 0 and not same.estimated
    np.testing.assert_array_equal(same.betweenness, exact.betweenness)
    estimate = centrality_table(t, pivots=sources // 4)
    assert estimate.pivots == sources // 4
    assert all(m.estimated for m in estimate.messages(9).values())
    assert not any(m.estimated for m in exact.messages(9).values())


def test_a_decision_on_an_estimate_says_so_in_its_factor() -> None:
    def detail(estimated: bool) -> str:
        c = CentralityKnown(normalized_ppm=250_000, rank=40, source="local-graph",
                            observed_at_s=0, estimated=estimated)
        s = snapshot(channel_kw={"peer": node(centrality=c)})
        f = score_factor("centrality", s, load_policy(None, {}))
        assert isinstance(f, ScoredFactor)
        return f.detail

    assert detail(True) == (
        "peer ranks #40 by betweenness, 0.250 of the top "
        "(local-graph, estimated from sampled pivots)"
    )
    assert detail(False).endswith("of the top (local-graph)")

