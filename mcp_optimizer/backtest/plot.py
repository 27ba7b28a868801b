"""``--plot FILE.png``: cumulative revenue per strategy, and the fee paths of a few channels
against their competitors' median fee (matplotlib, drawn off-screen)."""

from __future__ import annotations

from pathlib import Path

from mcp_optimizer.scid import scid_text

from .harness import DAY_S, RunResult
from .plan import Outcome

CHANNELS_SHOWN = 3


def _channels(runs: list[RunResult]) -> list[int]:
    """The channels that earned most over all shown runs (the ones worth looking at)."""
    total: dict[int, int] = {}
    for r in runs:
        for cid, v in r.channel_revenue_msat.items():
            total[cid] = total.get(cid, 0) + v
    return [cid for cid, _ in sorted(total.items(), key=lambda kv: -kv[1])][:CHANNELS_SHOWN]


def plot(outcome: Outcome, path: str | Path) -> Path:
    """Draw the first seed's runs of every asked strategy into ``path`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    seed = outcome.plan.seeds[0]
    shown = [(name, outcome.by_strategy[name][seed]) for name in outcome.plan.strategies
             if seed in outcome.by_strategy[name]]
    chans = _channels([r for _, r in shown])
    fig, axes = plt.subplots(1 + len(chans), 1, figsize=(10, 3.2 * (1 + len(chans))),
                             squeeze=False)
    ax = axes[0][0]
    for name, r in shown:
        t0 = r.cycle_times_s[0]
        days = [0.0] + [(t - t0) / DAY_S for t in r.cycle_times_s[1:]] + [r.days]
        label = name if name == r.label else f"{name} ({r.label})"
        ax.plot(days, [0.0] + [v / 1000 for v in r.cum_revenue_msat], label=label)
    ax.set_title(f"{outcome.plan.scenario}, seed {seed}: cumulative routing revenue")
    ax.set_xlabel("simulated days")
    ax.set_ylabel("sat")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    for i, cid in enumerate(chans, start=1):
        ax = axes[i][0]
        comp_drawn = False
        for name, r in shown:
            j = r.chan_ids.index(cid)
            t0 = r.cycle_times_s[0]
            days = [(t - t0) / DAY_S for t in r.cycle_times_s] + [r.days]
            fees = [p[j] for p in r.fee_paths]
            ax.step(days, [*fees, fees[-1]], where="post", label=name)
            if not comp_drawn:
                comp = [p[j] if p[j] >= 0 else float("nan") for p in r.competitor_paths]
                comp.append(comp[-1])
                ax.step(days, comp, where="post", color="black", linestyle="--",
                        label="competitors' median")
                comp_drawn = True
        ax.set_title(f"channel {scid_text(cid)}: our fee rate (after each cycle) against the "
                     "competitors' median into the peer")
        ax.set_xlabel("simulated days")
        ax.set_ylabel("ppm")
        ax.legend(fontsize=7, ncol=3)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return out
