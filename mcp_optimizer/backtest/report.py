"""The backtest's figures: means with 95% confidence intervals over seeds, paired ratios, the
issue's targets, as a table for people or as JSON."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from .harness import RunResult
from .plan import Outcome

_T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306,
        9: 2.262, 10: 2.228, 11: 2.201, 12: 2.179, 13: 2.160, 14: 2.145, 15: 2.131, 16: 2.120,
        17: 2.110, 18: 2.101, 19: 2.093, 20: 2.086, 25: 2.060, 30: 2.042}
"""Student's t, two-sided 95%, by degrees of freedom (1.96 past 30)."""


def _t(df: int) -> float:
    if df in _T95:
        return _T95[df]
    below = [k for k in _T95 if k <= df]
    return _T95[max(below)] if df <= 30 else 1.96


@dataclass(frozen=True)
class Stat:
    """A mean over seeds and the half-width of its 95% confidence interval (0 for one seed)."""

    mean: float
    half: float
    n: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Stat:
        vals = [v for v in values if math.isfinite(v)]
        n = len(vals)
        if n == 0:
            return cls(math.nan, math.nan, 0)
        mean = sum(vals) / n
        if n == 1:
            return cls(mean, 0.0, 1)
        var = sum((v - mean) ** 2 for v in vals) / (n - 1)
        return cls(mean, _t(n - 1) * math.sqrt(var / n), n)

    def json(self) -> dict[str, float | int | None]:
        def clean(x: float) -> float | None:
            return x if math.isfinite(x) else None

        return {"mean": clean(self.mean), "ci95_low": clean(self.mean - self.half),
                "ci95_high": clean(self.mean + self.half), "seeds": self.n}


METRICS = (
    ("revenue_msat", lambda r: r.revenue_msat),
    ("forwards", lambda r: r.forwards),
    ("failed_forwards", lambda r: sum(r.failed_by_cause.values())),
    ("policy_updates", lambda r: r.updates),
    ("updates_per_channel_day", lambda r: r.updates_per_channel_day),
    ("max_updates_one_channel_one_day", lambda r: r.max_updates_channel_day),
    ("depleted_share", lambda r: r.depleted_share),
    ("gate_held", lambda r: sum(r.held_by_gate.values())),
    ("gate_refused", lambda r: sum(r.refused_by_gate.values())),
    ("bound_violations", lambda r: r.bound_violations),
)


def _ratio(a: RunResult, b: RunResult) -> float:
    return a.revenue_msat / b.revenue_msat if b.revenue_msat > 0 else math.inf


def ratio_stat(outcome: Outcome, a: str, b: str) -> Stat:
    """Per seed, a's revenue over b's (paired on the same seed), then mean and CI."""
    ra, rb = outcome.by_strategy.get(a, {}), outcome.by_strategy.get(b, {})
    return Stat.of([_ratio(ra[s], rb[s]) for s in outcome.plan.seeds if s in ra and s in rb])


def summary(outcome: Outcome) -> dict:
    """Everything the table shows, as plain data (what ``--json`` prints)."""
    plan = outcome.plan
    strategies = {}
    for name in plan.strategies:
        runs = [outcome.by_strategy[name][s] for s in plan.seeds if s in outcome.by_strategy[name]]
        causes: Counter[str] = Counter()
        held: Counter[str] = Counter()
        refused: Counter[str] = Counter()
        violations: Counter[str] = Counter()
        for r in runs:
            causes.update(r.failed_by_cause)
            held.update(r.held_by_gate)
            refused.update(r.refused_by_gate)
            violations.update(r.violations)
        n = max(1, len(runs))
        strategies[name] = {
            **{m: Stat.of([f(r) for r in runs]).json() for m, f in METRICS},
            "failed_by_cause_mean": {k: v / n for k, v in sorted(causes.items())},
            "held_by_gate_mean": {k: v / n for k, v in sorted(held.items())},
            "refused_by_gate_mean": {k: v / n for k, v in sorted(refused.items())},
            "bound_violations_total": dict(violations),
            "per_seed": [
                {"seed": r.seed, "run": r.label, "revenue_msat": r.revenue_msat,
                 "forwards": r.forwards, "updates": r.updates, "checks": r.checks}
                for r in runs
            ],
            "chosen_runs": outcome.chosen.get(name, {}),
        }
    ratios = {
        a: {b: ratio_stat(outcome, a, b).json() for b in plan.strategies if b != a}
        for a in plan.strategies
    }
    checks_ok = all(all(r.checks.values()) for r in outcome.runs)
    return {
        "scenario": plan.scenario,
        "days": plan.days,
        "seeds": list(plan.seeds),
        "strategies": strategies,
        "ratios": ratios,
        "targets": targets(outcome),
        "checks": {
            "all_agree": checks_ok,
            "runs": len(outcome.runs),
            "disagreeing": [
                {"run": r.label, "seed": r.seed, "detail": r.check_detail}
                for r in outcome.runs if not all(r.checks.values())
            ],
        },
        "wall_s": outcome.wall_s,
        "workers": outcome.workers,
        "run_wall_s": Stat.of([r.wall_s for r in outcome.runs]).json(),
    }


TARGETS = (("keep", 1.2), ("best-competitor", 1.1), ("flow", 1.1), ("oracle", 0.9))
"""Issue 9: the autopilot's revenue against each baseline, at least this multiple."""


def targets(outcome: Outcome, main: str = "autopilot") -> list[dict]:
    """The issue's targets that this outcome can judge (those whose strategies ran)."""
    names = outcome.plan.strategies
    if main not in names:
        return []
    rows = []
    for base, want in TARGETS:
        if base in names:
            st = ratio_stat(outcome, main, base)
            rows.append({"target": f"{main} >= {want:g} x {base}", "value": st.mean,
                         "met": bool(st.mean >= want)})
    viol = sum(r.bound_violations for r in outcome.by_strategy[main].values())
    rows.append({"target": "zero bound violations", "value": viol, "met": viol == 0})
    if "flow" in names:
        a = Stat.of([r.updates_per_channel_day for r in outcome.by_strategy[main].values()])
        b = Stat.of([r.updates_per_channel_day for r in outcome.by_strategy["flow"].values()])
        rows.append({"target": f"{main} updates per channel per day <= flow's ({b.mean:.3f})",
                     "value": a.mean, "met": bool(a.mean <= b.mean)})
    return rows


def _num(x: float, digits: int = 0) -> str:
    if not math.isfinite(x):
        return "-"
    return f"{x:,.{digits}f}"


def table(outcome: Outcome) -> str:
    """The report for people (100 columns)."""
    s = summary(outcome)
    plan = outcome.plan
    seeds = plan.seeds
    lines = [
        f"backtest {plan.scenario}: {plan.days:g} days, {len(seeds)} seed(s) "
        f"({seeds[0]}..{seeds[-1]}), {len(outcome.runs)} runs on {outcome.workers} worker(s), "
        f"{outcome.wall_s:,.0f} s",
        "",
        f"{'strategy':<17}{'revenue msat (95% CI)':>28}{'forwards':>9}{'failed':>8}"
        f"{'updates':>8}{'/ch/day':>8}{'deplet':>7}{'held':>6}{'refus':>6}{'viol':>5}",
    ]
    for name in plan.strategies:
        m = s["strategies"][name]
        rev = m["revenue_msat"]
        half = (rev["ci95_high"] - rev["mean"]) if rev["mean"] is not None else math.nan
        lines.append(
            f"{name:<17}{_num(rev['mean'] or math.nan):>16} ± {_num(half):<9}"
            f"{_num(m['forwards']['mean'] or 0):>9}{_num(m['failed_forwards']['mean'] or 0):>8}"
            f"{_num(m['policy_updates']['mean'] or 0, 1):>8}"
            f"{_num(m['updates_per_channel_day']['mean'] or 0, 3):>8}"
            f"{(m['depleted_share']['mean'] or 0):>7.1%}"
            f"{_num(m['gate_held']['mean'] or 0, 1):>6}{_num(m['gate_refused']['mean'] or 0, 1):>6}"
            f"{int(sum(m['bound_violations_total'].values())):>5}"
        )
    main = plan.strategies[0]
    if len(plan.strategies) > 1:
        lines += ["", f"{main}'s revenue over each (mean of per-seed ratios, 95% CI):"]
        for b, st in s["ratios"][main].items():
            if st["mean"] is None:
                lines.append(f"  {b:<17} -")
                continue
            lines.append(f"  {b:<17} {st['mean']:6.3f}  [{st['ci95_low']:.3f}, "
                         f"{st['ci95_high']:.3f}]")
    for name in plan.strategies:
        chosen = outcome.chosen.get(name)
        if chosen:
            wins = Counter(chosen.values()).most_common(4)
            lines.append(f"{name}: best run per seed " + ", ".join(f"{k} x{v}" for k, v in wins))
    causes = {n: s["strategies"][n]["failed_by_cause_mean"] for n in plan.strategies}
    kinds = sorted({k for c in causes.values() for k in c})
    if kinds:
        lines += ["", "failed forwards by cause (mean per run): " + ", ".join(
            f"{n} " + "/".join(_num(causes[n].get(k, 0)) for k in kinds) for n in plan.strategies
        ) + f"  ({'/'.join(kinds)})"]
    gates: Counter[str] = Counter()
    for n in plan.strategies:
        for k, v in s["strategies"][n]["held_by_gate_mean"].items():
            gates[f"{n} held by {k}"] += v
        for k, v in s["strategies"][n]["refused_by_gate_mean"].items():
            gates[f"{n} refused by {k}"] += v
    if gates:
        lines.append("gate stops (mean per run): " + "; ".join(
            f"{k} {v:,.1f}" for k, v in sorted(gates.items())))
    if s["targets"]:
        lines += ["", "targets (issue 9):"]
        for t in s["targets"]:
            value = t["value"]
            shown = f"{value:.3f}" if isinstance(value, float) else str(value)
            lines.append(f"  {'met ' if t['met'] else 'MISS'} {t['target']}: {shown}")
    c = s["checks"]
    lines += ["", (
        f"every cycle ran, and ground truth agrees with the gRPC forwarding history, the HTLC "
        f"stream and the journal in all {c['runs']} runs" if c["all_agree"] else
        f"CHECK FAILED (failed cycles, or ground truth disagreeing with the node or the "
        f"journal) in {len(c['disagreeing'])} of {c['runs']} runs: "
        + "; ".join(f"{d['run']} seed {d['seed']}: {' | '.join(d['detail'])}"
                    for d in c["disagreeing"][:3])
    )]
    return "\n".join(lines)
