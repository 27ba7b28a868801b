"""The decision engine: ``evaluate_channel(snapshot, policy) -> Decision``.

Pure and deterministic: no I/O, no clock (the snapshot's time is the only "now"), no
randomness. It never raises on bad data: a defective snapshot gives NO_ACTION with the defect
named. Rules, in order (each decision says which one fired and why):

1. defects in the snapshot -> NO_ACTION;
2. the peer's link is down -> NO_ACTION (nothing can be learnt from an offline channel);
3. mature, scoring below ``close_below_score`` and routing nothing over the history window
   -> CLOSE_CHANNEL (executable only when ``close.execute`` is true; a recommendation otherwise);
4. within the cooldown after the last change -> NO_ACTION;
5. under-performance: outbound below ``low_outbound_ratio`` while forwards keep leaving or
   failing over the under-performance window -> raise the fee rate by ``raise_pct``;
6. strong: score above ``increase_above_score`` with at least ``min_forwards_for_increase``
   forwards out -> raise by ``increase_pct``;
7. idle: outbound above ``high_outbound_ratio`` and nothing left in the recent window -> lower
   by ``lower_pct``;
8. weak: score below ``lower_below_score`` with outbound to spare -> lower by ``lower_pct``;
9. otherwise NO_ACTION.

When no factor could be scored (every enabled factor's input unknown) the score is unknown,
not 0: rules 3, 6 and 8 do not fire; the liquidity rules (5, 7) still do.

Every proposal then respects the bounds, the largest step and the minimum change; when it
cannot (the current fee lies outside the bounds by more than one step), nothing is proposed
and the reason says so.
"""

from __future__ import annotations

import math

import msgspec

from mcp_optimizer.messages import (
    ChannelPolicy,
    ChannelSnapshot,
    Decision,
    DecisionKind,
    FactorScore,
    ForwardingStats,
    LastChangeAt,
    ScoredFactor,
)

from .config import Policy
from .defects import find_defects
from .factors import score_factors


def _days(seconds: int) -> str:
    if seconds % 86400 == 0:
        return f"{seconds // 86400} days"
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    return f"{seconds} s"


def _flow(stats: ForwardingStats) -> str:
    parts = []
    if stats.forwards_out:
        parts.append(f"{stats.forwards_out} forwards left")
    if stats.failed_htlcs:
        parts.append(f"{stats.failed_htlcs} HTLCs failed")
    return " and ".join(parts)


def _decision(
    snapshot: ChannelSnapshot,
    kind: DecisionKind,
    proposed: ChannelPolicy,
    reasons: list[str],
    factors: list[FactorScore],
    score: float,
    executable: bool = True,
) -> Decision:
    return Decision(
        chan_id=snapshot.channel.chan_id,
        kind=kind,
        current_policy=snapshot.channel.our_policy,
        proposed_policy=proposed,
        reasons=reasons,
        factors=factors,
        score=score,
        executable=executable,
        evaluated_at_s=snapshot.taken_at_s,
    )


def _no_action(
    snapshot: ChannelSnapshot, reasons: list[str], factors: list[FactorScore], score: float
) -> Decision:
    current = snapshot.channel.our_policy
    return _decision(snapshot, DecisionKind.NO_ACTION, current, reasons, factors, score)


def _fit(label: str, value: int, low: int, high: int, step: int) -> tuple[int, str]:
    """Bring ``value`` into [low, high] moving at most ``step``; (value, "") or (value, why not)."""
    target = min(max(value, low), high)
    if abs(target - value) > step:
        return value, (
            f"current {label} {value} lies outside the policy's bounds [{low}, {high}] by more "
            f"than one step ({step}); not changing it automatically: set it by hand or widen "
            f"the bounds"
        )
    return target, ""


def _propose_rate(
    policy: Policy, old: int, direction: int, pct: float
) -> tuple[int, list[str]]:
    """The new fee rate for a change of ``pct`` percent up (+1) or down (-1), with notes."""
    notes: list[str] = []
    steps, bounds = policy.steps, policy.bounds
    delta = math.floor(old * pct / 100 + 0.5)
    if direction > 0 and delta < steps.min_change_ppm and pct > 0:
        delta = steps.min_change_ppm
        notes.append(
            f"{pct:g}% of {old} ppm is below the minimum change; raising by "
            f"{steps.min_change_ppm} ppm instead"
        )
    if delta > steps.max_fee_rate_step_ppm:
        notes.append(
            f"the change of {delta} ppm is capped at the largest step of "
            f"{steps.max_fee_rate_step_ppm} ppm"
        )
        delta = steps.max_fee_rate_step_ppm
    new = old + direction * delta
    clamped = min(max(new, bounds.min_fee_rate_ppm), bounds.max_fee_rate_ppm)
    if clamped != new:
        edge = "maximum" if clamped < new else "minimum"
        notes.append(f"held at the policy's {edge} fee rate of {clamped} ppm")
    return clamped, notes


def evaluate_channel(snapshot: ChannelSnapshot, policy: Policy) -> Decision:
    """Decide what to do with one channel. Pure, deterministic, never raises on bad data."""
    try:
        defects = find_defects(snapshot)
    except (AttributeError, TypeError) as exc:
        defects = [f"the snapshot is malformed ({exc})"]
    if defects:
        return _defective(snapshot, defects)
    factors, score = score_factors(snapshot, policy)
    return _decide(snapshot, policy, factors, score)


def _defective(snapshot: object, defects: list[str]) -> Decision:
    reasons = ["snapshot rejected, no action: " + "; ".join(defects)]
    try:
        return _no_action(snapshot, reasons, [], 0.0)  # type: ignore[arg-type]
    except (AttributeError, TypeError, msgspec.ValidationError):
        raise TypeError(reasons[0]) from None


def _decide(
    s: ChannelSnapshot, policy: Policy, factors: list[FactorScore], score: float
) -> Decision:
    ch, th = s.channel, policy.thresholds
    now = s.taken_at_s
    outbound = ch.local_balance_sat / ch.capacity_sat
    score_text = f"score {score:.2f}"
    # With no factor scored the score is unknown, not 0: the rules that judge the score
    # (close, strong, weak) stay silent; the liquidity rules still apply.
    scored = any(isinstance(f, ScoredFactor) for f in factors)

    if not ch.active:
        return _no_action(
            s, ["the peer's link is down: fees left unchanged while it is offline"], factors, score
        )

    hist = s.history
    if (
        scored
        and ch.age_s >= th.close_min_age_s
        and hist.forwards_in + hist.forwards_out == 0
        and score < th.close_below_score
    ):
        executable = policy.close.execute
        reasons = [
            f"{score_text} is below the close threshold {th.close_below_score:g}, the channel "
            f"is {ch.age_s // 86400} days old and routed nothing in "
            f"{_days(hist.window_s)}: its {ch.capacity_sat:,} sat would earn more elsewhere",
            "closing is enabled by the policy (close.execute)"
            if executable
            else "recommendation only: closing is irreversible and close.execute is false",
        ]
        return _decision(
            s, DecisionKind.CLOSE_CHANNEL, ch.our_policy, reasons, factors, score, executable
        )

    last = s.last_change
    if isinstance(last, LastChangeAt) and now - last.at_s < policy.cooldown_s:
        return _no_action(
            s,
            [
                f"cooldown: the policy changed {_days(now - last.at_s)} ago and the cooldown "
                f"is {_days(policy.cooldown_s)}"
            ],
            factors,
            score,
        )

    recent = s.recent
    under = policy.underperformance
    direction, pct, why = 0, 0.0, ""
    if outbound < th.low_outbound_ratio and (recent.forwards_out > 0 or recent.failed_htlcs > 0):
        if recent.window_s < under.window_s:
            why = ""
        else:
            direction, pct = 1, under.raise_pct
            why = (
                f"under-performing: outbound liquidity is {outbound:.1%} of capacity (below "
                f"{th.low_outbound_ratio:.0%}) while {_flow(recent)} in the last "
                f"{_days(recent.window_s)}: the channel drains at its current price; raising "
                f"the fee rate by {pct:g}%"
            )
    if direction == 0 and scored and score > th.increase_above_score and (
        hist.forwards_out >= th.min_forwards_for_increase and outbound <= th.high_outbound_ratio
    ):
        direction, pct = 1, policy.adjustments.increase_pct
        why = (
            f"strong channel: {score_text} above {th.increase_above_score:g} with "
            f"{hist.forwards_out} forwards out in {_days(hist.window_s)}: demand bears a higher "
            f"fee; raising the fee rate by {pct:g}%"
        )
    if direction == 0 and outbound > th.high_outbound_ratio and recent.forwards_out == 0:
        direction, pct = -1, policy.adjustments.lower_pct
        why = (
            f"idle outbound: {outbound:.1%} of capacity is on our side (above "
            f"{th.high_outbound_ratio:.0%}) and nothing left through it in the last "
            f"{_days(recent.window_s)}; lowering the fee rate by {pct:g}% to attract flow"
        )
    if (
        direction == 0 and scored and score < th.lower_below_score
        and outbound >= th.low_outbound_ratio
    ):
        direction, pct = -1, policy.adjustments.lower_pct
        why = (
            f"weak channel: {score_text} below {th.lower_below_score:g} with "
            f"{outbound:.1%} outbound to spare; lowering the fee rate by {pct:g}%"
        )
    if direction == 0:
        return _no_action(
            s, [_why_no_rule(s, policy, score, outbound, scored)], factors, score
        )
    return _propose(s, policy, direction, pct, why, factors, score)


def _why_no_rule(
    s: ChannelSnapshot, policy: Policy, score: float, outbound: float, scored: bool
) -> str:
    th = policy.thresholds
    if not scored:
        return (
            f"outbound {outbound:.1%}: no factor could be scored (each enabled factor's input "
            f"is unknown), so no score-based rule applies, and no liquidity rule applies; "
            f"no change"
        )
    state = f"score {score:.2f}, outbound {outbound:.1%}"
    if score > th.increase_above_score:
        if s.history.forwards_out < th.min_forwards_for_increase:
            return (
                f"{state}: the score is above {th.increase_above_score:g} but only "
                f"{s.history.forwards_out} forwards left in {_days(s.history.window_s)} (fewer "
                f"than {th.min_forwards_for_increase}): no demand to price up; no change"
            )
        return (
            f"{state}: the score is above {th.increase_above_score:g} but outbound is above "
            f"{th.high_outbound_ratio:.0%} and still used recently: no change"
        )
    if score < th.lower_below_score:
        return (
            f"{state}: the score is below {th.lower_below_score:g} but outbound is under "
            f"{th.low_outbound_ratio:.0%}: a lower fee would only drain it faster; no change"
        )
    return (
        f"{state}: the score lies within [{th.lower_below_score:g}, "
        f"{th.increase_above_score:g}] and no liquidity rule applies; no change"
    )


def _propose(
    s: ChannelSnapshot,
    policy: Policy,
    direction: int,
    pct: float,
    why: str,
    factors: list[FactorScore],
    score: float,
) -> Decision:
    old = s.channel.our_policy
    b, steps = policy.bounds, policy.steps
    rate, why_not = _fit(
        "fee rate", old.fee_rate_ppm, b.min_fee_rate_ppm, b.max_fee_rate_ppm,
        steps.max_fee_rate_step_ppm,
    )
    blockers = [why_not] if why_not else []
    base, why_not = _fit(
        "base fee (msat)", old.base_fee_msat, b.min_base_fee_msat, b.max_base_fee_msat,
        steps.max_base_fee_step_msat,
    )
    blockers += [why_not] if why_not else []
    in_base, why_not = _fit(
        "inbound base fee (msat)", old.inbound_base_fee_msat, b.min_inbound_base_fee_msat,
        b.max_inbound_base_fee_msat, steps.max_base_fee_step_msat,
    )
    blockers += [why_not] if why_not else []
    in_rate, why_not = _fit(
        "inbound fee rate", old.inbound_fee_rate_ppm, b.min_inbound_fee_rate_ppm,
        b.max_inbound_fee_rate_ppm, steps.max_fee_rate_step_ppm,
    )
    blockers += [why_not] if why_not else []
    if blockers:
        return _no_action(s, [why, *blockers], factors, score)

    reasons = [why]
    if rate == old.fee_rate_ppm:
        new_rate, notes = _propose_rate(policy, old.fee_rate_ppm, direction, pct)
        reasons += notes
    else:
        new_rate = rate
        reasons.append(
            f"the fee rate is first brought into the policy's bounds: {old.fee_rate_ppm} -> "
            f"{rate} ppm"
        )
    changed_other = (base, in_base, in_rate) != (
        old.base_fee_msat, old.inbound_base_fee_msat, old.inbound_fee_rate_ppm
    )
    if changed_other:
        reasons.append(
            f"fees brought into the policy's bounds: base {old.base_fee_msat} -> {base} msat, "
            f"inbound base {old.inbound_base_fee_msat} -> {in_base} msat, inbound rate "
            f"{old.inbound_fee_rate_ppm} -> {in_rate} ppm"
        )
    delta = new_rate - old.fee_rate_ppm
    if abs(delta) < steps.min_change_ppm and not changed_other:
        reasons.append(
            f"the change of {delta:+d} ppm is below the minimum change of "
            f"{steps.min_change_ppm} ppm: not worth a gossip update"
        )
        return _no_action(s, reasons, factors, score)
    if delta == 0 and not changed_other:
        reasons.append(
            f"the change rounds to 0 ppm at {old.fee_rate_ppm} ppm (or the bound holds it): "
            f"nothing to change"
        )
        return _no_action(s, reasons, factors, score)
    if delta > 0:
        kind = DecisionKind.INCREASE_FEES
    elif delta < 0:
        kind = DecisionKind.LOWER_FEES
    else:
        kind = DecisionKind.INCREASE_FEES if direction > 0 else DecisionKind.LOWER_FEES
    reasons.append(f"fee rate {old.fee_rate_ppm} -> {new_rate} ppm")
    proposed = msgspec.structs.replace(
        old,
        fee_rate_ppm=new_rate,
        base_fee_msat=base,
        inbound_base_fee_msat=in_base,
        inbound_fee_rate_ppm=in_rate,
    )
    return _decision(s, kind, proposed, reasons, factors, score)
