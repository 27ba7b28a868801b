"""Benchmark: build the shipped simulator scenarios and run their market; print the figures.

For each scenario: seconds to build (graph, channels and the pre-generated history), forwards
and failed attempts in the history, peak RSS growth, seconds to simulate one more day, and the
settlement rate. ``mainnet`` needs the real snapshot in ../shared/data/ln-graph (run from the
repository root); it is skipped, saying so, when absent.

Run: .venv/bin/python benchmarks/bench_sim_build.py [SCENARIO ...]   (default: demo mainnet large)
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

from mcp_optimizer.simulator.model import ScenarioError, SimulatedNode
from mcp_optimizer.simulator.scenario import load_scenario


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenarios", nargs="*", default=["demo", "mainnet", "large"])
    args = ap.parse_args()
    print(f"python {sys.version.split()[0]}, cwd {Path.cwd()}")
    for name in args.scenarios:
        try:
            sc = load_scenario(name)
            before = rss_mb()
            t0 = time.perf_counter()
            node = SimulatedNode.from_config(sc)
            build_s = time.perf_counter() - t0
        except ScenarioError as exc:
            print(f"{name}: skipped ({exc})")
            continue
        grown = rss_mb() - before
        now = node.now_s()
        fwd = len(node.forwards(now - 10**9, now))
        fails = len(node.htlc_failures(now - 10**9, now))
        t0 = time.perf_counter()
        nodes, edges = node.graph()
        graph_s = time.perf_counter() - t0
        count0 = node.forward_count()
        t0 = time.perf_counter()
        node.advance(86_400)
        day_s = time.perf_counter() - t0
        day_fwd = node.forward_count() - count0
        print(
            f"{name}: {len(node.channels())} channels, graph {len(nodes)} nodes / {len(edges)}"
            f" channels; build {build_s:.3f} s, history {sc.history_days:g} days ="
            f" {fwd} forwards + {fails} failed attempts ({(fwd + fails) / build_s:,.0f}"
            f" attempts/s incl. graph); peak RSS +{grown:.0f} MB; graph() {graph_s:.3f} s;"
            f" one more day {day_s * 1000:.0f} ms ({day_fwd} forwards)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
