"""Benchmark: evaluation cycles on a 2,000-channel, 1M-forward node, beside charge-lnd.

The node is the simulator's ``large`` scenario (2,000 channels, a mainnet-sized synthetic graph,
about a million forwards over 30 days) in a child process (``mcp-optimizer simulate``, re-dated
so that its history ends now, clock at real speed), reached over gRPC on loopback as a real
LND. charge-lnd 0.3.1 (``../shared/tools/charge-lnd``, GPL: run as a program from its own venv,
installed on first use into ``--charge-lnd-venv``) runs ``--dry-run`` against the same node,
alternating with this project's runs, so that the ratios are measured under the same load:

* cold: ``mcp-optimizer cycle`` with a fresh data dir (a new process: imports, first
  forwarding read, first centrality) against one charge-lnd run, ``--rounds`` times;
* the service: ``mcp-optimizer run`` (dry-run mode) in a child process: seconds until it
  answers ``status``, its first cycle, then ``--rounds`` evaluate-now cycles (incremental:
  the forwards made meanwhile), each against one charge-lnd run (charge-lnd keeps nothing
  between runs); the service's RSS between cycles and its peak (VmHWM);
* stages: the same service built in this process (``open_service``), each stage's seconds
  as the cycle runner asks the actors (``--no-stages`` skips it), a cold cycle, an
  incremental one, and one after a burst of 2,000 HTLC failure events.

Run: ./scripts/bench cycle      (or .venv/bin/python benchmarks/bench_cycle.py [--rounds 2])
     .venv/bin/python benchmarks/bench_cycle.py --stages-only [--in-process-sim]

The figures, with the machine and its load, are recorded in docs/benchmarks.md ("cycle").
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import resource
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from contextlib import ExitStack
from pathlib import Path

from measure import ChargeLnd, Service, child_simulator, load, timed

from mcp_optimizer.runtime.run import open_service
from mcp_optimizer.runtime.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[1]

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
    "ingestion": [("lnd", "ReadChannelsRequest"), ("lnd", "ReadForwardingStatsRequest")],
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
    outcome = getattr(done.outcome, "value", done.outcome)
    print(f"\n{label}: outcome {outcome} ({done.detail})")
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


def burst_of_failures(service, n: int = 2000) -> None:
    """``n`` HTLC link failures on our channels, handed to the service as its HTLC event
    feed hands them (into the failure log the lnd actor aggregates)."""
    from mcp_optimizer.messages import HtlcEvent, HtlcEventKind

    now_ns = service.client.now_s() * 1_000_000_000
    chans = [c.chan_id for c in service.client.list_channels()]
    for i in range(n):
        service.events.on_htlc(HtlcEvent(
            kind=HtlcEventKind.LINK_FAIL, incoming_chan_id=chans[i % len(chans)],
            outgoing_chan_id=chans[(i * 7 + 1) % len(chans)], timestamp_ns=now_ns - i,
            failure_detail="INSUFFICIENT_BALANCE", wire_failure="TEMPORARY_CHANNEL_FAILURE",
        ))


def stages(args, tmp: Path, node_env: dict[str, str] | None) -> None:
    from loguru import logger

    logger.remove()
    logger.add(sys.stderr, level="WARNING")
    env = {"MCP_DATA_DIR": str(tmp / "stages-data")}
    if node_env is not None:
        env.update(node_env)
    else:
        env.update({"MCP_SIM_SCENARIO": args.scenario, "MCP_SIM_SPEED": "0"})
    t = time.perf_counter()
    settings = ServiceSettings.from_env(env)
    with open_service(settings, env) as service:
        start_s = time.perf_counter() - t
        gc.collect()
        where = ("simulator in a child process" if node_env is not None
                 else "simulator in this process, build included")
        print(f"\n--- stages (the service in this process; {where}; load {load()})")
        print(f"service start: {start_s:.1f} s; RSS after start {vm_kib('VmRSS') / 1024:.0f} MiB")
        timer = AskTimer(service.supervisor)
        run_cycle(service, timer, "cycle 1 (cold)")
        if node_env is None:
            service.sim_node.advance(args.advance_s)
            label = f"cycle 2 (+{args.advance_s} s, incremental)"
        else:
            label = "cycle 2 (incremental: the forwards made meanwhile)"
        run_cycle(service, timer, label)
        burst_of_failures(service)
        run_cycle(service, timer, "cycle 3 (after a burst of 2,000 HTLC failures)")


def fmt_range(values: list[float], unit: str = "s") -> str:
    if not values:
        return "-"
    lo, hi = min(values), max(values)
    if f"{lo:.1f}" == f"{hi:.1f}":
        return f"{lo:.1f} {unit}"
    return f"{lo:.1f}-{hi:.1f} {unit}"


def compare(args, tmp: Path, node) -> None:
    charge = ChargeLnd(Path(args.charge_lnd_venv), tmp)
    env = {**os.environ, **node.env}
    rows: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    loads = [load()]
    print(f"--- cold: `mcp-optimizer cycle` (fresh data dir) and charge-lnd --dry-run, "
          f"alternating (load {loads[0]})")
    for r in range(0 if args.no_cold else args.rounds):
        order = ("ours", "charge") if r % 2 else ("charge", "ours")
        for who in order:
            if who == "charge":
                run = charge.run(node)
            else:
                data = tmp / f"cold-{r}"
                run = timed([sys.executable, "-m", "mcp_optimizer", "cycle", "--json",
                             "--data-dir", str(data)],
                            {**env, "MCP_CONTROL_SOCKET": str(tmp / f"cold-{r}.sock"),
                             "MCP_HTTP_PORT": "0"})
                if run.returncode != 0:
                    raise SystemExit(f"`cycle` failed: {run.output[-800:]}")
            rows["cold wall"][who].append(run.wall_s)
            rows["cold cpu"][who].append(run.cpu_s)
            rows["cold rss"][who].append(run.maxrss_mib)
            print(f"  round {r + 1}: {who:<6} {run.wall_s:6.2f} s wall, {run.cpu_s:6.2f} s CPU, "
                  f"peak {run.maxrss_mib:4.0f} MiB (load {load()})", flush=True)
    loads.append(load())
    print("--- the service: `mcp-optimizer run` (dry-run) and charge-lnd, alternating")
    service = Service(node, tmp / "service-data")
    try:
        status_s = service.first_status_s()
        print(f"  `status` answered {status_s:.2f} s after `run` started")
        first = service.wait_first_cycle()
        print(f"  first cycle (at start): {first['outcome']}, {first['detail']}; "
              f"RSS after it {service.rss_mib():.0f} MiB")
        for r in range(args.rounds):
            time.sleep(args.gap_s)
            rss_between = service.rss_mib()
            order = ("ours", "charge") if r % 2 else ("charge", "ours")
            for who in order:
                if who == "charge":
                    run = charge.run(node)
                    rows["warm wall"][who].append(run.wall_s)
                    rows["warm cpu"][who].append(run.cpu_s)
                    rows["warm rss"][who].append(run.maxrss_mib)
                    print(f"  round {r + 1}: charge {run.wall_s:6.2f} s wall, "
                          f"{run.cpu_s:6.2f} s CPU (load {load()})", flush=True)
                else:
                    wall, cpu, done = service.cycle()
                    rows["warm wall"][who].append(wall)
                    rows["warm cpu"][who].append(cpu)
                    rows["between rss"][who].append(rss_between)
                    print(f"  round {r + 1}: ours   {wall:6.2f} s wall, {cpu:6.2f} s CPU "
                          f"({done['outcome']}: {done['detail']}); RSS before it "
                          f"{rss_between:.0f} MiB, after {service.rss_mib():.0f} MiB "
                          f"(load {load()})", flush=True)
        time.sleep(args.gap_s)
        rows["between rss"]["ours"].append(service.rss_mib())
        rows["warm rss"]["ours"].append(service.hwm_mib())
    finally:
        service.stop()
    loads.append(load())

    def ratio(key: str) -> str:
        pairs = list(zip(rows[key]["charge"], rows[key]["ours"], strict=False))
        rs = [c / o for c, o in pairs if o > 0]
        return f"{min(rs):.1f}-{max(rs):.1f}x" if rs else "-"

    print(f"\n=== cycle: this project beside charge-lnd 0.3.1, same node, same run "
          f"(python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs; "
          f"load {' / '.join(loads)})")
    print("| | charge-lnd | this project | ratio |")
    print("|---|---|---|---|")
    for key, label in (("cold wall", "cold cycle, wall (`cycle`, fresh data dir)"),
                       ("cold cpu", "cold cycle, CPU of the process"),
                       ("warm wall", "incremental cycle in the running service, wall"),
                       ("warm cpu", "incremental cycle, CPU (charge-lnd: a whole run)")):
        print(f"| {label} | {fmt_range(rows[key]['charge'])} | {fmt_range(rows[key]['ours'])} "
              f"| {ratio(key)} |")
    print(f"| peak RSS (cold) | {fmt_range(rows['cold rss']['charge'], 'MiB')} | "
          f"{fmt_range(rows['cold rss']['ours'], 'MiB')} | |")
    print(f"| service RSS between cycles | - | {fmt_range(rows['between rss']['ours'], 'MiB')} "
          f"(peak {rows['warm rss']['ours'][-1]:.0f} MiB VmHWM) | |")
    print(f"| `status` answers after `run` starts | - | {status_s:.2f} s | |")
    med = statistics.median
    if rows["cold wall"]["ours"]:
        print(f"medians: cold {med(rows['cold wall']['charge']):.1f} s vs "
              f"{med(rows['cold wall']['ours']):.1f} s")
    print(f"medians: incremental {med(rows['warm wall']['charge']):.1f} s vs "
          f"{med(rows['warm wall']['ours']):.2f} s")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="large")
    ap.add_argument("--rounds", type=int, default=2, help="runs of each, alternating")
    ap.add_argument("--gap-s", type=float, default=2.0,
                    help="seconds between the service's cycles (forwards made meanwhile)")
    ap.add_argument("--charge-lnd-venv", default=str(ROOT.parent / "venvs-chargelnd"),
                    help="charge-lnd's own venv (installed there when missing)")
    ap.add_argument("--stages-only", action="store_true", help="only the stage breakdown")
    ap.add_argument("--no-cold", action="store_true", help="skip the cold `cycle` runs")
    ap.add_argument("--no-stages", action="store_true", help="skip the stage breakdown")
    ap.add_argument("--in-process-sim", action="store_true",
                    help="stages: the simulator in this process, its clock stopped, cycle 2 "
                    "--advance-s later")
    ap.add_argument("--advance-s", type=int, default=6 * 3600)
    args = ap.parse_args()
    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} "
          f"CPUs; scenario {args.scenario}; load {load()}", flush=True)
    with tempfile.TemporaryDirectory() as tmp_name, ExitStack() as stack:
        tmp = Path(tmp_name)
        node = None
        if not (args.stages_only and args.in_process_sim):
            node = stack.enter_context(child_simulator(args.scenario, tmp))
        if not args.stages_only:
            compare(args, tmp, node)
        if not args.no_stages:
            stages(args, tmp, None if args.in_process_sim else node.env)
    return 0


if __name__ == "__main__":
    sys.exit(main())
