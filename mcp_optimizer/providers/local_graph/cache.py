"""Keep the last centrality between cycles; recompute only when the graph's topology changed."""

from __future__ import annotations

import threading
from collections.abc import Iterable

from mcp_optimizer.messages import Centrality, CentralityKnown, CentralityUnknown, ChannelGraph

from .centrality import SOURCE, CentralityTable, centrality_table
from .topology import DEFAULT_SEMANTICS, GraphSemantics, build_topology

NOT_IN_GRAPH = "not in the node's public channel graph"


class CentralityCache:
    """The centrality of the last topology seen, recomputed only when its fingerprint changes.

    The fingerprint covers exactly what the betweenness depends on under the semantics in
    use (the node set and the multiset of edges), so fee or disabled-flag updates, which
    arrive every few minutes, do not cause a recomputation under the default semantics, while
    any opened or closed channel does. Results of a cache hit are stamped with the new
    ``observed_at_s``: they are exactly what a recomputation on that graph would give.

    Thread-safe: concurrent callers with the same graph wait for one computation.
    """

    def __init__(
        self,
        *,
        semantics: GraphSemantics = DEFAULT_SEMANTICS,
        threads: int | None = None,
    ) -> None:
        self._semantics = semantics
        self._threads = threads
        self._lock = threading.Lock()
        self._table: CentralityTable | None = None
        self._index: dict[str, int] = {}
        self._computations = 0
        self._hits = 0

    @property
    def semantics(self) -> GraphSemantics:
        return self._semantics

    @property
    def computations(self) -> int:
        """How many times the betweenness was actually computed."""
        return self._computations

    @property
    def hits(self) -> int:
        """How many calls were served from the cache."""
        return self._hits

    @property
    def fingerprint(self) -> str:
        """The fingerprint of the cached topology ("" before the first call)."""
        table = self._table
        return table.fingerprint if table is not None else ""

    @property
    def last_compute_s(self) -> float:
        """Seconds the last recomputation took (0.0 before the first)."""
        table = self._table
        return table.compute_s if table is not None else 0.0

    def table(self, graph: ChannelGraph) -> CentralityTable:
        """The CentralityTable of ``graph``, from the cache when the topology is unchanged."""
        topology = build_topology(graph, self._semantics)
        with self._lock:
            table = self._table
            if table is not None and table.fingerprint == topology.fingerprint:
                self._hits += 1
                return table
            table = centrality_table(topology, threads=self._threads)
            self._table = table
            self._index = table.index()
            self._computations += 1
            return table

    def get(self, graph: ChannelGraph, observed_at_s: int) -> dict[str, CentralityKnown]:
        """pubkey -> CentralityKnown for every node, as ``compute_centrality`` returns."""
        return self.table(graph).messages(observed_at_s)

    def lookup(
        self, graph: ChannelGraph, observed_at_s: int, pubkeys: Iterable[str]
    ) -> dict[str, Centrality]:
        """The centrality of the given nodes; CentralityUnknown for a node not in the graph."""
        table = self.table(graph)
        with self._lock:
            index = self._index if self._table is table else table.index()
        out: dict[str, Centrality] = {}
        for key in pubkeys:
            row = index.get(key)
            if row is None:
                out[key] = CentralityUnknown(reason=NOT_IN_GRAPH)
            else:
                out[key] = CentralityKnown(
                    normalized_ppm=int(table.normalized_ppm[row]),
                    rank=int(table.rank[row]),
                    source=SOURCE,
                    observed_at_s=observed_at_s,
                    estimated=table.estimated,
                )
        return out
