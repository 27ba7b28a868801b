"""Verb ``backtest``: a strategy against baselines on the simulated node, over simulated days.

Each run builds the service as ``run`` does (the embedded simulator over gRPC, the journal,
every gate, live mode) and steps its clock a 6-hour cycle at a time; only the deciding differs
between strategies. See docs/backtest.md.
"""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path

import msgspec

from .main import CliError

MAX_DAYS = 365.0
MAX_SEEDS = 1000


def _days(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--days {text!r} is not a number") from None
    if not math.isfinite(value) or not 0.25 <= value <= MAX_DAYS:
        raise argparse.ArgumentTypeError(
            f"--days {text!r}: expected 0.25 to {MAX_DAYS:g} simulated days"
        )
    return value


def _count(name: str, most: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} {text!r} is not a whole number") from None
        if not 1 <= value <= most:
            raise argparse.ArgumentTypeError(f"{name} {text!r}: expected 1 to {most}")
        return value

    return parse


def _grid(name: str, whole: bool):
    def parse(text: str) -> tuple:
        values = []
        for part in text.split(","):
            try:
                v = float(part)
            except ValueError:
                raise argparse.ArgumentTypeError(f"{name}: {part!r} is not a number") from None
            if not math.isfinite(v) or v < 0 or (whole and v != int(v)):
                raise argparse.ArgumentTypeError(
                    f"{name}: {part!r} must be a {'whole ' if whole else ''}number >= 0"
                )
            values.append(int(v) if whole else v)
        return tuple(values)

    return parse


def cmd_backtest(args: argparse.Namespace) -> int:
    from mcp_optimizer.backtest.harness import BacktestError
    from mcp_optimizer.backtest.plan import execute, make_plan
    from mcp_optimizer.backtest.report import summary, table
    from mcp_optimizer.backtest.strategies import StrategyError
    from mcp_optimizer.simulator.errors import ScenarioError

    compare = [c.strip() for c in (args.compare or "").split(",") if c.strip()]
    if args.plot:
        plot = Path(args.plot)
        if plot.suffix.lower() != ".png":
            raise CliError(f"--plot {args.plot}: expected a .png file name")
        if not plot.resolve().parent.is_dir():
            raise CliError(f"--plot {args.plot}: directory {plot.resolve().parent} does not exist")
    try:
        plan = make_plan(args.scenario, args.seeds, args.days, args.strategy, compare,
                         **({"static_grid": args.static_grid} if args.static_grid else {}),
                         **({"competitor_grid": args.competitor_grid}
                            if args.competitor_grid else {}))
    except (StrategyError, ScenarioError) as exc:
        raise CliError(str(exc)) from None
    workers = args.workers or min(os.cpu_count() or 1, plan.total_runs)
    try:
        outcome = execute(plan, workers=workers, progress=not args.no_progress)
    except BacktestError as exc:
        raise CliError(str(exc), status=1) from None
    if args.plot:
        from mcp_optimizer.backtest.plot import plot as draw

        draw(outcome, args.plot)
    if args.json:
        print(msgspec.json.encode(summary(outcome)).decode())
    else:
        print(table(outcome))
        if args.plot:
            print(f"plot: {args.plot}")
    # A run whose cycles failed, or whose ground truth disagrees with the node or the journal,
    # cannot be trusted: the figures are printed, the status says so.
    return 0 if all(all(r.checks.values()) for r in outcome.runs) else 1


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "backtest",
        help="run a strategy and baselines on the simulated node over simulated days, "
        "through the service's own path, and compare what they earn",
    )
    p.add_argument("--scenario", default="demo", help="simulator scenario name or YAML file "
                   "(default: demo)")
    p.add_argument("--days", type=_days, default=30.0, help="simulated days per run (30)")
    p.add_argument("--seeds", type=_count("--seeds", MAX_SEEDS), default=1,
                   help="seeds (scenario seed, +1, ...), each another graph, node and market")
    p.add_argument("--strategy", default="autopilot",
                   help="autopilot, keep, static:PPM, best-static, competitor:K, "
                   "best-competitor, flow, proportional[:MIN:MAX], oracle")
    p.add_argument("--compare", default="", help="strategies to compare it with, comma "
                   "separated (e.g. keep,best-competitor,flow,oracle)")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.add_argument("--plot", metavar="FILE.png", help="draw cumulative revenue and fee paths")
    p.add_argument("--workers", type=_count("--workers", 64), default=0,
                   help="worker processes (default: the CPUs)")
    p.add_argument("--static-grid", type=_grid("--static-grid", True),
                   help="fee rates tried by best-static and the oracle (ppm, comma separated)")
    p.add_argument("--competitor-grid", type=_grid("--competitor-grid", False),
                   help="multiples tried by best-competitor and the oracle (comma separated)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.set_defaults(func=cmd_backtest)
