"""Local graph provider: betweenness centrality and competitor fees from the node's own graph.

The fallback that always works: it needs nothing but LND's DescribeGraph. Public API:

* ``compute_centrality(graph, observed_at_s) -> dict[str, CentralityKnown]``: exact Brandes
  betweenness of every node (numba kernel with leaf folding, ~2 s on the 2026 mainnet graph on
  2 cores), min-max normalised in ppm as LND's GetNodeMetrics, ranked (1 = most central).
* ``CentralityCache``: the same, recomputed only when the topology's fingerprint changes;
  ``lookup`` answers CentralityUnknown for a node not in the graph.
* ``CentralityProcess``: what the service uses: the graph read and the centrality computed
  in a child process that exits (``worker.py``), the table kept, refreshed in the background;
  on a large graph the first table is an estimate from sampled pivots (``centrality_table``'s
  ``pivots``, ``kernel.estimate_betweenness_csr``), replaced by the exact one.
* ``competitor_fees(graph, peer_pubkey) -> CompetitorFees | CompetitorFeesUnknown``.
* ``warm_up()``: compile or load the kernels once when the service starts.
* ``GraphSemantics``: which channels count (defaults documented in docs/graph-semantics.md).
"""

from importlib import import_module

# Names load their module on first use (PEP 562): importing the package (or its numba-free
# parts, process.py and fees.py, which the service uses) never loads the numba kernel. Only
# the centrality worker process, the cache and the tests compile or load it.
_WHERE = {
    "NOT_IN_GRAPH": "cache", "CentralityCache": "cache",
    "SOURCE": "centrality", "CentralityTable": "centrality", "betweenness": "centrality",
    "centrality_table": "centrality", "compute_centrality": "centrality",
    "normalise_and_rank": "centrality", "warm_up": "centrality",
    "competitor_fees": "fees",
    "CentralityProcess": "process",
    "DEFAULT_SEMANTICS": "topology", "GraphError": "topology", "GraphSemantics": "topology",
    "Topology": "topology", "build_topology": "topology", "topology_from_pairs": "topology",
}


def __getattr__(name: str) -> object:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{where}"), name)


__all__ = [
    "DEFAULT_SEMANTICS",
    "NOT_IN_GRAPH",
    "SOURCE",
    "CentralityCache",
    "CentralityProcess",
    "CentralityTable",
    "GraphError",
    "GraphSemantics",
    "Topology",
    "betweenness",
    "build_topology",
    "centrality_table",
    "competitor_fees",
    "compute_centrality",
    "normalise_and_rank",
    "topology_from_pairs",
    "warm_up",
]
