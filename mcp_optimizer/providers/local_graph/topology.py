"""From a ChannelGraph message to the integer arrays the betweenness kernel walks.

The graph's semantics (which channels count, how parallel channels count) are decided here
and documented in ``docs/graph-semantics.md``. The defaults follow LND's own GetNodeMetrics:
every announced channel is an undirected edge, whatever its policies say, and each parallel
channel between the same two nodes counts as a separate edge (a separate shortest path).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from mcp_optimizer.messages import ChannelGraph, ChannelPolicy, GraphEdge
from mcp_optimizer.scid import scid_text


class GraphError(ValueError):
    """The ChannelGraph cannot be turned into a topology (the message says what is wrong)."""


@dataclass(frozen=True, kw_only=True)
class GraphSemantics:
    """Which channels of the graph are edges, and how parallel channels count.

    The defaults are the service's decision (see docs/graph-semantics.md); the other values
    exist to measure the effect of each choice, and for operators who want routing-only
    rankings.
    """

    count_parallel_channels: bool = True
    """True: k channels between two nodes are k edges (k times the shortest paths through
    them), as LND counts. False: one edge per pair of nodes (the simple graph)."""

    require_enabled_direction: bool = False
    """False: every announced channel is an edge (structural graph, as LND). True: only
    channels with at least one direction whose policy is known and not disabled."""

    require_addresses: bool = False
    """False: nodes without announced addresses keep their channels. True: drop every
    channel that touches a node announcing no address."""

    def key(self) -> str:
        """A short stable text for fingerprints and logs."""
        return (
            f"parallel={int(self.count_parallel_channels)},"
            f"enabled={int(self.require_enabled_direction)},"
            f"addresses={int(self.require_addresses)}"
        )


DEFAULT_SEMANTICS = GraphSemantics()


def _usable(policy: object) -> bool:
    return isinstance(policy, ChannelPolicy) and not policy.disabled


def edge_is_included(edge: GraphEdge, semantics: GraphSemantics) -> bool:
    """Whether a channel is an edge of the graph under these semantics (self-loops never)."""
    if edge.node1_pubkey == edge.node2_pubkey:
        return False
    if semantics.require_enabled_direction:
        return _usable(edge.node1_policy) or _usable(edge.node2_policy)
    return True


@dataclass(frozen=True, kw_only=True)
class Topology:
    """The undirected (multi)graph in compressed sparse row form, nodes sorted by pubkey.

    Arcs ``indptr[v]:indptr[v+1]`` of ``indices`` are v's distinct neighbours; ``mult`` is the
    number of channels each arc stands for (always 1.0 when parallel channels are not counted).
    """

    pubkeys: tuple[str, ...]
    """Node index -> pubkey, sorted (so the same graph always gives the same arrays)."""
    indptr: np.ndarray
    """int64, length n + 1."""
    indices: np.ndarray
    """int32, the neighbour of each arc; each undirected pair appears as two arcs."""
    mult: np.ndarray
    """float64, the multiplicity of each arc."""
    channel_count: int
    """Channels that became edges (parallel ones each counted)."""
    fingerprint: str
    """blake2b of the semantics, the node set and the edge multiset: equal iff same topology."""

    @property
    def node_count(self) -> int:
        return len(self.pubkeys)

    @property
    def pair_count(self) -> int:
        """Distinct pairs of adjacent nodes."""
        return int(self.indices.shape[0] // 2)


def build_topology(graph: ChannelGraph, semantics: GraphSemantics = DEFAULT_SEMANTICS) -> Topology:
    """Build the topology of a ChannelGraph under the given semantics.

    Every node listed in ``graph.nodes`` is a node (with betweenness 0 if it has no edge), and
    so is every channel end that the node list lacks (LND keeps such "shell" nodes too).
    Raises GraphError for a node or channel listed twice: that is a corrupt graph, not a
    semantic choice.
    """
    names: set[str] = set()
    no_address: set[str] = set()
    for node in graph.nodes:
        if node.pubkey in names:
            raise GraphError(f"the channel graph lists node {node.pubkey} twice")
        names.add(node.pubkey)
        if node.address_count <= 0:
            no_address.add(node.pubkey)

    seen_chan_ids: set[int] = set()
    ends: list[tuple[str, str]] = []
    for edge in graph.edges:
        if edge.chan_id in seen_chan_ids:
            raise GraphError(f"the channel graph lists channel {scid_text(edge.chan_id)} twice")
        seen_chan_ids.add(edge.chan_id)
        names.add(edge.node1_pubkey)
        names.add(edge.node2_pubkey)
        if not edge_is_included(edge, semantics):
            continue
        if semantics.require_addresses and (
            edge.node1_pubkey in no_address or edge.node2_pubkey in no_address
        ):
            continue
        ends.append((edge.node1_pubkey, edge.node2_pubkey))

    pubkeys = tuple(sorted(names))
    index = {key: i for i, key in enumerate(pubkeys)}
    if ends:
        a = np.fromiter((index[x] for x, _ in ends), dtype=np.int64, count=len(ends))
        b = np.fromiter((index[y] for _, y in ends), dtype=np.int64, count=len(ends))
    else:
        a = np.empty(0, dtype=np.int64)
        b = np.empty(0, dtype=np.int64)
    return topology_from_pairs(pubkeys, a, b, semantics)


def topology_from_pairs(
    pubkeys: tuple[str, ...],
    a: np.ndarray,
    b: np.ndarray,
    semantics: GraphSemantics = DEFAULT_SEMANTICS,
) -> Topology:
    """Build the CSR arrays from one row per channel (``a[i]``, ``b[i]`` node indices)."""
    n = len(pubkeys)
    lo = np.minimum(a, b).astype(np.int64)
    hi = np.maximum(a, b).astype(np.int64)
    keep = lo != hi
    lo, hi = lo[keep], hi[keep]
    codes, counts = np.unique(lo * max(n, 1) + hi, return_counts=True)
    p = (codes // max(n, 1)).astype(np.int64)
    q = (codes % max(n, 1)).astype(np.int64)
    if semantics.count_parallel_channels:
        weight = counts.astype(np.float64)
    else:
        weight = np.ones(codes.shape[0], dtype=np.float64)

    src = np.concatenate([p, q])
    dst = np.concatenate([q, p])
    w = np.concatenate([weight, weight])
    order = np.lexsort((dst, src))
    src, dst, w = src[order], dst[order], w[order]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=n), out=indptr[1:])

    digest = hashlib.blake2b(digest_size=20)
    digest.update(semantics.key().encode())
    digest.update(b"\0nodes\0")
    digest.update("\n".join(pubkeys).encode())
    digest.update(b"\0pairs\0")
    digest.update(codes.astype("<i8").tobytes())
    if semantics.count_parallel_channels:
        digest.update(b"\0counts\0")
        digest.update(counts.astype("<i8").tobytes())
    return Topology(
        pubkeys=pubkeys,
        indptr=indptr,
        indices=dst.astype(np.int32),
        mult=w,
        channel_count=int(counts.sum()),
        fingerprint=digest.hexdigest(),
    )
