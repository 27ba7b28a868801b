"""Benchmark: the simulator's market over 30 simulated days, as a backtest drives it.

For each scenario: seconds to build (graph, competitors, 30 days of history), then the market
advanced ``--days`` days in steps of ``--step`` seconds (a backtest's stepped clock), with
every step's forwards read back, and a fee change on a tenth of the channels every 6 h (so
that choice tables are recomputed as they would be under an engine). Prints simulated days
per second of wall time, forwards and failures by kind.

Run: .venv/bin/python benchmarks/bench_sim_market.py [SCENARIO ...] [--days 30] [--step 3600]
     (default scenarios: demo large)
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace

from mcp_optimizer.simulator.model import ScenarioError, SimulatedNode
from mcp_optimizer.simulator.scenario import load_scenario


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenarios", nargs="*", default=["demo", "large"])
    ap.add_argument("--days", type=float, default=30.0)
    ap.add_argument("--step", type=int, default=3600, help="seconds per advance() call")
    args = ap.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores (shared)")
    for name in args.scenarios:
        try:
            sc = load_scenario(name)
            t0 = time.perf_counter()
            node = SimulatedNode.from_config(sc)
            build_s = time.perf_counter() - t0
        except ScenarioError as exc:
            print(f"{name}: skipped ({exc})")
            continue
        chans = node.channels()
        total_s = int(args.days * 86_400)
        start = node.now_s()
        forwards = 0
        t0 = time.perf_counter()
        done = 0
        k = 0
        while done < total_s:
            step = min(args.step, total_s - done)
            node.advance(step)
            forwards += len(node.forwards(node.now_s() - step, node.now_s()).columns)
            done += step
            if done // 21_600 > k:  # every 6 h: a tenth of the channels change fee
                k = done // 21_600
                for c in chans[k % 10 :: 10]:
                    p = node.channel(c.channel_point).local_policy
                    new = max(1, int(p.fee_rate_ppm * (1.1 if k % 2 else 0.9)))
                    node.set_local_policy(c.channel_point, replace(p, fee_rate_ppm=new))
        run_s = time.perf_counter() - t0
        fails = node.htlc_failures(start, node.now_s())
        fee_fails = sum(f.wire_failure == "FEE_INSUFFICIENT" for f in fails)
        print(
            f"{name}: {len(chans)} channels; build {build_s:.1f} s; {args.days:g} days in"
            f" {run_s:.1f} s = {args.days / run_s:.2f} simulated days/s (advance every"
            f" {args.step} s); {forwards:,} forwards, {len(fails) - fee_fails:,}"
            f" INSUFFICIENT_BALANCE, {fee_fails:,} FEE_INSUFFICIENT"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
