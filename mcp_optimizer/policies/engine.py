"""The decision engine: ``evaluate_channel(snapshot, policy) -> Decision``.

Pure and deterministic: no I/O, no clock (the snapshot's time is the only "now"), no
randomness. It never raises on bad data: a defective snapshot gives NO_ACTION with the defect
named. Rules, in order (each decision says which one fired and why):

1. defects in the snapshot -> NO_ACTION;
2. the peer's link is down -> NO_ACTION (nothing can be learnt from an offline channel);
3. mature, scoring below ``close_below_score`` and routing nothing over the history window
   -> CLOSE_CHANNEL (executable only when ``close.execute`` is true; a recommendation otherwise);
4. within the cooldown after the last change -> NO_ACTION;
5. the price learner (``pricing.enabled``, :mod:`.pricing`): a bounded hill-climb on the
   revenue each fee level earned (the snapshot's fee epochs), anchored on the competitors'
   fees, with a drained channel only raised and an idle one lowered first; or, with the
   learner off, the score rules of earlier versions (under-performance raise, strong raise,
   idle lower, weak lower).

When no factor of weight above 0 could be scored the score is unknown, not 0: no close
recommendation and no score rule fires from it.

Every proposal is shaped by :mod:`.changes`, the rules the write path's gates apply (bounds,
largest step, minimum change): a proposal the engine makes is never refused by those gates;
when none may be made (the current fee lies outside the bounds by more than one step, the move
is below the minimum change) nothing is proposed and the reason says so.
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

from .changes import shape
from .config import Policy
from .defects import find_defects
from .factors import score_factors
from .overrides import evaluate_overridden
from .pricing import Liquidity, inbound_move, price_move


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
        kinds = [
            f"{n} {why}"
            for n, why in (
                (stats.failed_balance, "for want of balance"),
                (stats.failed_fee, "offering less than our fee"),
                (stats.failed_downstream, "further along the route"),
            )
            if n
        ]
        parts.append(
            f"{stats.failed_htlcs} HTLCs failed" + (f" ({', '.join(kinds)})" if kinds else "")
        )
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


def _propose_rate(
    policy: Policy, old: int, direction: int, pct: float
) -> tuple[int, list[str]]:
    """The target fee rate for a change of ``pct`` percent up (+1) or down (-1), with notes
    (a raise below the minimum change is rounded up to it)."""
    notes: list[str] = []
    delta = math.floor(old * pct / 100 + 0.5)
    if direction > 0 and delta < policy.steps.min_change_ppm and pct > 0:
        delta = policy.steps.min_change_ppm
        notes.append(
            f"{pct:g}% of {old} ppm is below the minimum change; raising by "
            f"{policy.steps.min_change_ppm} ppm instead"
        )
    return old + direction * delta, notes


def evaluate_channel(snapshot: ChannelSnapshot, policy: Policy) -> Decision:
    """Decide what to do with one channel. Pure, deterministic, never raises on bad data."""
    if policy.channels:  # per-channel overrides decide or bound first (policies/overrides.py)
        return evaluate_overridden(snapshot, policy, _evaluate)
    return _evaluate(snapshot, policy)


def _evaluate(snapshot: ChannelSnapshot, policy: Policy) -> Decision:
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


def _liquidity(s: ChannelSnapshot, policy: Policy, outbound: float) -> Liquidity:
    """What the balance asks of the price: a drained channel's fee rises to slow it, an idle
    one's falls to attract flow."""
    th, recent = policy.thresholds, s.recent
    if (
        outbound < th.low_outbound_ratio
        and recent.window_s >= policy.underperformance.window_s
        and (recent.forwards_out > 0 or recent.failed_balance > 0)
    ):
        failed = (
            f" and {recent.failed_balance} were refused for want of balance"
            if recent.failed_balance else ""
        )
        return Liquidity(
            1,
            f"drained: outbound is {outbound:.1%} of capacity (below "
            f"{th.low_outbound_ratio:.0%}) while {recent.forwards_out} forwards left{failed} "
            f"in the last {_days(recent.window_s)}",
        )
    if outbound > th.high_outbound_ratio and recent.forwards_out == 0:
        return Liquidity(
            -1,
            f"idle: {outbound:.1%} of capacity is on our side (above "
            f"{th.high_outbound_ratio:.0%}) and nothing left in the last "
            f"{_days(recent.window_s)}",
        )
    return Liquidity(0, "")


def _decide(
    s: ChannelSnapshot, policy: Policy, factors: list[FactorScore], score: float
) -> Decision:
    ch, th = s.channel, policy.thresholds
    now = s.taken_at_s
    outbound = ch.local_balance_sat / ch.capacity_sat
    score_text = f"score {score:.2f}"
    # With no factor scored (or only factors of weight 0) the score is unknown, not 0: the
    # rules that judge the score (close, strong, weak) stay silent; the others still apply.
    scored = score_known(factors)

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

    if policy.pricing.enabled:
        liquidity = _liquidity(s, policy, outbound)
        move = price_move(s, policy, liquidity)
        inbound, why_in = inbound_move(s, policy, liquidity, outbound)
        if move.target_ppm is None and inbound is None:
            return _no_action(s, move.reasons, factors, score)
        reasons = list(move.reasons)
        if inbound is not None:
            reasons.append(f"{liquidity.why}: {why_in}" if liquidity.direction else why_in)
        target = ch.our_policy.fee_rate_ppm if move.target_ppm is None else move.target_ppm
        return _propose(s, policy, target, reasons, factors, score,
                        max(move.gain_msat_per_day, 1), inbound)
    return _decide_by_score(s, policy, factors, score, scored, outbound)


def score_known(factors: list[FactorScore]) -> bool:
    """Whether the score stands for something: a factor of weight above 0 was scored."""
    return any(isinstance(f, ScoredFactor) and f.weight > 0 for f in factors)


def _decide_by_score(
    s: ChannelSnapshot, policy: Policy, factors: list[FactorScore], score: float,
    scored: bool, outbound: float,
) -> Decision:
    """The rules of earlier versions (``pricing.enabled: false``): liquidity, then score."""
    th, hist = policy.thresholds, s.history
    score_text = f"score {score:.2f}"
    recent = s.recent
    under = policy.underperformance
    direction, pct, why = 0, 0.0, ""
    if outbound < th.low_outbound_ratio and (recent.forwards_out > 0 or recent.failed_htlcs > 0):
        if recent.window_s >= under.window_s:
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
    target, notes = _propose_rate(policy, s.channel.our_policy.fee_rate_ppm, direction, pct)
    return _propose(s, policy, target, [why, *notes], factors, score, 0)


def _why_no_rule(
    s: ChannelSnapshot, policy: Policy, score: float, outbound: float, scored: bool
) -> str:
    th = policy.thresholds
    if not scored:
        return (
            f"outbound {outbound:.1%}: no factor could be scored (each enabled factor's input "
            f"is unknown or weighs 0), so no score-based rule applies, and no liquidity rule "
            f"applies; no change"
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
    target_ppm: int,
    reasons: list[str],
    factors: list[FactorScore],
    score: float,
    gain_msat_per_day: int,
    inbound_ppm: int | None = None,
) -> Decision:
    """The change toward ``target_ppm`` (and ``inbound_ppm`` when given), shaped by the rules
    the gates apply (:mod:`.changes`: bounds, step, minimum change), or NO_ACTION saying why
    none may be made."""
    old = s.channel.our_policy
    shaped = shape(old, fee_rate_ppm=target_ppm, inbound_fee_rate_ppm=inbound_ppm,
                   policy=policy)
    reasons = [*reasons, *shaped.notes]
    new = shaped.policy
    if new is None:
        reasons.append("no change may be made within the policy's limits")
        return _no_action(s, reasons, factors, score)
    delta = new.fee_rate_ppm - old.fee_rate_ppm
    if delta > 0:
        kind = DecisionKind.INCREASE_FEES
    elif delta < 0:
        kind = DecisionKind.LOWER_FEES
    elif new.inbound_fee_rate_ppm != old.inbound_fee_rate_ppm:
        kind = (
            DecisionKind.INCREASE_FEES if new.inbound_fee_rate_ppm > old.inbound_fee_rate_ppm
            else DecisionKind.LOWER_FEES
        )
    else:
        kind = (
            DecisionKind.INCREASE_FEES if target_ppm > old.fee_rate_ppm
            else DecisionKind.LOWER_FEES
        )
    in_rate = old.inbound_fee_rate_ppm if inbound_ppm is not None else new.inbound_fee_rate_ppm
    if (new.base_fee_msat, new.inbound_base_fee_msat, in_rate) != (
        old.base_fee_msat, old.inbound_base_fee_msat, old.inbound_fee_rate_ppm
    ):
        reasons.append(
            f"fees brought into the policy's bounds: base {old.base_fee_msat} -> "
            f"{new.base_fee_msat} msat, inbound base {old.inbound_base_fee_msat} -> "
            f"{new.inbound_base_fee_msat} msat, inbound rate {old.inbound_fee_rate_ppm} -> "
            f"{new.inbound_fee_rate_ppm} ppm"
        )
    if new.fee_rate_ppm != old.fee_rate_ppm or (
        new.inbound_fee_rate_ppm == old.inbound_fee_rate_ppm
    ):
        reasons.append(f"fee rate {old.fee_rate_ppm} -> {new.fee_rate_ppm} ppm")
    if new.inbound_fee_rate_ppm != old.inbound_fee_rate_ppm:
        reasons.append(
            f"inbound fee rate {old.inbound_fee_rate_ppm} -> {new.inbound_fee_rate_ppm} ppm"
        )
    return _decision(s, kind, new, reasons, factors, score)
