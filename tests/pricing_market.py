"""A one-channel synthetic market for the price learner's tests: a revenue curve with an
interior optimum, Poisson noise, and the engine deciding every 6 hours through its pure
function, with the fee epochs built the way the service builds them (journal spans plus the
forwarding log). Deterministic for a seed."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from builders import CHAN, DAY, NOW, channel, policy, replace, snapshot

from mcp_optimizer.messages import (
    CompetitorFees,
    DecisionKind,
    FeeEpoch,
    LastChangeAt,
    NeverChanged,
)
from mcp_optimizer.policies.config import Policy
from mcp_optimizer.policies.engine import evaluate_channel

CYCLE_S = 6 * 3600
AMOUNT_MSAT = 500_000_000  # an average forward of 500,000 sat


@dataclass
class Curve:
    """Forwards per day ``volume / (1 + (fee / scale) ** elasticity)``: revenue (fee x
    forwards) peaks at ``scale * (1 / (elasticity - 1)) ** (1 / elasticity)``."""

    volume: float = 40.0
    scale: float = 400.0
    elasticity: float = 2.5
    drift: float = 0.0
    """Amplitude of a weekly demand swing (0.2: +-20%)."""

    def forwards_per_day(self, fee: float, t_s: float = 0.0) -> float:
        week = 1 + self.drift * math.sin(2 * math.pi * t_s / (7 * DAY))
        return week * self.volume / (1 + (max(fee, 0) / self.scale) ** self.elasticity)

    def revenue_per_day(self, fee: float) -> float:
        return self.forwards_per_day(fee) * (1000 + AMOUNT_MSAT * fee / 1e6)

    def best_fee(self) -> float:
        return self.scale * (1 / (self.elasticity - 1)) ** (1 / self.elasticity)


@dataclass
class Run:
    fees: list[int] = field(default_factory=list)
    """The fee at each cycle."""
    changes: int = 0
    revenue_msat: int = 0
    decisions: list = field(default_factory=list)


def _poisson(rng: random.Random, lam: float) -> int:
    if lam > 50:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    n, p, limit = 0, 1.0, math.exp(-lam)
    while True:
        p *= rng.random()
        if p <= limit:
            return n
        n += 1


def run(curve: Curve, pol: Policy, *, start_fee: int = 100, days: int = 30, seed: int = 1,
        median: int | None = 350, outbound: float = 0.5) -> Run:
    rng = random.Random(seed)
    t0 = NOW
    fee = start_fee
    epochs: list[list[int]] = [[t0 - 2 * DAY, t0, fee, 0, 0, 0]]  # start, end, fee, n, amt, earned
    # two days at the starting fee before the service arrives
    last_change = None
    out = Run()
    # pre-history
    n = _poisson(rng, curve.forwards_per_day(fee) * 2)
    epochs[0][3:] = [n, n * AMOUNT_MSAT, n * (1000 + AMOUNT_MSAT * fee // 1_000_000)]
    now = t0
    for _ in range(days * DAY // CYCLE_S):
        lam = curve.forwards_per_day(fee, now - t0) * CYCLE_S / DAY
        n = _poisson(rng, lam)
        earned = n * (1000 + AMOUNT_MSAT * fee // 1_000_000)
        out.revenue_msat += earned
        now += CYCLE_S
        e = epochs[-1]
        e[1], e[3], e[4], e[5] = now, e[3] + n, e[4] + n * AMOUNT_MSAT, e[5] + earned
        history = [
            FeeEpoch(start_s=a, end_s=b, fee_rate_ppm=f, base_fee_msat=1000,
                     inbound_fee_rate_ppm=0, forwards_out=k, amount_out_msat=amt,
                     fees_earned_msat=got, forwards_in=k, failed_balance=0)
            for a, b, f, k, amt, got in epochs if b > now - 30 * DAY
        ]
        recent = [x for x in epochs if x[1] > now - 2 * DAY]
        s = snapshot(
            taken_at_s=now,
            channel_kw={
                "our_policy": policy(fee_rate_ppm=fee, base_fee_msat=1000),
                "local_balance_sat": int(5_000_000 * outbound),
                "remote_balance_sat": int(5_000_000 * (1 - outbound)) - 10_000,
            },
            recent_kw={"forwards_out": sum(x[3] for x in recent),
                       "forwards_in": sum(x[3] for x in recent)},
            last_change=LastChangeAt(at_s=last_change) if last_change else NeverChanged(),
        )
        s = replace(
            s,
            price_history=history,
            competitors=(
                CompetitorFees(peer_pubkey=s.channel.peer.pubkey, observed_at_s=now, count=9,
                               ignored_count=0, p25_fee_rate_ppm=median // 2,
                               median_fee_rate_ppm=median, p75_fee_rate_ppm=median * 2,
                               p25_base_fee_msat=0, median_base_fee_msat=1000,
                               p75_base_fee_msat=1000)
                if median else s.competitors
            ),
        )
        d = evaluate_channel(s, pol)
        out.decisions.append(d)
        if d.kind in (DecisionKind.INCREASE_FEES, DecisionKind.LOWER_FEES):
            new = d.proposed_policy.fee_rate_ppm
            if new != fee:
                out.changes += 1
                fee = new
                last_change = now
                epochs.append([now, now, fee, 0, 0, 0])
        out.fees.append(fee)
    return out


__all__ = ["CHAN", "Curve", "Run", "channel", "run"]
