"""Learning each channel's price: a bounded hill-climb on the revenue each fee level earned.

Pure and deterministic, like the engine that calls it: everything it knows comes from the
snapshot's fee epochs (``ChannelSnapshot.price_history``: each fee level our channel had over
the history window, with what it earned and routed while it held), the competitors' fees into
the peer, the channel's liquidity and the policy's ``pricing`` section.

How a decision is reached (:func:`price_move`):

1. The epochs of the last ``pricing.memory_s`` are pooled by fee rate into *levels*. A level's
   revenue rate is estimated as (demand per day) x (fee of an average forward at that rate),
   the demand being the forwards out plus ``refused_weight`` times those refused for want of
   balance (the sender chose our fee; the balance refused it, so a drained stretch does not
   read as a fee nobody pays): counting forwards rather than summing fees keeps one large
   payment from deciding, and the count gives the estimate's uncertainty (a Poisson count: the
   log of a rate estimated from ``n`` forwards has a standard error of about ``1 / sqrt(n)``),
   to which ``drift_se`` adds what the market's own drift between two epochs makes of any
   comparison (seasonality, regimes), so that many forwards in a good week do not prove a fee.
2. The current level is *measured* until it has held ``min_epoch_s`` and either routed
   ``min_forwards`` or held ``max_epoch_s``: until then nothing moves.
3. When another level earned more than the current one by more than ``significance``
   standard errors, the fee moves back toward it (the learner exploits what it knows).
4. Otherwise the current level is the best known, and the learner explores: the side not yet
   tried (the direction that last paid, else the one liquidity asks for — a drained channel
   up, an idle one down — else toward the competitors' median) by ``probe_pct`` percent, the
   step growing by half (up to ``max_probe_pct``) after a move that paid by more than
   ``significance``; or, when both sides were tried, halfway to the nearer neighbour while
   the bracket is wider than twice ``min_probe_pct``.
5. When neither applies the level is *settled*, and stays until the memory forgets its
   neighbours (``memory_s``: the market drifts, so a settled level is re-tested about that
   often).

A move never exceeds the largest step, the bounds or goes below the minimum change (the
engine's :mod:`.changes` decides that, the same rules the write path's gates apply), and a
level known to earn less is never probed again while remembered: the fee converges and stays.
Every outcome carries its reason in figures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mcp_optimizer.messages import ChannelSnapshot, CompetitorFees, FeeEpoch, LastChangeAt

from .config import Policy

DAY_S = 86400


@dataclass(frozen=True)
class Level:
    """One fee rate's pooled epochs within the memory."""

    rate_ppm: int
    duration_s: int
    forwards: int
    fees_msat: int
    amount_msat: int
    failed_balance: int
    last_end_s: int

    def days(self) -> float:
        return self.duration_s / DAY_S


@dataclass(frozen=True)
class PriceMove:
    """What the learner concluded for one channel.

    ``target_ppm`` is the fee rate to move to (None: stay); ``reasons`` say why in figures;
    ``gain_msat_per_day`` is the expected gain of the move (what ranks it in the gossip
    budget); ``label`` names the outcome (measuring, exploit, probe, refine, settled,
    no-data)."""

    target_ppm: int | None
    reasons: list[str]
    gain_msat_per_day: int
    label: str


def _sat(msat_per_day: float) -> str:
    sat = msat_per_day / 1000
    if sat >= 100:
        return f"{sat:,.0f} sat/day"
    if sat >= 1:
        return f"{sat:.1f} sat/day"
    return f"{sat:.3f} sat/day"


def _span(seconds: float) -> str:
    days = seconds / DAY_S
    if days >= 1:
        return f"{days:.1f} days"
    return f"{seconds / 3600:.0f} h"


def current_epochs(s: ChannelSnapshot) -> list[FeeEpoch]:
    """The snapshot's fee epochs, or, when it carries none, one built from its own windows:
    the history window when no change is known within it, else the recent window when the
    last change is older than it; empty when nothing can be attributed to the current fee."""
    if s.price_history:
        return list(s.price_history)
    p = s.channel.our_policy
    last = s.last_change
    for stats in (s.history, s.recent):
        start = s.taken_at_s - stats.window_s
        if isinstance(last, LastChangeAt) and last.at_s > start:
            continue
        return [
            FeeEpoch(
                start_s=start,
                end_s=s.taken_at_s,
                fee_rate_ppm=p.fee_rate_ppm,
                base_fee_msat=p.base_fee_msat,
                inbound_fee_rate_ppm=p.inbound_fee_rate_ppm,
                forwards_out=stats.forwards_out,
                amount_out_msat=stats.amount_out_msat,
                fees_earned_msat=stats.fees_earned_msat,
                forwards_in=stats.forwards_in,
                failed_balance=stats.failed_balance,
            )
        ]
    return []


def merge_runs(epochs: list[FeeEpoch]) -> list[FeeEpoch]:
    """Consecutive epochs at the same fee rate as one (a change of the inbound fee alone
    starts a new epoch, not a new level of our price)."""
    out: list[FeeEpoch] = []
    for e in epochs:
        last = out[-1] if out else None
        if last is not None and last.fee_rate_ppm == e.fee_rate_ppm and last.end_s >= e.start_s:
            out[-1] = FeeEpoch(
                start_s=last.start_s, end_s=max(last.end_s, e.end_s),
                fee_rate_ppm=e.fee_rate_ppm, base_fee_msat=e.base_fee_msat,
                inbound_fee_rate_ppm=e.inbound_fee_rate_ppm,
                forwards_out=last.forwards_out + e.forwards_out,
                amount_out_msat=last.amount_out_msat + e.amount_out_msat,
                fees_earned_msat=last.fees_earned_msat + e.fees_earned_msat,
                forwards_in=last.forwards_in + e.forwards_in,
                failed_balance=last.failed_balance + e.failed_balance,
            )
        else:
            out.append(e)
    return out


def inbound_move(s: ChannelSnapshot, policy: Policy, liquidity: Liquidity,
                 outbound: float) -> tuple[int | None, str]:
    """The inbound fee rate the channel's liquidity asks for (LND 0.18 inbound fees), with
    the reason; None: leave it. A drained channel that refused forwards for balance offers a
    discount of ``inbound_discount_pct`` percent of its own fee rate on what arrives through
    it (such forwards move liquidity back to our side of it); once its outbound is back above
    ``inbound_lift_outbound_ratio`` the discount is lifted."""
    pr = policy.pricing
    ours = s.channel.our_policy
    cur_in = ours.inbound_fee_rate_ppm
    if pr.inbound_discount_pct <= 0:
        return None, ""
    if liquidity.direction > 0 and s.recent.failed_balance > 0:
        target = -round(ours.fee_rate_ppm * pr.inbound_discount_pct / 100)
        target = max(target, policy.bounds.min_inbound_fee_rate_ppm)
        if target < cur_in and cur_in - target >= max(1, policy.steps.min_change_ppm):
            return target, (
                f"an inbound discount of {-target} ppm ({pr.inbound_discount_pct:g}% of its fee "
                f"rate) on forwards arriving through it, which move liquidity back to our side "
                f"({s.recent.failed_balance} forwards were refused for want of balance)"
            )
        return None, ""
    if cur_in < 0 and outbound >= pr.inbound_lift_outbound_ratio:
        return 0, (
            f"outbound is back to {outbound:.1%} of capacity (at least "
            f"{pr.inbound_lift_outbound_ratio:.0%}): the inbound discount of {-cur_in} ppm is "
            f"lifted"
        )
    return None, ""


def pool_levels(epochs: list[FeeEpoch], now_s: int, memory_s: int) -> dict[int, Level]:
    """Epochs ending within the memory, pooled by fee rate (only time up to ``now_s``)."""
    out: dict[int, Level] = {}
    horizon = now_s - memory_s
    for e in epochs:
        end = min(e.end_s, now_s)
        if end <= horizon or end <= e.start_s:
            continue
        dur = end - e.start_s
        old = out.get(e.fee_rate_ppm)
        if old is None:
            out[e.fee_rate_ppm] = Level(
                e.fee_rate_ppm, dur, e.forwards_out, e.fees_earned_msat, e.amount_out_msat,
                e.failed_balance, end,
            )
        else:
            out[e.fee_rate_ppm] = Level(
                e.fee_rate_ppm,
                old.duration_s + dur,
                old.forwards + e.forwards_out,
                old.fees_msat + e.fees_earned_msat,
                old.amount_msat + e.amount_out_msat,
                old.failed_balance + e.failed_balance,
                max(old.last_end_s, end),
            )
    return out


@dataclass(frozen=True)
class Estimate:
    """A level's revenue rate (msat/day) from its forward count, and the log-scale standard
    error of that count."""

    level: Level
    rate_msat_day: float
    log_se: float

    def text(self) -> str:
        lv = self.level
        return (
            f"{lv.rate_ppm} ppm earned {_sat(lv.fees_msat * DAY_S / max(lv.duration_s, 1))} "
            f"({lv.forwards} forwards in {_span(lv.duration_s)})"
        )


def estimate(levels: dict[int, Level], base_fee_msat: int, refused_weight: float = 0.0,
             drift_se: float = 0.0) -> dict[int, Estimate]:
    """Each level's estimated revenue rate: demand per day (forwards out, and
    ``refused_weight`` times those refused for want of balance) x the fee of an average
    forward (the amount of an average forward pooled over all levels, priced at the level's
    rate); its standard error combines the count's and ``drift_se``."""
    n = sum(lv.forwards for lv in levels.values())
    amount = sum(lv.amount_msat for lv in levels.values())
    avg_amount = amount / n if n else 0.0
    out = {}
    for rate, lv in levels.items():
        per_fwd = base_fee_msat + avg_amount * rate / 1e6
        if lv.forwards and not avg_amount:
            per_fwd = lv.fees_msat / lv.forwards
        days = max(lv.duration_s, 1) / DAY_S
        # half a forward of prior: a level that routed nothing is not "infinitely" worse
        count = lv.forwards + refused_weight * lv.failed_balance + 0.5
        out[rate] = Estimate(lv, count / days * per_fwd, math.sqrt(1.0 / count + drift_se ** 2))
    return out


def measured_drift(epochs: list[FeeEpoch], base_fee_msat: int, floor: float,
                   refused_weight: float = 0.0, min_s: int = DAY_S) -> float:
    """The market's drift between two epochs (log scale, per level), measured on the channel's
    own history: half the mean squared log ratio of the revenue rates of consecutive epochs
    (of at least ``min_s`` each, demand counted as in :func:`estimate`), less what the counts'
    noise explains; never below ``floor`` (``drift_se``), and ``floor`` itself until two such
    pairs are known. The fee's own effect between two epochs counts as drift too, which only
    makes a comparison more cautious: where the market is calm, neighbouring fees earn
    alike and the estimate stays near the floor; where demand swings from one epoch to the
    next (regimes, competitors moving), two levels are compared no more finely than that."""
    eps = [e for e in epochs if e.end_s - e.start_s >= min_s]
    n = sum(e.forwards_out for e in eps)
    avg_amount = sum(e.amount_out_msat for e in eps) / n if n else 0.0
    rates = []
    for e in eps:
        count = e.forwards_out + refused_weight * e.failed_balance + 0.5
        per_fwd = base_fee_msat + avg_amount * e.fee_rate_ppm / 1e6
        rates.append((count / ((e.end_s - e.start_s) / DAY_S) * max(per_fwd, 1e-9), count))
    excess = [
        math.log(ra / rb) ** 2 - 1.0 / na - 1.0 / nb
        for (ra, na), (rb, nb) in zip(rates, rates[1:], strict=False)
    ]
    if len(excess) < 2:
        return floor
    return max(floor, math.sqrt(max(0.0, sum(excess) / len(excess) / 2)))


def _z(a: Estimate, b: Estimate) -> float:
    """How many standard errors ``a`` earns above ``b`` (log scale)."""
    if a.rate_msat_day <= 0 or b.rate_msat_day <= 0:
        return 0.0
    return math.log(a.rate_msat_day / b.rate_msat_day) / math.hypot(a.log_se, b.log_se)


def _earned(e: Estimate) -> float:
    return e.level.fees_msat * DAY_S / max(e.level.duration_s, 1)


def _ratio(a: Estimate, b: Estimate) -> str:
    """How many times ``b``'s earnings per day ``a`` earned (the figures the reason quotes)."""
    if _earned(b) <= 0:
        return "more than" if _earned(a) > 0 else "as much as"
    return f"{_earned(a) / _earned(b):.2f}x"


@dataclass(frozen=True)
class Liquidity:
    """What the channel's balance asks of its price: +1 raise (drained), -1 lower (idle),
    0 nothing; with the sentence saying why."""

    direction: int
    why: str


def price_move(s: ChannelSnapshot, policy: Policy, liquidity: Liquidity) -> PriceMove:
    """The learner's move for the channel (see the module's description)."""
    pr = policy.pricing
    now = s.taken_at_s
    ours = s.channel.our_policy
    cur = ours.fee_rate_ppm
    epochs = merge_runs(current_epochs(s))
    levels = pool_levels(epochs, now, pr.memory_s)
    market = s.competitors if isinstance(s.competitors, CompetitorFees) else None
    market_text = (
        f"competitors charge a median {market.median_fee_rate_ppm} ppm into the peer "
        f"(quartiles {market.p25_fee_rate_ppm}-{market.p75_fee_rate_ppm}, {market.count} "
        f"channels)"
        if market else ""
    )

    # 2. the current level's own epoch: how long it has held, what it routed
    # (a forward refused for want of balance is evidence of demand too)
    held_s, held_fwd = 0, 0
    if epochs and epochs[-1].fee_rate_ppm == cur and epochs[-1].end_s >= now:
        held_s = now - epochs[-1].start_s
        held_fwd = epochs[-1].forwards_out + epochs[-1].failed_balance
    if held_s < pr.min_epoch_s or (held_fwd < pr.min_forwards and held_s < pr.max_epoch_s):
        return PriceMove(
            None,
            [
                f"measuring {cur} ppm: held {_span(held_s)} with {held_fwd} forwards out or "
                f"refused for balance; a level is judged after {_span(pr.min_epoch_s)} and "
                f"{pr.min_forwards} of them (or {_span(pr.max_epoch_s)})"
            ],
            0,
            "measuring",
        )

    drift = measured_drift(epochs, ours.base_fee_msat, pr.drift_se, pr.refused_weight)
    est = estimate(levels, ours.base_fee_msat, pr.refused_weight, drift)
    here = est.get(cur)
    if here is None:  # cannot happen with a held epoch, kept for safety
        return PriceMove(None, [f"no measurement of {cur} ppm yet"], 0, "measuring")
    others = sorted((e for r, e in est.items() if r != cur), key=lambda e: e.level.rate_ppm)

    # 3. exploit: the level that earned most. A fresh level (just tried: its first epoch)
    # that earns less than the best goes back to it; a level measured again is displaced
    # only by a level that earned clearly more (``significance`` standard errors).
    # fresh: a level tried for the first time (no earlier epoch at it), not yet established
    fresh = (
        sum(1 for e in epochs if e.fee_rate_ppm == cur) == 1 and held_s <= 2 * pr.max_epoch_s
    )
    # a drained channel is never taken back to a cheaper level: it would only drain faster
    # (and the demand it measured there is what the balance could not serve)
    pool = [e for e in est.values()
            if liquidity.direction <= 0 or e.level.rate_ppm >= cur]
    best = max(pool, key=lambda e: (e.rate_msat_day, e.level.rate_ppm == cur))
    lo_band, hi_band = policy.bounds.min_fee_rate_ppm, policy.bounds.max_fee_rate_ppm
    if market is not None:
        lo_band = max(lo_band, math.ceil(market.median_fee_rate_ppm * pr.floor_market_ratio))
        hi_band = min(hi_band, max(lo_band, int(market.median_fee_rate_ppm
                                                * pr.ceiling_market_ratio)))

    def in_band(rate: int) -> bool:
        return lo_band <= rate <= hi_band

    if best is not here:
        z = _z(best, here)
        # a few forwards' noise does not take the fee back out of the market's band
        trusted = in_band(best.level.rate_ppm) or not in_band(cur)
        # a try toward the market from a level far from it is given the benefit of the doubt
        # (the competitors anchor the price): it goes back only when clearly worse
        anchor = 0.0
        if market is not None and market.median_fee_rate_ppm > 0:
            m = market.median_fee_rate_ppm
            far_best = not m / 2 <= best.level.rate_ppm <= 2 * m
            closer = abs(math.log(max(cur, 1) / m)) < abs(
                math.log(max(best.level.rate_ppm, 1) / m)
            )
            anchor = 0.75 if far_best and closer else 0.0
        if z > pr.significance or (
            fresh and trusted and best.rate_msat_day > here.rate_msat_day
            and z > max(anchor, pr.fresh_margin)
        ):
            gain = best.rate_msat_day - here.rate_msat_day
            return PriceMove(
                best.level.rate_ppm,
                [
                    f"at {best.level.rate_ppm} ppm the channel earned {_ratio(best, here)} what "
                    f"it earns at {cur} ppm ({best.text()}; {here.text()}): moving back "
                    f"toward {best.level.rate_ppm} ppm"
                ],
                int(gain),
                "exploit",
            )
        return PriceMove(
            None,
            [
                f"staying at {cur} ppm: {here.text()}; {best.text()}, {_ratio(best, here)} as "
                f"much, a difference within the noise ({z:.1f} standard errors of the counts "
                f"and of the market's drift, {drift:.2f} a level on the log scale; "
                f"{pr.significance:g} needed); no change"
            ],
            0,
            "settled",
        )

    summary = here.text()
    tried = "; ".join(f"{e.text()}" for e in others)
    if tried:
        summary += f", the most of the levels remembered ({tried})"
    if here.level.forwards == 0 and not others and liquidity.direction == 0 and (
        market is None or cur <= market.median_fee_rate_ppm
    ):
        return PriceMove(
            None,
            [f"{summary}: no demand measured at any fee and nothing asks for a move; no change"],
            0,
            "no-data",
        )

    # 4. explore around the best known level, within the channel's budget of tries: fee
    # changes in the memory beyond ``max_tries`` wait for older ones to be forgotten (gossip)
    tries = sum(1 for e in epochs[1:] if e.start_s > now - pr.memory_s)
    outside = market is not None and not (
        market.median_fee_rate_ppm / 2 <= cur <= 2 * market.median_fee_rate_ppm
    )  # far from the market, the way back toward it is not rationed
    if pr.max_tries and tries >= pr.max_tries and liquidity.direction <= 0 and not outside:
        return PriceMove(
            None,
            [
                f"{summary}; {tries} fee changes in the last {_span(pr.memory_s)}, the "
                f"channel's budget of tries ({pr.max_tries}): no new try until older ones are "
                f"forgotten; no change"
            ],
            0,
            "budget",
        )
    # a level gone back to (measured before, left, returned to) has been confirmed as the best
    # known: it holds ``return_hold_s`` before the next try, so that a channel at its price
    # does not pay for a try on each side every time the memory forgets one
    returned = sum(1 for e in epochs[:-1] if e.fee_rate_ppm == cur and e.end_s > now - pr.memory_s)
    if returned and held_s < pr.return_hold_s and liquidity.direction <= 0 and not outside:
        return PriceMove(
            None,
            [
                f"settled at {cur} ppm: {summary}; gone back to {_span(held_s)} ago as the best "
                f"measured, it holds {_span(pr.return_hold_s)} before the next try; no change"
            ],
            0,
            "settled",
        )
    below = [e for e in others if e.level.rate_ppm < cur]
    above = [e for e in others if e.level.rate_ppm > cur]
    lo = below[-1] if below else None
    hi = above[0] if above else None
    pct = pr.probe_pct / 100
    # momentum: the last move paid (we came from a level that earned less) -> keep going
    prev = next((e.fee_rate_ppm for e in reversed(epochs[:-1]) if e.fee_rate_ppm != cur), None)
    direction, why_dir = 0, ""
    came = 0 if prev is None else (1 if cur > prev else -1)
    paid = fresh and prev is not None and prev in est and _z(here, est[prev]) > 0
    if paid:
        direction = came
        if _z(here, est[prev]) > pr.significance:  # only a clear gain lengthens the step
            grown = abs(cur - prev) / max(cur, 1) * 1.5
            pct = min(max(pct, grown), pr.max_probe_pct / 100)
        why_dir = f"the move from {prev} ppm paid"
    elif liquidity.direction:
        direction, why_dir = liquidity.direction, liquidity.why
    elif market is not None:
        direction = 1 if cur <= market.median_fee_rate_ppm else -1
        why_dir = market_text
    else:
        direction, why_dir = -1 if here.level.forwards == 0 else 1, ""

    far = market is not None and prev is None and (
        cur * 2 < market.median_fee_rate_ppm or cur > 2 * market.median_fee_rate_ppm
    )

    def side_open(d: int) -> bool:
        if d > 0:
            return hi is None and cur < hi_band
        return lo is None and cur > lo_band

    gain = int(0.1 * here.rate_msat_day) + 1
    # a try is worth a gossip update only where the count can tell a better fee from noise
    thin = here.level.forwards < pr.explore_min_forwards
    thin_held = False
    for d in (direction, -direction):
        if here.level.forwards == 0 and d > 0 and liquidity.direction <= 0:
            continue  # nothing routed here: a dearer fee cannot earn more
        if d < 0 and liquidity.direction > 0:
            continue  # drained: a cheaper fee only drains it faster
        # far from the market, or above it with too few forwards to learn from: the
        # competitors' median is the best guess there is
        anchored = (far and d == direction) or (
            thin and d < 0 and market is not None and cur > market.median_fee_rate_ppm
        )
        if d < 0 and liquidity.direction < 0 and not anchored and (
            here.level.forwards == 0 and hi is not None and hi.level.forwards == 0
        ):
            continue  # idle: a lower fee brought no flow either; the price is not the cause
        liquid = d == liquidity.direction != 0
        if thin and not anchored and not liquid:
            thin_held = True
            continue
        if side_open(d):
            step = max(1, policy.steps.min_change_ppm, round(cur * pct))
            target = cur + d * step
            if anchored and market is not None:
                # far from the market: straight toward the competitors' median (the step and
                # the bounds may make it take more than one move)
                jump = market.median_fee_rate_ppm
                if (jump - cur) * d > 0:
                    target = jump
            reason = f"{summary}; "
            why = f" ({why_dir})" if why_dir and d == direction else ""
            return PriceMove(
                target,
                [
                    f"{reason}trying {'a higher' if d > 0 else 'a lower'} fee, {target} ppm "
                    f"({(target - cur) / max(cur, 1):+.0%}){why}, to see whether it earns more"
                ],
                gain,
                "probe",
            )
    # refine: both sides tried; halve the wider bracket while it is wide enough
    if here.level.forwards >= max(pr.min_forwards, pr.explore_min_forwards):
        gaps = []
        for n in (lo, hi):
            if n is not None and abs(n.level.rate_ppm - cur) > 2 * cur * pr.min_probe_pct / 100:
                gaps.append(n)
        if gaps:
            n = max(gaps, key=lambda e: e.rate_msat_day)
            target = round(math.sqrt(n.level.rate_ppm * max(cur, 1)))
            if target not in est and abs(target - cur) >= max(1, policy.steps.min_change_ppm):
                return PriceMove(
                    target,
                    [
                        f"{summary}; trying {target} ppm, between {cur} and "
                        f"{n.level.rate_ppm} ppm, to narrow down the best fee"
                    ],
                    gain,
                    "refine",
                )
    # 5. settled
    if thin_held:
        return PriceMove(
            None,
            [
                f"{summary}: {here.level.forwards} forwards at {cur} ppm in the last "
                f"{_span(pr.memory_s)}, fewer than the {pr.explore_min_forwards} a try needs to "
                f"tell a better fee from noise; no change"
            ],
            0,
            "thin",
        )
    tail = f"; {liquidity.why}, but the levels measured say no" if liquidity.direction else ""
    return PriceMove(
        None,
        [f"settled at {cur} ppm: {summary}{tail}; no change"],
        0,
        "settled",
    )


def expected_gain(s: ChannelSnapshot, proposed_ppm: int, policy: Policy) -> float:
    """What moving the channel to ``proposed_ppm`` is expected to add, in msat per day, from
    the snapshot's own fee epochs: the difference of the two levels' estimates when the new
    level was measured, else a tenth of what the current level earns (an experiment's worth),
    plus one msat so that any move ranks above none. What the gossip budget is ranked by."""
    ours = s.channel.our_policy
    pr = policy.pricing
    epochs = merge_runs(current_epochs(s))
    levels = pool_levels(epochs, s.taken_at_s, pr.memory_s)
    drift = measured_drift(epochs, ours.base_fee_msat, pr.drift_se, pr.refused_weight)
    est = estimate(levels, ours.base_fee_msat, pr.refused_weight, drift)
    here = est.get(ours.fee_rate_ppm)
    now_rate = here.rate_msat_day if here is not None else 0.0
    there = est.get(proposed_ppm)
    if there is not None and there.rate_msat_day > now_rate:
        return there.rate_msat_day - now_rate + 1
    return 0.1 * now_rate + 1
