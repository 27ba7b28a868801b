"""Benchmark of the local betweenness centrality on the real 2026 mainnet graph.

Run: ``.venv/bin/python benchmarks/bench_centrality.py`` (about 1 minute on 2 cores).

Prints, for the snapshot in ``../shared/data/ln-graph/``:

* cold start in a fresh process with an empty numba cache (import, compile, first run) and with
  the on-disk cache filled (what a restarted service pays), and that process's peak memory;
* warm ``compute_centrality`` (median of ``--repeats``), its parts, and a cache hit;
* exactness: the leaf-folding kernel against plain Brandes from every node, and against
  networkx on the same (simple) graph with ``--with-networkx`` (about 20 minutes) or against a
  networkx result saved earlier (``--reference FILE.npy``; ``--save-reference`` writes one);
* the effect of each graph-semantics choice on the ranking (Spearman, top-100 overlap);
* the first computation's estimate from sampled pivots (``MCP_CENTRALITY_PIVOTS``): its time
  and its agreement with exact Brandes for the default and a few other pivot counts, on the
  draw the service makes (seeded by the fingerprint) and on other seeds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _vm_kib(field: str) -> int:
    """A field of /proc/self/status in KiB (0 where /proc is absent)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _child(data: Path, repeats: int, threads: int | None) -> None:
    """Cold path, run in a fresh process: prints one JSON line."""
    t0 = time.perf_counter()
    from mcp_optimizer.providers.local_graph import compute_centrality, warm_up
    from mcp_optimizer.providers.local_graph.snapshot import load_snapshot

    import_s = time.perf_counter() - t0
    graph = load_snapshot(data)
    rss_loaded = _vm_kib("VmRSS")
    warm_s = warm_up()
    t1 = time.perf_counter()
    compute_centrality(graph, graph.taken_at_s, threads=threads)
    first_s = time.perf_counter() - t1
    runs = []
    for _ in range(repeats):
        t2 = time.perf_counter()
        compute_centrality(graph, graph.taken_at_s, threads=threads)
        runs.append(time.perf_counter() - t2)
    print(
        json.dumps(
            {
                "import_s": import_s,
                "warm_up_s": warm_s,
                "first_s": first_s,
                "median_s": statistics.median(runs),
                "rss_after_load_mib": rss_loaded / 1024,
                "peak_rss_mib": _vm_kib("VmHWM") / 1024,
            }
        )
    )


def _run_child(data: Path, repeats: int, threads: int | None, cache_dir: str) -> dict:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    cmd = [sys.executable, __file__, "--child", "--data", str(data), "--repeats", str(repeats)]
    if threads is not None:
        cmd += ["--threads", str(threads)]
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _ranks(values):
    """Average ranks (1 = smallest) with ties sharing the mean rank, for Spearman."""
    import numpy as np

    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = np.arange(1, len(values) + 1)
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=ranks)
    return (sums / counts)[inverse]


def _quantised(values):
    """Values to 1e-12 of the maximum: equal values differing by float noise tie, as in ranks."""
    import numpy as np

    top = float(np.max(values)) if len(values) else 0.0
    return np.rint(values / top * 1e12) if top > 0 else np.zeros_like(values)


def spearman(a, b) -> float:
    import numpy as np

    ra, rb = _ranks(_quantised(a)), _ranks(_quantised(b))
    return float(np.corrcoef(ra, rb)[0, 1])


def top_overlap(a, b, k: int = 100) -> int:
    import numpy as np

    ta = set(np.argsort(-a, kind="stable")[:k].tolist())
    tb = set(np.argsort(-b, kind="stable")[:k].tolist())
    return len(ta & tb)


def top_displacement(estimate, exact, k: int = 100) -> int:
    """The largest move in rank, in the estimate, of the exact top-k nodes."""
    import numpy as np

    rank = np.empty(len(estimate), dtype=np.int64)
    rank[np.argsort(-estimate, kind="stable")] = np.arange(len(estimate))
    top = np.argsort(-exact, kind="stable")[:k]
    return int(np.max(np.abs(rank[top] - np.arange(k))))


def max_rel_err(a, b) -> float:
    import numpy as np

    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1.0)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared/data/ln-graph")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--with-networkx", action="store_true")
    parser.add_argument("--reference", type=Path, help="networkx result saved by this script")
    parser.add_argument("--save-reference", type=Path, help="where to save the networkx result")
    parser.add_argument("--pivots", type=int, nargs="*", default=None,
                        help="pivot counts for the estimate (default: 256 512 <default> 2048)")
    parser.add_argument("--seeds", type=int, default=3, help="other seeds per pivot count")
    parser.add_argument("--estimates-only", action="store_true",
                        help="only the exact kernel's time and the estimates")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not (args.data / "ln-2026-02-03.channels.csv.gz").is_file():
        print(f"bench_centrality: no graph snapshot in {args.data}", file=sys.stderr)
        return 2
    if args.child:
        _child(args.data, args.repeats, args.threads)
        return 0

    import numpy as np

    from mcp_optimizer.providers.local_graph import (
        CentralityCache,
        GraphSemantics,
        build_topology,
        compute_centrality,
        normalise_and_rank,
        warm_up,
    )
    from mcp_optimizer.providers.local_graph.kernel import betweenness_csr, default_threads
    from mcp_optimizer.providers.local_graph.snapshot import load_snapshot

    threads = args.threads or default_threads()
    print(f"# bench_centrality: {args.data}, {threads} threads, load {os.getloadavg()}")
    if args.estimates_only:
        graph = load_snapshot(args.data)
        warm_up()
        topo = build_topology(graph)
        times = []
        for _ in range(args.repeats):
            t = time.perf_counter()
            exact = betweenness_csr(topo.indptr, topo.indices, topo.mult, threads=args.threads)
            times.append(time.perf_counter() - t)
        t = time.perf_counter()
        betweenness_csr(topo.indptr, topo.indices, topo.mult, threads=1)
        _estimates(topo, exact, args, statistics.median(times), time.perf_counter() - t)
        print(f"load at the end {os.getloadavg()}")
        return 0

    with tempfile.TemporaryDirectory(prefix="numba-cache-") as cache_dir:
        cold = _run_child(args.data, 1, args.threads, cache_dir)
        cached = _run_child(args.data, 1, args.threads, cache_dir)
    print("\n## Cold start (fresh process)")
    print(
        f"empty numba cache:  import {cold['import_s']:.2f} s, compile {cold['warm_up_s']:.2f} s,"
        f" first run {cold['first_s']:.2f} s; total cold"
        f" {cold['warm_up_s'] + cold['first_s']:.2f} s"
    )
    print(
        f"filled disk cache:  import {cached['import_s']:.2f} s, load {cached['warm_up_s']:.2f} s,"
        f" first run {cached['first_s']:.2f} s"
    )
    print(
        f"peak RSS of that process: {cached['peak_rss_mib']:.0f} MiB"
        f" (after loading the graph: {cached['rss_after_load_mib']:.0f} MiB)"
    )

    t = time.perf_counter()
    graph = load_snapshot(args.data)
    load_s = time.perf_counter() - t
    warm_up()
    topo_times, runs = [], []
    for _ in range(args.repeats):
        t = time.perf_counter()
        topo = build_topology(graph)
        topo_times.append(time.perf_counter() - t)
    tracemalloc.start()
    for _ in range(args.repeats):
        t = time.perf_counter()
        result = compute_centrality(graph, graph.taken_at_s, threads=args.threads)
        runs.append(time.perf_counter() - t)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    cache = CentralityCache(threads=args.threads)
    cache.get(graph, 1)
    hits = []
    for i in range(args.repeats):
        t = time.perf_counter()
        cache.get(graph, 2 + i)
        hits.append(time.perf_counter() - t)
    kernel_times = []
    for _ in range(args.repeats):
        t = time.perf_counter()
        betweenness_csr(topo.indptr, topo.indices, topo.mult, threads=args.threads)
        kernel_times.append(time.perf_counter() - t)
    single = []
    t = time.perf_counter()
    betweenness_csr(topo.indptr, topo.indices, topo.mult, threads=1)
    single.append(time.perf_counter() - t)

    degree = np.diff(topo.indptr)
    core = int((degree >= 2).sum())
    anchors = topo.indices[topo.indptr[:-1][degree == 1]]
    folded_leaves = int((degree[anchors] >= 2).sum())
    print(f"\n## Warm, in a running service (medians of {args.repeats})")
    print(
        f"graph: {topo.node_count} nodes, {topo.pair_count} pairs, {topo.channel_count} channels;"
        f" {folded_leaves} leaves folded, {core} nodes left as BFS sources"
    )
    print(f"load CSV -> ChannelGraph: {load_s:.2f} s (benchmark input only)")
    print(f"compute_centrality: {statistics.median(runs):.2f} s  (runs: "
          + ", ".join(f"{x:.2f}" for x in runs) + ")")
    print(f"  of which build_topology {statistics.median(topo_times):.3f} s,"
          f" kernel {statistics.median(kernel_times):.2f} s ({threads} threads),"
          f" kernel on 1 thread {single[0]:.2f} s")
    print(f"CentralityCache hit (fingerprint + messages): {statistics.median(hits):.3f} s")
    print(f"peak traced Python/numpy memory during compute_centrality: {peak / 2**20:.1f} MiB")
    assert len(result) == topo.node_count

    print("\n## Exactness")
    t = time.perf_counter()
    plain = betweenness_csr(topo.indptr, topo.indices, topo.mult, fold_leaves=False)
    plain_s = time.perf_counter() - t
    folded = betweenness_csr(topo.indptr, topo.indices, topo.mult)
    print(
        f"leaf folding vs plain Brandes from all {topo.node_count} nodes ({plain_s:.1f} s):"
        f" max relative error {max_rel_err(folded, plain):.1e}, Spearman"
        f" {spearman(folded, plain):.12f}, top-100 overlap {top_overlap(folded, plain)}/100"
    )
    simple = build_topology(graph, GraphSemantics(count_parallel_channels=False))
    ours_simple = betweenness_csr(simple.indptr, simple.indices, simple.mult)
    reference = None
    if args.with_networkx:
        import networkx as nx

        g = nx.Graph()
        g.add_nodes_from(range(simple.node_count))
        for v in range(simple.node_count):
            for u in simple.indices[simple.indptr[v] : simple.indptr[v + 1]].tolist():
                if u > v:
                    g.add_edge(v, u)
        t = time.perf_counter()
        ref = nx.betweenness_centrality(g, normalized=False)
        nx_s = time.perf_counter() - t
        reference = np.array([ref[i] for i in range(simple.node_count)])
        print(f"networkx {nx.__version__} exact betweenness, same simple graph: {nx_s:.0f} s")
        if args.save_reference:
            np.save(args.save_reference, reference)
            args.save_reference.with_suffix(".json").write_text(
                json.dumps({"fingerprint": simple.fingerprint, "seconds": nx_s})
            )
    elif args.reference:
        meta_path = args.reference.with_suffix(".json")
        meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
        if not args.reference.is_file() or not meta:
            print(f"reference: {args.reference} or {meta_path} missing; not compared")
        elif meta["fingerprint"] != simple.fingerprint:
            print("reference: fingerprint differs from this graph; not compared", file=sys.stderr)
        else:
            reference = np.load(args.reference)
            print(f"networkx reference from {args.reference} (it took {meta['seconds']:.0f} s)")
    if reference is not None:
        ppm_ours, _ = normalise_and_rank(ours_simple)
        ppm_ref, _ = normalise_and_rank(reference)
        print(
            f"ours vs networkx (simple graph): max relative error"
            f" {max_rel_err(ours_simple, reference):.1e}, Spearman"
            f" {spearman(ours_simple, reference):.12f}, top-100 overlap"
            f" {top_overlap(ours_simple, reference)}/100, normalized_ppm equal on"
            f" {int((ppm_ours == ppm_ref).sum())}/{len(ppm_ref)} nodes"
        )
    else:
        print("networkx: not run (--with-networkx, ~20 min; shared README: 1,146 s)")

    print("\n## Semantics (vs the default: every channel, parallel channels counted)")
    variants = {
        "simple graph (parallel channels once)": GraphSemantics(count_parallel_channels=False),
        "routable only (>= 1 known, enabled direction)": GraphSemantics(
            require_enabled_direction=True
        ),
        "routable only, simple graph": GraphSemantics(
            require_enabled_direction=True, count_parallel_channels=False
        ),
    }
    base = folded
    for label, sem in variants.items():
        topo_v = build_topology(graph, sem)
        bc = betweenness_csr(topo_v.indptr, topo_v.indices, topo_v.mult)
        print(
            f"{label}: {topo_v.channel_count} channels / {topo_v.pair_count} pairs;"
            f" Spearman {spearman(bc, base):.4f}; top-100 overlap {top_overlap(bc, base)}/100;"
            f" top-10 overlap {top_overlap(bc, base, 10)}/10"
        )
    print("nodes without addresses: not measurable here (the snapshot carries no addresses)")
    _estimates(topo, folded, args, statistics.median(kernel_times), single[0])
    return 0


def _estimates(topo, exact, args, exact_s: float, exact_1_s: float) -> None:
    """The sampled-pivot estimate against exact Brandes (``folded``, the default semantics)."""
    from mcp_optimizer.providers.local_graph.centrality import pivot_seed
    from mcp_optimizer.providers.local_graph.kernel import estimate_betweenness_csr
    from mcp_optimizer.runtime.settings import DEFAULT_CENTRALITY_PIVOTS

    counts = args.pivots or [256, 512, DEFAULT_CENTRALITY_PIVOTS, 2048]
    seed = pivot_seed(topo.fingerprint)
    print(f"\n## First computation: estimate from sampled pivots (default "
          f"{DEFAULT_CENTRALITY_PIVOTS}; exact kernel {exact_s:.2f} s, {exact_1_s:.2f} s on 1 "
          f"thread)")
    print("the service's draw (seed = fingerprint), then the range over "
          f"{args.seeds} other seeds; time: median of {args.repeats}, all threads / 1 thread")
    print("| pivots | time | 1 thread | Spearman | top-100 overlap | top-10 | max displacement "
          "of the top 100 | other seeds: Spearman, top-100, top-10, displacement |")
    print("|---|---|---|---|---|---|---|---|")
    for k in counts:
        times = []
        for _ in range(args.repeats):
            t = time.perf_counter()
            est, _, _ = estimate_betweenness_csr(topo.indptr, topo.indices, topo.mult, k,
                                                 seed=seed, threads=args.threads)
            times.append(time.perf_counter() - t)
        t = time.perf_counter()
        estimate_betweenness_csr(topo.indptr, topo.indices, topo.mult, k, seed=seed, threads=1)
        one_s = time.perf_counter() - t
        others = [estimate_betweenness_csr(topo.indptr, topo.indices, topo.mult, k,
                                           seed=seed + 1 + i, threads=args.threads)[0]
                  for i in range(args.seeds)]

        def span(fn, fmt: str, others=others) -> str:
            values = [fn(o) for o in others]
            return f"{min(values):{fmt}}-{max(values):{fmt}}" if values else "-"

        print(f"| {k} | {statistics.median(times):.2f} s | {one_s:.2f} s "
              f"| {spearman(est, exact):.4f} | {top_overlap(est, exact)}/100 "
              f"| {top_overlap(est, exact, 10)}/10 | {top_displacement(est, exact)} "
              f"| {span(lambda o: spearman(o, exact), '.4f')}, "
              f"{span(lambda o: top_overlap(o, exact), 'd')}, "
              f"{span(lambda o: top_overlap(o, exact, 10), 'd')}, "
              f"{span(lambda o: top_displacement(o, exact), 'd')} |", flush=True)


if __name__ == "__main__":
    sys.exit(main())
