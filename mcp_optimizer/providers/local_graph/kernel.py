r"""Exact betweenness of an undirected, unweighted (multi)graph: Brandes with leaf folding.

Definitions
-----------
For an undirected graph, ``BC(v) = 1/2 * sum over ordered pairs (s, t), s != v != t, of
sigma_st(v) / sigma_st``, where ``sigma_st`` counts the shortest s-t paths and
``sigma_st(v)`` those through v. This is networkx's ``betweenness_centrality(normalized=False)``
and LND's raw value (LND also halves the ordered sum). Parallel edges multiply path counts:
with k channels between u and w, each path through u-w counts k times (an arc weight ``mult``;
``mult == 1`` everywhere gives the simple graph).

Brandes (2001): for a source s, after a BFS that yields ``sigma_s*`` and distances, the
dependency ``delta_s(v) = sum_t sigma_st(v)/sigma_st`` obeys
``delta_s(v) = sum over successors w of v (sigma_sv * mult(v,w) / sigma_sw) * (1 + delta_s(w))``,
accumulated in reverse BFS order; ``BC(v) = 1/2 sum_s delta_s(v)``. The graph is unweighted,
so the BFS queue is already ordered by distance and doubles as the stack, and predecessors
are not stored: the accumulation scans w's arcs for neighbours at distance ``d(w) - 1``.

Leaf folding
------------
About half of the Lightning graph's nodes have a single neighbour (a "leaf"; parallel channels
to that one neighbour still make a leaf). A leaf x attached to the core node a:

* is never inside a shortest path (an inner node needs two distinct neighbours): BC(x) = 0;
* has exactly a's shortest paths, extended by the edge x-a: for any t != x, a,
  ``sigma_xt = mult(x,a) * sigma_at``, and the factor cancels in every ratio, so
  ``sigma_xt(v)/sigma_xt = sigma_at(v)/sigma_at`` for v != a, and 1 for v = a.

So leaves need not be BFS sources or even graph nodes. Let C be the graph without its
leaves (the core), ``l(a)`` the number of leaves attached to a core node a, and the weight
``w(a) = 1 + l(a)`` (a itself and its leaves). Splitting the ordered pairs (s, t) of the full
graph by their anchors (a node's anchor is itself if core, its neighbour if a leaf), for a
core node v:

1. Anchors a != b, both != v: every such pair has ``sigma_st(v)/sigma_st = sigma_ab(v)/sigma_ab``
   in C, and there are ``w(a) * w(b)`` pairs with these anchors. Their total is a weighted
   Brandes on C: source weight ``w(s)``, target weight ``w(t)``, with the recurrence
   ``delta_s(v) = sum_w (sigma_sv * mult / sigma_sw) * (w(w) + delta_s(w))`` and
   ``sum_s w(s) * delta_s(v)``.
2. v is the anchor of one end and that end is one of v's leaves (v is then inside every path):
   * the other end has another anchor b in v's component: ``l(v) * (W - w(v))`` pairs in each
     order, where W is the total weight of v's component in C (all original nodes there);
   * the other end is another leaf of v: ``l(v) * (l(v) - 1)`` ordered pairs.
   So ``E(v) = 2 l(v) (W - w(v)) + l(v) (l(v) - 1)``; W is the weight reached by the BFS from
   v, which the kernel already computes.
3. Every other pair contributes nothing to v: v is one of its ends, or both ends share an
   anchor a != v (their only shortest path is s-a-t, or s-a when t is a itself).

Hence ``BC(v) = (sum_s w(s) delta_s(v) + E(v)) / 2`` for core nodes, and 0 for leaves. Two
nodes that are each other's only neighbour (an isolated channel) and nodes with no edge
have BC = 0 and touch nothing else, so they are left out of the core as well. On the 2026
mainnet snapshot 8,596 leaves are folded and 1,222 nodes of isolated channels dropped: 7,506
of 17,324 nodes remain as BFS sources, and each BFS walks 77,322 arcs instead of 95,736.

Sampled sources (an estimate)
-----------------------------
``estimate_betweenness_csr`` runs the kernel from sampled sources only (Brandes & Pich 2007,
"Centrality estimation in large networks": ``k`` pivots drawn uniformly from the graph's nodes,
the sum scaled by ``n/k``). On the folded graph a leaf pivot is its anchor (its paths are the
anchor's), so drawing ``k`` nodes uniformly from the original graph is drawing core sources
with replacement, each with probability ``w(s)/W_total``; a source drawn ``c(s)`` times gets
the factor ``c(s) * W_total / k`` in place of ``w(s)``. Its expectation is ``w(s)``, so the
sum is an unbiased estimate of term 1 above. (Drawing the core's sources uniformly instead,
factor ``w(s) * n_c/k``, is unbiased too but misses or over-counts the hubs with many leaves:
on the 2026 mainnet graph with 512 pivots its error at the top was about 3x larger.) The leaf
term ``E(v)`` needs no BFS from v (``W`` is the weight of v's component), so it is computed
exactly for every core node and not scaled: the kernel adds it for the drawn sources, the
estimate takes it out and adds the exact one for every node. The generator is seeded, so the
same graph and seed give the same estimate; with ``k >= n_c`` the exact betweenness is
computed instead.

Parallelism: sources are split into chunks; each chunk runs in a thread in the nogil compiled
loop with its own work arrays and its own accumulator; the accumulators are summed in chunk
order, so the result does not depend on thread scheduling.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numba import njit

__all__ = ["CACHING", "betweenness_csr", "default_threads", "estimate_betweenness_csr"]

CACHING = True
"""Whether compiled kernels are cached on disk (False where no cache directory is writable)."""


def _compiled(fn):
    """``njit(nogil=True, cache=True)``, or without the disk cache where numba finds no
    writable place for it (package directory, user cache directory or ``NUMBA_CACHE_DIR``):
    then the kernels compile at ``warm_up()`` in every process instead of failing the import.
    """
    global CACHING
    try:
        return njit(nogil=True, cache=True)(fn)
    except RuntimeError:  # numba: "cannot cache function ...: no locator available"
        CACHING = False
        return njit(nogil=True)(fn)


@_compiled
def _brandes_sources(indptr, indices, mult, weight, sources, factor, out):  # pragma: no cover
    """Add ``sum_s factor(s) * delta_s(v) + E(v)`` of the given sources into ``out`` (see
    module); ``factor`` is ``w(s)`` for the exact betweenness."""
    n = indptr.shape[0] - 1
    dist = np.full(n, -1, np.int32)
    sigma = np.zeros(n, np.float64)
    delta = np.zeros(n, np.float64)
    order = np.empty(n, np.int32)
    for k in range(sources.shape[0]):
        s = sources[k]
        dist[s] = 0
        sigma[s] = 1.0
        order[0] = s
        head = 0
        tail = 1
        reached = 0.0
        while head < tail:
            v = order[head]
            head += 1
            reached += weight[v]
            next_d = dist[v] + 1
            sv = sigma[v]
            for arc in range(indptr[v], indptr[v + 1]):
                u = indices[arc]
                du = dist[u]
                if du < 0:
                    dist[u] = next_d
                    order[tail] = u
                    tail += 1
                    sigma[u] += sv * mult[arc]
                elif du == next_d:
                    sigma[u] += sv * mult[arc]
        fs = factor[k]
        for i in range(tail - 1, 0, -1):
            u = order[i]
            coef = (weight[u] + delta[u]) / sigma[u]
            prev_d = dist[u] - 1
            for arc in range(indptr[u], indptr[u + 1]):
                v = indices[arc]
                if dist[v] == prev_d:
                    delta[v] += sigma[v] * mult[arc] * coef
            out[u] += fs * delta[u]
        ws = weight[s]
        leaves = ws - 1.0
        out[s] += 2.0 * leaves * (reached - ws) + leaves * (leaves - 1.0)
        for i in range(tail):
            u = order[i]
            dist[u] = -1
            sigma[u] = 0.0
            delta[u] = 0.0


def default_threads() -> int:
    """The CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


@_compiled
def _bfs_order(indptr, indices, start):  # pragma: no cover - compiled
    """Every node once, in BFS order from ``start`` then from each unreached node in turn."""
    n = indptr.shape[0] - 1
    seen = np.zeros(n, np.bool_)
    order = np.empty(n, np.int64)
    tail = 0
    for root in range(-1, n):
        r = start if root < 0 else root
        if seen[r]:
            continue
        seen[r] = True
        order[tail] = r
        head = tail
        tail += 1
        while head < tail:
            v = order[head]
            head += 1
            for arc in range(indptr[v], indptr[v + 1]):
                u = indices[arc]
                if not seen[u]:
                    seen[u] = True
                    order[tail] = u
                    tail += 1
    return order


@_compiled
def _component_weight(indptr, indices, weight):  # pragma: no cover - compiled
    """For every node, the total ``weight`` of its connected component."""
    n = indptr.shape[0] - 1
    label = np.full(n, -1, np.int64)
    totals = np.zeros(n, np.float64)
    order = np.empty(n, np.int64)
    for root in range(n):
        if label[root] >= 0:
            continue
        label[root] = root
        order[0] = root
        head = 0
        tail = 1
        while head < tail:
            v = order[head]
            head += 1
            totals[root] += weight[v]
            for arc in range(indptr[v], indptr[v + 1]):
                u = indices[arc]
                if label[u] < 0:
                    label[u] = root
                    order[tail] = u
                    tail += 1
    out = np.empty(n, np.float64)
    for v in range(n):
        out[v] = totals[label[v]]
    return out


def _csr(
    n: int, src: np.ndarray, dst: np.ndarray, mult: np.ndarray, rank: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR arrays of the arcs (src, dst), each row ordered by ``rank[dst]``."""
    order = np.lexsort((rank[dst], src))
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=n), out=indptr[1:])
    return indptr, dst[order].astype(np.int32), np.ascontiguousarray(mult[order])


def _fold_leaves(
    indptr: np.ndarray, indices: np.ndarray, mult: np.ndarray, fold: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The graph the kernel walks: ``(nodes, indptr, indices, mult, weight)``.

    With ``fold``, only the core (nodes with two or more distinct neighbours) remains, and
    each core node weighs 1 + its folded leaves; without, every node with an edge, weight 1.
    Either way the nodes are renumbered in BFS order from the highest-degree node, with each
    node's neighbours visited by decreasing degree: neighbours then sit close together in
    memory, which makes every later BFS faster (3.5 s instead of 5.0 s on one core for the
    2026 mainnet graph). ``nodes[i]`` is the original index of kernel node i.
    """
    n = indptr.shape[0] - 1
    degree = np.diff(indptr)
    src = np.repeat(np.arange(n, dtype=np.int64), degree)
    dst = indices.astype(np.int64)
    if fold:
        is_leaf = degree == 1
        anchor = np.full(n, -1, dtype=np.int64)
        anchor[is_leaf] = indices[indptr[:-1][is_leaf]]
        folded = np.zeros(n, dtype=bool)
        folded[is_leaf] = degree[anchor[is_leaf]] >= 2
        kept = degree >= 2
    else:
        kept = degree >= 1
    nodes = np.flatnonzero(kept)
    k = nodes.shape[0]
    new_id = np.full(n, -1, dtype=np.int64)
    new_id[nodes] = np.arange(k)
    keep = kept[src] & kept[dst]
    k_src, k_dst, k_mult = new_id[src[keep]], new_id[dst[keep]], mult[keep]
    k_degree = np.bincount(k_src, minlength=k)
    weight = np.ones(k, dtype=np.float64)
    if fold:
        np.add.at(weight, new_id[anchor[folded]], 1.0)
    if k == 0:
        return nodes, np.zeros(1, dtype=np.int64), k_dst.astype(np.int32), k_mult, weight

    by_degree = np.empty(k, dtype=np.int64)
    by_degree[np.argsort(-k_degree, kind="stable")] = np.arange(k)
    ip, ix, _ = _csr(k, k_src, k_dst, k_mult, by_degree)
    perm = _bfs_order(ip, ix, int(np.argmax(k_degree)))
    inv = np.empty(k, dtype=np.int64)
    inv[perm] = np.arange(k)
    ip, ix, mu = _csr(k, inv[k_src], inv[k_dst], k_mult, np.arange(k))
    return nodes[perm], ip, ix, mu, weight[perm]


def _accumulate(
    c_indptr: np.ndarray,
    c_indices: np.ndarray,
    c_mult: np.ndarray,
    weight: np.ndarray,
    sources: np.ndarray,
    factor: np.ndarray,
    threads: int | None,
) -> np.ndarray:
    """``sum_s factor(s) delta_s + E`` over ``sources`` (the kernel), in chunks on threads."""
    nc = c_indptr.shape[0] - 1
    workers = threads if threads is not None else default_threads()
    # Many small chunks, handed out in turn, balance the load (BFS cost differs per source).
    n_chunks = min(sources.shape[0], max(1, workers) * 16)
    chunks = list(zip(np.array_split(sources, n_chunks), np.array_split(factor, n_chunks),
                      strict=True))

    def run(chunk: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        out = np.zeros(nc, dtype=np.float64)
        _brandes_sources(c_indptr, c_indices, c_mult, weight, chunk[0], chunk[1], out)
        return out

    if workers <= 1:
        partials = [run(chunk) for chunk in chunks]
    else:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="brandes") as pool:
            partials = list(pool.map(run, chunks))
    total = np.zeros(nc, dtype=np.float64)
    for part in partials:
        total += part
    return total


def _kernel_graph(
    indptr: np.ndarray, indices: np.ndarray, mult: np.ndarray, fold: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    indptr = np.ascontiguousarray(indptr, dtype=np.int64)
    indices = np.ascontiguousarray(indices, dtype=np.int32)
    mult = np.ascontiguousarray(mult, dtype=np.float64)
    return _fold_leaves(indptr, indices, mult, fold)


def betweenness_csr(
    indptr: np.ndarray,
    indices: np.ndarray,
    mult: np.ndarray,
    *,
    threads: int | None = None,
    fold_leaves: bool = True,
) -> np.ndarray:
    """Exact betweenness (unnormalised, undirected: each unordered pair once) of every node.

    ``indptr``/``indices`` is a symmetric CSR adjacency without self-loops or duplicate arcs,
    each row sorted; ``mult`` the channel count of each arc. ``fold_leaves=False`` runs plain
    Brandes from every node (the reference the folding is tested against).
    """
    n = indptr.shape[0] - 1
    result = np.zeros(n, dtype=np.float64)
    if n == 0 or indices.shape[0] == 0:
        return result
    core_nodes, c_indptr, c_indices, c_mult, weight = _kernel_graph(
        indptr, indices, mult, fold_leaves
    )
    nc = core_nodes.shape[0]
    if nc == 0:
        return result
    sources = np.arange(nc, dtype=np.int64)
    total = _accumulate(c_indptr, c_indices, c_mult, weight, sources, weight, threads)
    result[core_nodes] = total / 2.0
    return result


def estimate_betweenness_csr(
    indptr: np.ndarray,
    indices: np.ndarray,
    mult: np.ndarray,
    pivots: int,
    *,
    seed: int,
    threads: int | None = None,
) -> tuple[np.ndarray, int, int]:
    """Betweenness estimated from ``pivots`` sampled pivots (see the module docstring):
    ``(betweenness, pivots drawn, core sources)``, the values on the scale of
    :func:`betweenness_csr`. The pivots are drawn by ``numpy.random.default_rng(seed)``, so the
    same graph and seed give the same estimate; with ``pivots`` at least the core's size the
    result is the exact betweenness (every source run once)."""
    n = indptr.shape[0] - 1
    result = np.zeros(n, dtype=np.float64)
    if n == 0 or indices.shape[0] == 0:
        return result, 0, 0
    core_nodes, c_indptr, c_indices, c_mult, weight = _kernel_graph(
        indptr, indices, mult, True
    )
    nc = core_nodes.shape[0]
    if nc == 0:
        return result, 0, 0
    k = max(1, min(int(pivots), nc))
    if k == nc:
        total = _accumulate(c_indptr, c_indices, c_mult, weight, np.arange(nc), weight, threads)
        result[core_nodes] = total / 2.0
        return result, nc, nc
    leaves = weight - 1.0
    reached = _component_weight(c_indptr, c_indices, weight)
    leaf_term = 2.0 * leaves * (reached - weight) + leaves * (leaves - 1.0)
    rng = np.random.default_rng(seed)
    total_weight = float(weight.sum())
    drawn = rng.choice(nc, size=k, replace=True, p=weight / total_weight)
    sources, counts = np.unique(drawn, return_counts=True)
    factor = counts * (total_weight / k)
    total = _accumulate(c_indptr, c_indices, c_mult, weight, sources, factor, threads)
    total[sources] -= leaf_term[sources]
    result[core_nodes] = (total + leaf_term) / 2.0
    return result, k, nc
