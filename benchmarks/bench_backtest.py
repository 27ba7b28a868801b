"""Benchmark: issue 9's targets, measured by the backtest (``mcp-optimizer backtest``).

For each scenario: the autopilot against keep, flow (LNDg), proportional (charge-lnd),
best-static, best-competitor and the oracle, over ``--days`` simulated days (30) and
``--seeds`` seeds (10), through the service's own path (docs/backtest.md). Prints the
machine (lscpu model, CPUs, load averages before and after), then each scenario's table with
the targets met or missed, and how long it took.

Run: .venv/bin/python benchmarks/bench_backtest.py                    # the Targets configuration
     .venv/bin/python benchmarks/bench_backtest.py --scenarios demo --seeds 3 \\
         --static-grid 100,500 --competitor-grid 0.5,1,2,4              # a shorter one
     ./scripts/bench backtest                                          # the same as the first
     ... --keep-runs DIR    # each run kept under DIR/<code hash>/; an interrupted or extended
                            # table (more --seeds) runs only what is not kept there

The Targets configuration is long on a 2-core machine: a 30-day demo run costs about a
minute of one core, a run of a mainnet-sized graph several (see docs/benchmarks.md for the
figures recorded and what was cut to fit the time).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import msgspec  # noqa: E402

from mcp_optimizer.backtest.harness import RunResult  # noqa: E402
from mcp_optimizer.backtest.plan import execute, make_plan  # noqa: E402
from mcp_optimizer.backtest.report import summary, table  # noqa: E402
from mcp_optimizer.backtest.strategies import COMPETITOR_GRID, STATIC_GRID  # noqa: E402
from mcp_optimizer.simulator.scenario import shipped_scenarios  # noqa: E402

COMPARE = ("keep", "flow", "proportional", "best-static", "best-competitor", "oracle")


def machine() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        model = next((ln.split(":", 1)[1].strip() for ln in out.splitlines()
                      if ln.startswith("Model name")), "?")
    except OSError:
        model = "?"
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{model}, {os.cpu_count()} CPUs, load {load}"


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def code_hash() -> str:
    """What the runs' figures depend on: every file of the package this benchmark runs
    (not its caches), hashed; two trees with the same engine, simulator and service agree."""
    h = hashlib.sha256()
    pkg = Path(__file__).resolve().parents[1] / "mcp_optimizer"
    for f in sorted(pkg.rglob("*")):
        if f.is_file() and "__pycache__" not in f.parts:
            h.update(str(f.relative_to(pkg)).encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenarios", default=",".join(shipped_scenarios()))
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--days", type=float, default=30.0)
    ap.add_argument("--compare", default=",".join(COMPARE))
    ap.add_argument("--static-grid", default=",".join(str(x) for x in STATIC_GRID))
    ap.add_argument("--competitor-grid", default=",".join(f"{x:g}" for x in COMPETITOR_GRID))
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--json-dir", help="also write each scenario's summary as JSON here")
    ap.add_argument("--keep-runs", metavar="DIR",
                    help="keep each run's result under DIR/<code hash>/ and reuse the ones "
                         "found there (a table extended to more seeds later runs only those)")
    args = ap.parse_args()
    print(f"machine: {machine()}")
    kept = None
    if args.keep_runs:
        kept = Path(args.keep_runs) / code_hash()
        kept.mkdir(parents=True, exist_ok=True)
        print(f"runs kept in {kept} (this tree's code hash)")
    for scenario in [s for s in args.scenarios.split(",") if s]:
        plan = make_plan(
            scenario, args.seeds, args.days, "autopilot",
            [c for c in args.compare.split(",") if c],
            static_grid=tuple(int(x) for x in args.static_grid.split(",") if x),
            competitor_grid=tuple(float(x) for x in args.competitor_grid.split(",") if x),
        )
        t0 = time.monotonic()
        runs_log = None
        if args.json_dir:
            Path(args.json_dir).mkdir(parents=True, exist_ok=True)
            runs_log = (Path(args.json_dir) / f"{scenario}.runs.jsonl").open("a")

        done = []
        if kept is not None:
            done = [msgspec.json.decode(f.read_bytes(), type=RunResult)
                    for f in sorted(kept.glob(f"{_safe(scenario)}--*.json"))]

        def keep(r, runs_log=runs_log) -> None:  # each run as it ends (a run cut short keeps)
            if kept is not None:
                name = f"{_safe(r.scenario)}--{r.days:g}d-{r.seed}-{_safe(r.label)}.json"
                (kept / name).write_bytes(msgspec.json.encode(r))
            if runs_log is not None:
                runs_log.write(json.dumps({
                    "run": r.label, "seed": r.seed, "revenue_msat": r.revenue_msat,
                    "forwards": r.forwards, "updates": r.updates, "checks": r.checks,
                    "failed_by_cause": r.failed_by_cause, "wall_s": round(r.wall_s, 1),
                }) + "\n")
                runs_log.flush()

        outcome = execute(plan, workers=args.workers or min(os.cpu_count() or 1,
                                                            plan.total_runs), on_result=keep,
                          done=done)
        print()
        print(table(outcome))
        print(f"({time.monotonic() - t0:,.0f} s; machine after: {machine()})", flush=True)
        if runs_log is not None:
            runs_log.close()
            (Path(args.json_dir) / f"{scenario}.json").write_text(
                json.dumps(summary(outcome), indent=1)
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
