"""Benchmark: ingest a 2,000-channel node with 30 days and ~1,000,000 forwards over gRPC.

The simulator serves the shipped ``large`` scenario (2,000 channels, mainnet-sized synthetic
graph, about a million settled forwards over 30 days) in a child process, over TLS with
macaroons, exactly as ``mcp-optimizer simulate`` does, with its clock frozen. This process is
the client only: it reads the channels (both policies, peers), then the whole 30-day
forwarding history through a ForwardingLog (pages of 50,000 by time window), then the graph.
It prints seconds, events per second, and the client's peak memory (ru_maxrss).

Run: .venv/bin/python benchmarks/bench_ingest.py [--scenario large]
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mcp_optimizer.providers.lnd.client import ForwardingLog, LndClient
from mcp_optimizer.providers.lnd.settings import LndSettings

ROOT = Path(__file__).resolve().parents[1]


def rss_mib() -> float:
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_now_mib() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scenario", default="large")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "mcp_optimizer", "simulate", "--scenario", args.scenario,
             "--listen", "127.0.0.1:0", "--state-dir", tmp, "--speed", "0"],
            cwd=ROOT, stdout=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            line = proc.stdout.readline()
            match = re.search(r" on (\S+:\d+)$", line.strip())
            if not match:
                raise SystemExit(f"the simulator did not start: {line!r}")
            build_s = time.perf_counter() - t0
            settings = LndSettings(
                host=match.group(1),
                tls_cert_path=Path(tmp) / "tls.cert",
                macaroon_path=Path(tmp) / "readonly.macaroon",
                timeout_s=120,
            )
            rss_before = rss_mib()
            with LndClient(settings) as client:
                now = client.node_time_s()
                t = time.perf_counter()
                channels = client.list_channels()
                channels_s = time.perf_counter() - t

                log = ForwardingLog(now - 30 * 86_400)
                t = time.perf_counter()
                count = log.sync(client, now + 1)
                history_s = time.perf_counter() - t
                gc.collect()
                rss_holding = rss_now_mib()

                t = time.perf_counter()
                graph = client.describe_graph()
                graph_s = time.perf_counter() - t
        finally:
            proc.terminate()
            proc.wait(30)
    print(f"python {platform.python_version()} on {platform.machine()}, "
          f"{os.cpu_count()} CPUs; scenario {args.scenario}")
    print(f"simulator build and start (child process): {build_s:.1f} s")
    print(f"list_channels: {len(channels)} channels in {channels_s:.2f} s")
    print(
        f"forwarding history: {count} events in {history_s:.2f} s "
        f"= {count / history_s:,.0f} events/s ({-(-count // 50_000)} pages of <= 50,000)"
    )
    print(
        f"describe_graph: {len(graph.nodes)} nodes, {len(graph.edges)} edges in {graph_s:.2f} s"
    )
    print(
        f"client peak RSS: {rss_mib():.0f} MiB (before ingest {rss_before:.0f} MiB; "
        f"{rss_holding:.0f} MiB while the ForwardingLog holds the {count} events)"
    )


if __name__ == "__main__":
    main()
