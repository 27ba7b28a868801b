"""Benchmark: evaluate 2,000 channel snapshots; print channels per second and peak memory.

Run: .venv/bin/python benchmarks/bench_engine.py [--channels 2000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
import tracemalloc

from sample_snapshots import sample_snapshots

from mcp_optimizer.policies.config import load_policy
from mcp_optimizer.policies.engine import evaluate_channel


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--channels", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    policy = load_policy(environ={})
    snapshots = sample_snapshots(args.channels)
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        for s in snapshots:
            evaluate_channel(s, policy)
        times.append(time.perf_counter() - t0)
    tracemalloc.start()
    decisions = [evaluate_channel(s, policy) for s in snapshots]
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    med = statistics.median(times)
    print(f"machine: {platform.machine()} {platform.python_implementation()} "
          f"{platform.python_version()}")
    print(f"channels evaluated: {len(decisions)} (x{args.repeat})")
    print(f"median seconds per pass: {med:.4f}  (min {min(times):.4f}, max {max(times):.4f})")
    print(f"channels per second: {len(snapshots) / med:,.0f}")
    print(f"peak traced memory for one pass incl. the decisions kept: {peak / 2**20:.2f} MiB")


if __name__ == "__main__":
    main()
