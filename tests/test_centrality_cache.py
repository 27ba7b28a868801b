"""CentralityCache: recomputes only when the topology changed, and says so."""

from __future__ import annotations

import threading

import pytest
from graph_builders import UNKNOWN, disabled, enabled, graph, key

from mcp_optimizer.messages import (
    CentralityKnown,
    CentralityUnknown,
    ChannelGraph,
    GraphEdge,
    GraphNode,
)
from mcp_optimizer.providers.local_graph import (
    NOT_IN_GRAPH,
    CentralityCache,
    GraphSemantics,
    compute_centrality,
    warm_up,
)

EDGES = [("a", "b"), ("b", "c"), ("c", "d"), ("b", "e"), ("e", "d"), ("d", "f")]


@pytest.fixture(scope="module", autouse=True)
def _compiled() -> None:
    warm_up()


def with_edges(g: ChannelGraph, edges: list[GraphEdge]) -> ChannelGraph:
    return ChannelGraph(taken_at_s=g.taken_at_s, nodes=g.nodes, edges=edges)


def test_same_graph_is_computed_once_and_restamped() -> None:
    cache = CentralityCache()
    g = graph(EDGES)
    first = cache.get(g, 100)
    second = cache.get(g, 200)
    assert (cache.computations, cache.hits) == (1, 1)
    assert first == compute_centrality(g, 100)
    assert second == compute_centrality(g, 200)
    assert {r.observed_at_s for r in second.values()} == {200}
    assert cache.fingerprint != ""
    assert cache.last_compute_s > 0.0


def test_policy_updates_do_not_recompute_under_the_default_semantics() -> None:
    cache = CentralityCache()
    g = graph(EDGES)
    cache.get(g, 1)
    fee_change = graph(EDGES, policies={0: (enabled(fee_rate_ppm=999), enabled())})
    flapping = graph(EDGES, policies={1: (disabled(), UNKNOWN)})
    cache.get(fee_change, 2)
    cache.get(flapping, 3)
    assert (cache.computations, cache.hits) == (1, 2)


def test_disabled_flags_recompute_when_only_routable_channels_count() -> None:
    cache = CentralityCache(semantics=GraphSemantics(require_enabled_direction=True))
    cache.get(graph(EDGES), 1)
    off = graph(EDGES, policies={1: (disabled(), UNKNOWN)})
    result = cache.get(off, 2)
    assert cache.computations == 2
    assert result == compute_centrality(
        off, 2, semantics=GraphSemantics(require_enabled_direction=True)
    )


def test_opened_and_closed_channels_recompute() -> None:
    cache = CentralityCache()
    g = graph(EDGES)
    cache.get(g, 1)
    opened = graph(EDGES + [("a", "f")])
    after_open = cache.get(opened, 2)
    assert cache.computations == 2
    assert after_open == compute_centrality(opened, 2)
    closed = graph(EDGES[:-1], nodes=["f"])
    after_close = cache.get(closed, 3)
    assert cache.computations == 3
    assert after_close[key("f")].normalized_ppm == 0
    assert cache.get(g, 4) == compute_centrality(g, 4)
    assert cache.computations == 4


def test_a_parallel_channel_recomputes_only_when_parallel_channels_count() -> None:
    g = graph(EDGES)
    extra = graph(EDGES + [("b", "c")])
    counting = CentralityCache()
    counting.get(g, 1)
    counting.get(extra, 2)
    assert counting.computations == 2
    simple = CentralityCache(semantics=GraphSemantics(count_parallel_channels=False))
    simple.get(g, 1)
    simple.get(extra, 2)
    assert (simple.computations, simple.hits) == (1, 1)


def test_a_new_node_without_channels_recomputes() -> None:
    cache = CentralityCache()
    g = graph(EDGES)
    cache.get(g, 1)
    newcomer = GraphNode(pubkey=key("new"), alias="", address_count=1, last_update_s=1)
    result = cache.get(ChannelGraph(taken_at_s=2, nodes=g.nodes + [newcomer], edges=g.edges), 2)
    assert cache.computations == 2
    assert key("new") in result


def test_reordered_listing_is_the_same_topology() -> None:
    cache = CentralityCache()
    g = graph(EDGES)
    cache.get(g, 1)
    cache.get(with_edges(g, list(reversed(g.edges))), 2)
    assert (cache.computations, cache.hits) == (1, 1)


def test_lookup_answers_unknown_for_a_node_outside_the_graph() -> None:
    cache = CentralityCache()
    g = graph(EDGES)
    got = cache.lookup(g, 50, [key("b"), key("stranger")])
    assert got[key("stranger")] == CentralityUnknown(reason=NOT_IN_GRAPH)
    assert isinstance(got[key("b")], CentralityKnown)
    assert got[key("b")] == compute_centrality(g, 50)[key("b")]
    cache.lookup(g, 60, [key("a")])
    assert (cache.computations, cache.hits) == (1, 1)


def test_concurrent_callers_share_one_computation() -> None:
    cache = CentralityCache(threads=1)
    g = graph(EDGES)
    results: list[dict[str, CentralityKnown]] = []
    barrier = threading.Barrier(4)

    def call() -> None:
        barrier.wait()
        results.append(cache.get(g, 9))

    threads = [threading.Thread(target=call) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(results) == 4
    assert all(r == results[0] for r in results)
    assert (cache.computations, cache.hits) == (1, 3)
