"""Where the autopilot wins and loses, channel by channel, from runs kept by
``bench_backtest.py --keep-runs DIR``.

Run: .venv/bin/python benchmarks/backtest_channels.py DIR/<code hash> SCENARIO [--worst N]

For each seed: every kept strategy's revenue, its ratio to the autopilot and its updates;
then the ``N`` channels where the autopilot earned least against the best competitor:K run
of that seed (and the ``N`` where it earned most), each with its fee path against the
competitors' median ("day:fee/median" at each change) in both runs. No run is made: it only
reads what the benchmark kept.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import msgspec  # noqa: E402

from mcp_optimizer.backtest.harness import RunResult  # noqa: E402

BASELINES = ("keep", "flow", "proportional", "oracle")


def fee_path(r: RunResult, chan_id: int) -> str:
    """``day:fee/median`` at the start and at each change of either."""
    i = r.chan_ids.index(chan_id)
    per_day = len(r.fee_paths) / max(r.days, 1e-9)
    out, prev = [], None
    for k, (fees, comp) in enumerate(zip(r.fee_paths, r.competitor_paths, strict=True)):
        now = (fees[i], comp[i])
        if now != prev:
            out.append(f"{k / per_day:.1f}:{now[0]}/{now[1] if now[1] >= 0 else '?'}")
            prev = now
    return " ".join(out)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("dir", type=Path, help="DIR/<code hash> written by --keep-runs")
    ap.add_argument("scenario")
    ap.add_argument("--worst", type=int, default=3, metavar="N")
    args = ap.parse_args()
    files = sorted(args.dir.glob(f"{args.scenario}--*.json"))
    if not files:
        print(f"backtest_channels: no kept runs of {args.scenario!r} in {args.dir}",
              file=sys.stderr)
        return 2
    seeds: dict[int, dict[str, RunResult]] = defaultdict(dict)
    for f in files:
        r = msgspec.json.decode(f.read_bytes(), type=RunResult)
        seeds[r.seed][r.label] = r
    for seed, runs in sorted(seeds.items()):
        a = runs.get("autopilot")
        if a is None:
            continue
        print(f"seed {seed}: autopilot {a.revenue_msat / 1e6:,.1f} M msat, {a.updates} updates")
        for label, r in sorted(runs.items()):
            if label != "autopilot" and r.revenue_msat > 0:
                print(f"  {label:<16} {r.revenue_msat / 1e6:>9,.1f} M msat  autopilot "
                      f"{a.revenue_msat / r.revenue_msat:.3f}x  {r.updates} updates")
        comps = [r for label, r in runs.items() if label.startswith("competitor:")]
        if not comps:
            continue
        best = max(comps, key=lambda r: r.revenue_msat)
        diff = sorted(
            (a.channel_revenue_msat.get(c, 0) - best.channel_revenue_msat.get(c, 0), c)
            for c in a.chan_ids
        )
        shown = diff[: args.worst] + diff[-args.worst:][::-1]
        for k, (d, c) in enumerate(shown):
            head = "loses" if k < args.worst else "gains"
            print(f"  {head} {d / 1e6:+,.1f} M msat against {best.label} on {c}:")
            print(f"    autopilot    {fee_path(a, c)}")
            print(f"    {best.label:<12} {fee_path(best, c)}")
            if "keep" in runs:
                print(f"    keep         {fee_path(runs['keep'], c)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
