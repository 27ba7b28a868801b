"""Betweenness centrality of every node of the node's own graph, as CentralityKnown messages.

``compute_centrality`` is the public entry point; ``CentralityCache`` (cache.py) wraps it so
that a cycle whose graph did not change pays only for the fingerprint.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from mcp_optimizer.messages import CentralityKnown, ChannelGraph

from .kernel import betweenness_csr, estimate_betweenness_csr
from .topology import (
    DEFAULT_SEMANTICS,
    GraphSemantics,
    Topology,
    build_topology,
    topology_from_pairs,
)

SOURCE = "local-graph"
"""The ``source`` of every CentralityKnown this provider produces."""

PPM = 1_000_000
_TIE_SCALE = 1e12


@dataclass(frozen=True, kw_only=True)
class CentralityTable:
    """The centrality of every node of one topology, as arrays indexed like its pubkeys."""

    pubkeys: tuple[str, ...]
    """Node index -> pubkey."""
    betweenness: np.ndarray
    """Raw betweenness (each unordered pair of nodes once), float64."""
    normalized_ppm: np.ndarray
    """Min-max normalised betweenness in ppm, int64 (see ``normalise_and_rank``)."""
    rank: np.ndarray
    """1 for the most central node, int64 (ties share the better rank)."""
    fingerprint: str
    """The topology's fingerprint."""
    compute_s: float
    """Seconds the betweenness took."""
    pivots: int = 0
    """0: exact betweenness; otherwise estimated from this many sampled pivots
    (:func:`centrality_table`)."""

    @property
    def estimated(self) -> bool:
        return self.pivots > 0

    def messages(self, observed_at_s: int) -> dict[str, CentralityKnown]:
        """pubkey -> CentralityKnown, stamped ``observed_at_s``."""
        return {
            key: CentralityKnown(
                normalized_ppm=ppm, rank=rank, source=SOURCE, observed_at_s=observed_at_s,
                estimated=self.estimated,
            )
            for key, ppm, rank in zip(
                self.pubkeys, self.normalized_ppm.tolist(), self.rank.tolist(), strict=True
            )
        }

    def index(self) -> dict[str, int]:
        """pubkey -> row."""
        return {key: i for i, key in enumerate(self.pubkeys)}


def normalise_and_rank(betweenness: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(normalized_ppm, rank)`` of raw betweenness values.

    Normalisation is LND's GetNodeMetrics min-max: ``(b - lo) / (hi - lo)`` where ``hi`` is the
    largest value and ``lo`` the smallest value or 0, whichever is smaller (LND starts its
    minimum at 0; betweenness is never negative, so ``lo`` is 0 and this is ``b / hi``); all 0
    when ``hi == lo``. Scaled to ppm and rounded to the nearest integer.

    Rank is the competition rank ("1224") on values that agree to 1e-12 of the maximum, so
    nodes whose betweenness is equal up to rounding noise share a rank.
    """
    n = betweenness.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    lo = min(0.0, float(betweenness.min()))
    hi = float(betweenness.max())
    if hi > lo:
        scaled = (betweenness - lo) / (hi - lo)
    else:
        scaled = np.zeros(n, dtype=np.float64)
    ppm = np.rint(scaled * PPM).astype(np.int64)
    key = -np.rint(scaled * _TIE_SCALE)
    ordered = np.sort(key)
    rank = np.searchsorted(ordered, key, side="left").astype(np.int64) + 1
    return ppm, rank


def estimate_worthwhile(topology: Topology, pivots: int) -> bool:
    """Whether ``pivots`` sampled pivots estimate the betweenness of ``topology`` rather than
    exact Brandes: only when they are at most a quarter of its BFS sources (nodes with two or
    more neighbours; the leaves are folded), where the estimate saves most of the work. On
    smaller graphs the exact computation costs little (well under a second)."""
    sources = int(np.count_nonzero(np.diff(topology.indptr) >= 2))
    return pivots > 0 and 4 * pivots <= sources


def pivot_seed(fingerprint: str) -> int:
    """The pivots' seed: the topology's fingerprint (hex), so one graph gives one estimate."""
    try:
        return int(fingerprint[:16], 16)
    except ValueError:
        return 0


def centrality_table(
    topology: Topology, *, threads: int | None = None, pivots: int = 0
) -> CentralityTable:
    """Compute the CentralityTable of a topology: exact Brandes with leaf folding, or with
    ``pivots`` an estimate from that many sampled pivots (Brandes & Pich 2007, see kernel.py)
    where :func:`estimate_worthwhile`; the pivots are seeded by the topology's fingerprint.
    Min-max normalisation is scale-invariant, so the estimate's ppm and ranks are on the scale
    of the exact ones. ``table.pivots`` says which it is (0: exact)."""
    started = time.perf_counter()
    if estimate_worthwhile(topology, pivots):
        raw, _, _ = estimate_betweenness_csr(
            topology.indptr, topology.indices, topology.mult, pivots,
            seed=pivot_seed(topology.fingerprint), threads=threads,
        )
    else:
        pivots = 0
        raw = betweenness_csr(topology.indptr, topology.indices, topology.mult, threads=threads)
    elapsed = time.perf_counter() - started
    ppm, rank = normalise_and_rank(raw)
    return CentralityTable(
        pubkeys=topology.pubkeys,
        betweenness=raw,
        normalized_ppm=ppm,
        rank=rank,
        fingerprint=topology.fingerprint,
        compute_s=elapsed,
        pivots=pivots,
    )


def betweenness(
    graph: ChannelGraph,
    *,
    semantics: GraphSemantics = DEFAULT_SEMANTICS,
    threads: int | None = None,
) -> dict[str, float]:
    """pubkey -> raw betweenness (each unordered pair once, as networkx ``normalized=False``)."""
    table = centrality_table(build_topology(graph, semantics), threads=threads)
    return dict(zip(table.pubkeys, table.betweenness.tolist(), strict=True))


def compute_centrality(
    graph: ChannelGraph,
    observed_at_s: int,
    *,
    semantics: GraphSemantics = DEFAULT_SEMANTICS,
    threads: int | None = None,
) -> dict[str, CentralityKnown]:
    """The betweenness centrality of every node of ``graph``: pubkey -> CentralityKnown.

    ``normalized_ppm`` is min-max normalised to 0..1_000_000 as LND's GetNodeMetrics, ``rank``
    1 for the most central node, ``source`` ``"local-graph"``, ``observed_at_s`` as given.
    Nodes with no channel are included (0 ppm, last rank). ``semantics`` defaults to the
    documented choice (docs/graph-semantics.md); ``threads`` to the CPUs available.
    Raises GraphError for a corrupt graph (a node or channel listed twice).
    """
    table = centrality_table(build_topology(graph, semantics), threads=threads)
    return table.messages(observed_at_s)


def warm_up() -> float:
    """Compile (or load from numba's on-disk cache) the kernels; returns the seconds it took.

    Call once when the service starts, so that no cycle pays for compilation. The compiled
    code is cached on disk (``cache=True``): next to the package when it is writable, else in
    the user's cache directory, or wherever ``NUMBA_CACHE_DIR`` points.
    """
    started = time.perf_counter()
    # Leaves on a triangle: every branch of the kernel runs once.
    topology = topology_from_pairs(
        ("a", "b", "c", "d", "e"), np.array([0, 1, 1, 2, 2]), np.array([1, 2, 3, 3, 4])
    )
    betweenness_csr(topology.indptr, topology.indices, topology.mult, threads=1)
    betweenness_csr(topology.indptr, topology.indices, topology.mult, threads=1, fold_leaves=False)
    estimate_betweenness_csr(topology.indptr, topology.indices, topology.mult, 1, seed=0,
                             threads=1)
    return time.perf_counter() - started
