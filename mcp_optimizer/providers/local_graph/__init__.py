"""Local graph provider: betweenness centrality and competitor fees from the node's own graph.

The fallback that always works: it needs nothing but LND's DescribeGraph. Public API:

* ``compute_centrality(graph, observed_at_s) -> dict[str, CentralityKnown]``: exact Brandes
  betweenness of every node (numba kernel with leaf folding, ~2 s on the 2026 mainnet graph on
  2 cores), min-max normalised in ppm as LND's GetNodeMetrics, ranked (1 = most central).
* ``CentralityCache``: the same, recomputed only when the topology's fingerprint changes;
  ``lookup`` answers CentralityUnknown for a node not in the graph.
* ``competitor_fees(graph, peer_pubkey) -> CompetitorFees | CompetitorFeesUnknown``.
* ``warm_up()``: compile or load the kernels once when the service starts.
* ``GraphSemantics``: which channels count (defaults documented in docs/graph-semantics.md).
"""

from .cache import NOT_IN_GRAPH, CentralityCache
from .centrality import (
    SOURCE,
    CentralityTable,
    betweenness,
    centrality_table,
    compute_centrality,
    normalise_and_rank,
    warm_up,
)
from .fees import competitor_fees
from .topology import (
    DEFAULT_SEMANTICS,
    GraphError,
    GraphSemantics,
    Topology,
    build_topology,
    topology_from_pairs,
)

__all__ = [
    "DEFAULT_SEMANTICS",
    "NOT_IN_GRAPH",
    "SOURCE",
    "CentralityCache",
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
