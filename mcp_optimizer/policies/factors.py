"""The weighted heuristics: each turns one aspect of a snapshot into a value between 0 and 1.

A factor is scored only when enabled and its input is known; its contribution is
``value * weight`` and depends on nothing but its own input and setting, so switching one
factor off never changes another's contribution. The channel's score is the sum of
contributions over the sum of the weights of the factors actually scored.
"""

from __future__ import annotations

from collections.abc import Callable

from mcp_optimizer.messages import (
    CentralityKnown,
    ChannelSnapshot,
    DisabledFactor,
    FactorScore,
    ScoredFactor,
    UnknownFactor,
    UptimeKnown,
)

from .config import FACTOR_NAMES, Policy

_Measure = Callable[[ChannelSnapshot, Policy], "tuple[float, str] | str"]
"""A measure returns (value, detail) when known, or the reason it is unknown."""


def _centrality(s: ChannelSnapshot, p: Policy) -> tuple[float, str] | str:
    c = s.channel.peer.centrality
    if not isinstance(c, CentralityKnown):
        return f"peer centrality unknown: {c.reason}"
    value = c.normalized_ppm / 1_000_000
    how = f"{c.source}, estimated from sampled pivots" if c.estimated else c.source
    return value, f"peer ranks #{c.rank} by betweenness, {value:.3f} of the top ({how})"


def _volume(s: ChannelSnapshot, p: Policy) -> tuple[float, str] | str:
    turnover = s.history.amount_out_msat / (s.channel.capacity_sat * 1000)
    value = min(1.0, turnover / p.targets.volume_turnover)
    days = s.history.window_s / 86400
    return value, (
        f"routed out {s.history.amount_out_msat // 1000:,} sat in {days:g} days, "
        f"{turnover:.2f}x capacity (target {p.targets.volume_turnover:g}x)"
    )


def _uptime(s: ChannelSnapshot, p: Policy) -> tuple[float, str] | str:
    u = s.channel.peer.uptime
    if not isinstance(u, UptimeKnown):
        return f"peer uptime unknown: {u.reason}"
    value = u.ratio_ppm / 1_000_000
    return value, f"peer online {value:.1%} of the time ({u.source})"


def _channel_age(s: ChannelSnapshot, p: Policy) -> tuple[float, str] | str:
    value = min(1.0, s.channel.age_s / p.targets.mature_age_s)
    return value, (
        f"open {s.channel.age_s / 86400:.1f} days "
        f"(mature at {p.targets.mature_age_s / 86400:g} days)"
    )


def _forward_activity(s: ChannelSnapshot, p: Policy) -> tuple[float, str] | str:
    total = s.history.forwards_in + s.history.forwards_out
    value = min(1.0, total / p.targets.forwards)
    return value, (
        f"{s.history.forwards_in} forwards in and {s.history.forwards_out} out in "
        f"{s.history.window_s / 86400:g} days (target {p.targets.forwards})"
    )


MEASURES: dict[str, _Measure] = {
    "centrality": _centrality,
    "volume": _volume,
    "uptime": _uptime,
    "channel_age": _channel_age,
    "forward_activity": _forward_activity,
}
assert tuple(MEASURES) == FACTOR_NAMES


def score_factor(name: str, snapshot: ChannelSnapshot, policy: Policy) -> FactorScore:
    """One factor's score under the policy: scored, unknown input, or disabled."""
    setting = policy.factors.get(name)
    if not setting.enabled:
        return DisabledFactor(name=name, detail="disabled by the policy")
    measured = MEASURES[name](snapshot, policy)
    if isinstance(measured, str):
        return UnknownFactor(name=name, weight=setting.weight, detail=measured)
    value, detail = measured
    return ScoredFactor(
        name=name,
        value=value,
        weight=setting.weight,
        contribution=value * setting.weight,
        detail=detail,
    )


def score_factors(snapshot: ChannelSnapshot, policy: Policy) -> tuple[list[FactorScore], float]:
    """Every factor's score, and the channel's weighted score between 0 and 1."""
    factors = [score_factor(name, snapshot, policy) for name in FACTOR_NAMES]
    scored = [f for f in factors if isinstance(f, ScoredFactor)]
    total_weight = sum(f.weight for f in scored)
    score = sum(f.contribution for f in scored) / total_weight if total_weight > 0 else 0.0
    return factors, score
