"""Local betweenness centrality: hand-computed graphs, networkx on random graphs, leaf folding."""

from __future__ import annotations

import random
from fractions import Fraction

import networkx as nx
import numpy as np
import pytest
from graph_builders import UNKNOWN, disabled, enabled, graph, key
from hypothesis import given, settings
from hypothesis import strategies as st

from mcp_optimizer.messages import CentralityKnown, ChannelGraph, GraphNode
from mcp_optimizer.providers.local_graph import (
    GraphError,
    GraphSemantics,
    betweenness,
    build_topology,
    compute_centrality,
    normalise_and_rank,
    topology_from_pairs,
    warm_up,
)
from mcp_optimizer.providers.local_graph.kernel import betweenness_csr

SIMPLE = GraphSemantics(count_parallel_channels=False)
REL = 1e-9


@pytest.fixture(scope="module", autouse=True)
def _compiled() -> None:
    warm_up()


def by_name(result: dict[str, object], names: str) -> list[object]:
    return [result[key(n)] for n in names]


def assert_close(got: dict[str, float], want: dict[object, float | Fraction]) -> None:
    assert set(got) == {key(n) for n in want}
    for name, value in want.items():
        assert got[key(name)] == pytest.approx(float(value), rel=REL, abs=1e-12), name


# --- graphs whose betweenness is known by hand ------------------------------------------------


def test_path_betweenness_and_normalisation() -> None:
    g = graph([("a", "b"), ("b", "c"), ("c", "d"), ("d", "e")])
    # b lies on a-c, a-d, a-e; c on a-d, a-e, b-d, b-e; d mirrors b.
    assert_close(betweenness(g), {"a": 0, "b": 3, "c": 4, "d": 3, "e": 0})
    result = compute_centrality(g, 1234)

    def known(ppm: int, rank: int) -> CentralityKnown:
        return CentralityKnown(normalized_ppm=ppm, rank=rank, source="local-graph",
                               observed_at_s=1234, estimated=False)

    assert by_name(result, "abcde") == [
        known(0, 4), known(750_000, 2), known(1_000_000, 1), known(750_000, 2), known(0, 4),
    ]


def test_star_centre_carries_every_pair_of_leaves() -> None:
    g = graph([("hub", leaf) for leaf in "vwxyz"])
    assert_close(betweenness(g), {"hub": 10, **{leaf: 0 for leaf in "vwxyz"}})
    result = compute_centrality(g, 1)
    assert result[key("hub")].rank == 1
    assert result[key("hub")].normalized_ppm == 1_000_000
    assert {result[key(leaf)].rank for leaf in "vwxyz"} == {2}


# A 4-cycle a-b-c-d-a whose a-b link is two parallel channels, and a leaf x on a.
CYCLE_WITH_PARALLEL = [("a", "b"), ("a", "b"), ("b", "c"), ("c", "d"), ("d", "a"), ("a", "x")]


def test_parallel_channels_count_as_separate_paths_by_default() -> None:
    # a-c: 2 paths via b (two a-b channels), 1 via d -> b 2/3, d 1/3; b-d: a 2/3, c 1/3;
    # x-c: a 1, b 2/3, d 1/3; x-b and x-d: a 1 each.
    assert_close(
        betweenness(graph(CYCLE_WITH_PARALLEL)),
        {
            "a": Fraction(11, 3),
            "b": Fraction(4, 3),
            "c": Fraction(1, 3),
            "d": Fraction(2, 3),
            "x": 0,
        },
    )


def test_parallel_channels_count_once_in_the_simple_graph() -> None:
    assert_close(
        betweenness(graph(CYCLE_WITH_PARALLEL), semantics=SIMPLE),
        {"a": 3.5, "b": 1, "c": 0.5, "d": 1, "x": 0},
    )


def test_disconnected_components_isolated_nodes_and_isolated_channels() -> None:
    g = graph(
        [("a", "b"), ("b", "c"), ("d", "e"), ("e", "f"), ("f", "g"), ("i", "j"), ("i", "j")],
        nodes=["h"],
    )
    assert_close(
        betweenness(g),
        {"a": 0, "b": 1, "c": 0, "d": 0, "e": 2, "f": 2, "g": 0, "h": 0, "i": 0, "j": 0},
    )
    result = compute_centrality(g, 7)
    assert [r.rank for r in by_name(result, "abcdefghij")] == [4, 3, 4, 4, 1, 1, 4, 4, 4, 4]
    assert [r.normalized_ppm for r in by_name(result, "bef")] == [500_000, 1_000_000, 1_000_000]


def test_empty_graph_and_graph_without_channels() -> None:
    assert compute_centrality(ChannelGraph(taken_at_s=1, nodes=[], edges=[]), 5) == {}
    result = compute_centrality(graph([], nodes=["p", "q"]), 5)
    # LND: all values equal -> normalised 0; everybody shares the first rank.
    assert by_name(result, "pq") == [
        CentralityKnown(
            normalized_ppm=0, rank=1, source="local-graph", observed_at_s=5, estimated=False
        )
    ] * 2


def test_channel_end_missing_from_the_node_list_is_still_a_node() -> None:
    g = graph([("a", "b"), ("b", "c")])
    partial = ChannelGraph(taken_at_s=g.taken_at_s, nodes=g.nodes[:1], edges=g.edges)
    assert_close(betweenness(partial), {"a": 0, "b": 1, "c": 0})


def test_self_loop_changes_nothing() -> None:
    g = graph([("a", "b"), ("b", "c"), ("b", "b")])
    assert_close(betweenness(g), {"a": 0, "b": 1, "c": 0})


# --- semantics options ------------------------------------------------------------------------


def test_channels_without_an_enabled_direction_count_unless_routing_only() -> None:
    # a-b-c-d path plus a shortcut a-d that cannot route (disabled one way, unknown the other).
    edges = [("a", "b"), ("b", "c"), ("c", "d"), ("a", "d")]
    g = graph(edges, policies={3: (disabled(), UNKNOWN)})
    # As a 4-cycle, each opposite pair has two paths: every node carries half of one pair.
    assert_close(betweenness(g), {"a": 0.5, "b": 0.5, "c": 0.5, "d": 0.5})
    routing = GraphSemantics(require_enabled_direction=True)
    assert_close(betweenness(g, semantics=routing), {"a": 0, "b": 2, "c": 2, "d": 0})
    # One enabled direction is enough to keep the channel.
    g1 = graph(edges, policies={3: (disabled(), enabled())})
    assert_close(betweenness(g1, semantics=routing), {"a": 0.5, "b": 0.5, "c": 0.5, "d": 0.5})


def test_nodes_without_addresses_keep_their_channels_by_default() -> None:
    g = graph([("a", "b"), ("b", "c")], address_count={"b": 0})
    assert_close(betweenness(g), {"a": 0, "b": 1, "c": 0})
    strict = GraphSemantics(require_addresses=True)
    assert_close(betweenness(g, semantics=strict), {"a": 0, "b": 0, "c": 0})


def test_corrupt_graph_is_refused_with_a_clear_error() -> None:
    g = graph([("a", "b")])
    twice = ChannelGraph(taken_at_s=1, nodes=g.nodes + g.nodes[:1], edges=g.edges)
    with pytest.raises(GraphError, match=f"lists node {g.nodes[0].pubkey} twice"):
        compute_centrality(twice, 1)
    twice_edge = ChannelGraph(taken_at_s=1, nodes=g.nodes, edges=g.edges * 2)
    with pytest.raises(GraphError, match="lists channel 0x0x1000 twice"):
        compute_centrality(twice_edge, 1)


# --- normalisation and ranks ------------------------------------------------------------------


def test_normalise_and_rank_is_min_max_with_competition_ranks() -> None:
    ppm, rank = normalise_and_rank(np.array([0.0, 2.0, 8.0, 2.0 * (1 + 1e-15), 1.0]))
    assert ppm.tolist() == [0, 250_000, 1_000_000, 250_000, 125_000]
    assert rank.tolist() == [5, 2, 1, 2, 4]
    ppm, rank = normalise_and_rank(np.array([3.0, 3.0]))  # a cycle: all equal, all maximal
    assert ppm.tolist() == [1_000_000, 1_000_000]
    assert rank.tolist() == [1, 1]


def test_a_cycle_is_all_maximal_like_lnd() -> None:
    g = graph([("a", "b"), ("b", "c"), ("c", "d"), ("d", "e"), ("e", "a")])
    result = compute_centrality(g, 1)
    assert {(r.normalized_ppm, r.rank) for r in result.values()} == {(1_000_000, 1)}


# --- against networkx -------------------------------------------------------------------------


def nx_reference(n: int, pairs: list[tuple[int, int]], parallel: bool) -> np.ndarray:
    """networkx betweenness; parallel channels via subdivision (one midpoint per channel)."""
    g = nx.Graph()
    g.add_nodes_from(range(n))
    if not parallel:
        g.add_edges_from((a, b) for a, b in pairs if a != b)
        ref = nx.betweenness_centrality(g, normalized=False)
    else:
        # Each channel a-b becomes a-m-b: shortest paths between original nodes map one to
        # one (a parallel channel is a distinct midpoint), so counting only pairs of original
        # nodes gives the multigraph betweenness.
        for i, (a, b) in enumerate(pairs):
            if a != b:
                g.add_edge(a, ("mid", i))
                g.add_edge(("mid", i), b)
        ref = nx.betweenness_centrality_subset(g, list(range(n)), list(range(n)), normalized=False)
    return np.array([ref[i] for i in range(n)], dtype=np.float64)


def ours(n: int, pairs: list[tuple[int, int]], parallel: bool, **kw: object) -> np.ndarray:
    names = tuple(f"{i:06d}" for i in range(n))  # sorted == numeric order
    a = np.array([p[0] for p in pairs], dtype=np.int64)
    b = np.array([p[1] for p in pairs], dtype=np.int64)
    topo = topology_from_pairs(names, a, b, GraphSemantics(count_parallel_channels=parallel))
    return betweenness_csr(topo.indptr, topo.indices, topo.mult, **kw)


def assert_same(got: np.ndarray, want: np.ndarray) -> None:
    np.testing.assert_allclose(got, want, rtol=REL, atol=1e-9)


edge_lists = st.integers(min_value=1, max_value=30).flatmap(
    lambda n: st.tuples(
        st.just(n),
        st.lists(
            st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), min_size=0, max_size=70
        ),
    )
)


@settings(max_examples=150, deadline=None)
@given(edge_lists, st.booleans())
def test_random_graphs_match_networkx(case: tuple[int, list[tuple[int, int]]], par: bool) -> None:
    n, pairs = case
    assert_same(ours(n, pairs, par), nx_reference(n, pairs, par))


@pytest.mark.parametrize("seed", range(6))
def test_random_graphs_from_generators_match_networkx(seed: int) -> None:
    rng = random.Random(seed)
    graphs = [
        nx.gnp_random_graph(60, 0.05, seed=seed),
        nx.barabasi_albert_graph(80, 1 + seed % 3, seed=seed),
        nx.random_labeled_tree(50, seed=seed),
        nx.watts_strogatz_graph(40, 4, 0.2, seed=seed),
    ]
    for g in graphs:
        pairs = [(int(a), int(b)) for a, b in g.edges()]
        # Add leaves and a few parallel channels.
        n = g.number_of_nodes()
        for i in range(rng.randint(0, 30)):
            pairs.append((n + i, rng.randrange(n)))
        n_all = n + sum(1 for a, _ in pairs if a >= n)
        pairs += rng.sample(pairs, k=min(5, len(pairs)))
        for par in (False, True):
            assert_same(ours(n_all, pairs, par, threads=2), nx_reference(n_all, pairs, par))


# --- leaf folding -----------------------------------------------------------------------------


def many_leaves(seed: int) -> tuple[int, list[tuple[int, int]]]:
    """A sparse core with 3x as many leaves as core nodes, some on the same anchor."""
    rng = random.Random(seed)
    core = 25
    pairs = [(rng.randrange(core), rng.randrange(core)) for _ in range(40)]
    leaves = 75
    pairs += [(core + i, rng.randrange(core)) for i in range(leaves)]
    pairs += [(core + 3, pairs[-1][1])]  # a parallel channel to a leaf: still a leaf
    return core + leaves, pairs


@pytest.mark.parametrize("seed", range(8))
def test_leaf_folding_is_exact_on_trees(seed: int) -> None:
    tree = nx.random_labeled_tree(70, seed=seed)
    pairs = [(int(a), int(b)) for a, b in tree.edges()]
    folded = ours(70, pairs, True, fold_leaves=True)
    assert_same(folded, ours(70, pairs, True, fold_leaves=False))
    assert_same(folded, nx_reference(70, pairs, False))


@pytest.mark.parametrize("seed", range(8))
def test_leaf_folding_is_exact_with_many_leaves(seed: int) -> None:
    n, pairs = many_leaves(seed)
    for par in (False, True):
        folded = ours(n, pairs, par, fold_leaves=True)
        assert_same(folded, ours(n, pairs, par, fold_leaves=False))
        assert_same(folded, nx_reference(n, pairs, par))


def test_leaf_folding_corner_cases() -> None:
    # Single edge (two leaves of each other), a path of 3 (only leaves around one core
    # node), a star whose centre has parallel channels to one leaf, two stars joined.
    cases = [
        (2, [(0, 1)]),
        (3, [(0, 1), (1, 2)]),
        (5, [(0, 1), (0, 1), (0, 2), (0, 3), (0, 4)]),
        (8, [(0, 1), (0, 2), (0, 3), (0, 4), (4, 5), (4, 6), (4, 7)]),
    ]
    for n, pairs in cases:
        for par in (False, True):
            assert_same(ours(n, pairs, par), nx_reference(n, pairs, par))


def test_result_does_not_depend_on_thread_count() -> None:
    n, pairs = many_leaves(99)
    one = ours(n, pairs, True, threads=1)
    assert_same(ours(n, pairs, True, threads=2), one)
    assert_same(ours(n, pairs, True, threads=5), one)


def test_input_order_does_not_change_the_result() -> None:
    g = graph(CYCLE_WITH_PARALLEL + [("c", "y"), ("y", "z")])
    shuffled = ChannelGraph(
        taken_at_s=g.taken_at_s, nodes=list(reversed(g.nodes)), edges=list(reversed(g.edges))
    )
    assert compute_centrality(g, 3) == compute_centrality(shuffled, 3)
    assert build_topology(g).fingerprint == build_topology(shuffled).fingerprint


def test_every_listed_node_gets_a_centrality() -> None:
    g = graph([("a", "b"), ("b", "c")], nodes=["lonely"])
    extra = GraphNode(pubkey=key("other"), alias="", address_count=0, last_update_s=1)
    g2 = ChannelGraph(taken_at_s=1, nodes=g.nodes + [extra], edges=g.edges)
    assert set(compute_centrality(g2, 1)) == {key(n) for n in ["a", "b", "c", "lonely", "other"]}


def test_kernels_compile_without_a_writable_cache_directory(monkeypatch) -> None:
    from numba.core import caching

    from mcp_optimizer.providers.local_graph import kernel

    monkeypatch.setattr(kernel, "CACHING", True)
    monkeypatch.setattr(caching.CacheImpl, "_locator_classes", [])

    def double(x):
        return 2 * x

    compiled = kernel._compiled(double)
    assert kernel.CACHING is False
    assert compiled(21) == 42
