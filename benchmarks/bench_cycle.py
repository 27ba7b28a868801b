"""Benchmark: full evaluation cycles of the real service on a 2,000-channel, 1M-forward node.

Builds the service exactly as ``mcp-optimizer run`` does (``runtime.run.open_service``) with
the embedded simulator serving the ``large`` scenario (2,000 channels, a mainnet-sized
synthetic graph, about a million forwards over 30 days) over gRPC on loopback, its clock frozen
(``MCP_SIM_SPEED=0``), in a temporary ``MCP_DATA_DIR``. Then it runs ``service.runner.run``:

* cycle 1: a cold service (the whole forwarding history is read, centrality computed);
* cycle 2: after the simulated clock is moved on by ``--advance-s`` (6 h by default, the
  scheduler's interval): only the newer forwards are read, the centrality is still cached.

For each cycle it prints the seconds of each stage (as the cycle runner asks the actors; the
provider asks made inside a stage are shown under it), the total, the peak RSS of the process
during that cycle (VmHWM, reset before the cycle through /proc/self/clear_refs) and
``ru_maxrss``. The simulator runs in the same process (that is what ``open_service`` does), so
RSS includes it: the line "RSS after start" is the floor the cycle adds to.

Run: .venv/bin/python benchmarks/bench_cycle.py [--scenario large] [--advance-s 21600]

Figures (x86_64, 2 CPUs, Python 3.12, scenario large: 2,000 channels, 1,001,000 forwards):

BEFORE (the lnd actor turned its ForwardingLog into 972,476 ForwardingEvent messages, NodeData
carried them to preprocessing, which looped over them once per window):

  seconds                              cycle 1   cycle 2
  ingestion                               3.92      1.59
    lnd ReadChannelsRequest               1.35      1.33
    lnd ReadForwardsRequest               2.57      0.26
  observation (actuator)                  0.32      0.02
  preprocessing                           0.25      0.32
  scoring (centrality recomputed)         3.49      2.46
  decision                                0.04      0.04
  actuation + journal (2,000 asks)        2.09      2.52
  TOTAL                                  10.13      6.98
  peak RSS during the cycle (MiB)          791     1,059
  RSS before the cycle (MiB)               342       845

  The RSS kept between cycles was the last NodeData: pykka keeps each actor's last envelope
  (with its reply) alive until the next message, so ~1M events (~470 MiB of Python objects)
  stayed in memory for the 6 hours between two cycles.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import resource
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

from mcp_optimizer.runtime.run import open_service
from mcp_optimizer.runtime.settings import ServiceSettings

# The cycle runner's stages (actor, request type) in order, with the label printed.
STAGES = [
    ("ingestion", "IngestRequest", "ingestion"),
    ("actuator", "ObserveRequest", "observation (actuator)"),
    ("actuator", "LastChangesRequest", "journal lookup (actuator)"),
    ("preprocessing", "PreprocessRequest", "preprocessing"),
    ("scorer", "ScoreRequest", "scoring (incl. centrality)"),
    ("decider", "DecideRequest", "decision"),
    ("actuator", "ActuateRequest", "actuation + journal"),
]
# Asks made by actors inside a stage, printed under the stage that makes them.
INNER = {
    "ingestion": [("lnd", "ReadChannelsRequest"), ("lnd", "ReadForwardsRequest")],
    "scorer": [("facts", "PeerFactsRequest"), ("local_graph", "PeerFactsRequest"),
               ("lnd", "ReadGraphRequest")],
}


def vm_kib(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return -1


def reset_peak() -> bool:
    """Reset the process's peak RSS (VmHWM); False where the kernel does not allow it."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


class AskTimer:
    """Wraps the supervisor's ``ask`` (the only way actors reach each other) to time each
    ask by (actor, request type). Nested asks are timed on their own as well."""

    def __init__(self, supervisor) -> None:
        self.inner = supervisor.ask
        self.seconds: dict[tuple[str, str], float] = defaultdict(float)
        self.counts: dict[tuple[str, str], int] = defaultdict(int)
        self._lock = threading.Lock()
        supervisor.ask = self.ask

    def ask(self, name, message, timeout_s=30.0):
        t = time.perf_counter()
        try:
            return self.inner(name, message, timeout_s)
        finally:
            key = (name, type(message).__name__)
            with self._lock:
                self.seconds[key] += time.perf_counter() - t
                self.counts[key] += 1

    def reset(self) -> None:
        self.seconds.clear()
        self.counts.clear()


def run_cycle(service, timer: AskTimer, label: str) -> None:
    gc.collect()
    timer.reset()
    rss_before = vm_kib("VmRSS") / 1024
    peak_ok = reset_peak()
    t = time.perf_counter()
    done = service.runner.run(label)
    total = time.perf_counter() - t
    peak = vm_kib("VmHWM") / 1024
    print(f"\n{label}: outcome {done.outcome} ({done.detail})")
    staged = 0.0
    for actor, request, name in STAGES:
        s = timer.seconds.get((actor, request), 0.0)
        staged += s
        n = timer.counts.get((actor, request), 0)
        calls = f" ({n} asks)" if n > 1 else ""
        print(f"  {name:<34} {s:8.2f} s{calls}")
        for inner in INNER.get(actor, []):
            if inner in timer.counts:
                print(f"    {inner[0] + ' ' + inner[1]:<32} {timer.seconds[inner]:8.2f} s")
    print(f"  {'journal and runner overhead':<34} {total - staged:8.2f} s")
    print(f"  {'TOTAL':<34} {total:8.2f} s")
    if peak_ok:
        print(f"  peak RSS during the cycle: {peak:.0f} MiB (RSS before it {rss_before:.0f} MiB, "
              f"+{peak - rss_before:.0f} MiB)")
    print(f"  ru_maxrss so far: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}"
          " MiB")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="large")
    ap.add_argument("--advance-s", type=int, default=6 * 3600,
                    help="simulated seconds between the two cycles (default 6 h)")
    args = ap.parse_args()
    from loguru import logger

    logger.remove()
    logger.add(sys.stderr, level="WARNING")
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            "MCP_DATA_DIR": str(Path(tmp) / "data"),
            "MCP_SIM_SCENARIO": args.scenario,
            "MCP_SIM_SPEED": "0",
        }
        t = time.perf_counter()
        settings = ServiceSettings.from_env(env)
        with open_service(settings, env) as service:
            start_s = time.perf_counter() - t
            gc.collect()
            print(f"python {platform.python_version()} on {platform.machine()}, "
                  f"{os.cpu_count()} CPUs; scenario {args.scenario}")
            print(f"service start (simulator build included): {start_s:.1f} s; "
                  f"RSS after start {vm_kib('VmRSS') / 1024:.0f} MiB")
            timer = AskTimer(service.supervisor)
            run_cycle(service, timer, "cycle 1 (cold)")
            t = time.perf_counter()
            service.sim_node.advance(args.advance_s)
            print(f"\n(simulated clock moved on {args.advance_s} s in "
                  f"{time.perf_counter() - t:.1f} s)")
            run_cycle(service, timer, f"cycle 2 (+{args.advance_s} s, incremental)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
