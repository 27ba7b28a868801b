"""Strategies the backtest compares: the engine and the baselines it must beat.

A strategy is what the decider actor calls for each snapshot (``decide(snapshot, policy) ->
Decision``): the only thing that differs between two backtest runs. Before each cycle the
harness hands it a :class:`MarketView` (what it read from the node over gRPC: forwarding
flows over 1 and 7 days, insufficient-balance failures of the last day, the competitors'
median fee into each peer), for the baselines that need more than a snapshot.

Baselines propose a fee rate *target*; :func:`toward` turns it into a Decision that passes
the write path's gates as every decision must: the target is clipped to the policy's bounds,
one decision moves at most ``steps.max_fee_rate_step_ppm``, a move under
``steps.min_change_ppm`` is not proposed, and nothing is proposed within the cooldown after
the channel's last change. The base fee and inbound fees are left as they are.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import msgspec

from mcp_optimizer.messages import (
    ChannelPolicy,
    ChannelSnapshot,
    Decision,
    DecisionKind,
    LastChangeAt,
)
from mcp_optimizer.policies.config import Policy
from mcp_optimizer.policies.engine import evaluate_channel

DAY_S = 86_400

STATIC_GRID = (10, 50, 100, 200, 500, 1000, 2000)
"""Fee rates (ppm) tried by ``best-static``: a fee for every channel, from near-free to dear."""
COMPETITOR_GRID = (0.5, 1.0, 2.0, 3.0, 5.0, 10.0)
"""Multiples of each channel's competitor median tried by ``best-competitor`` (10 x is the
fixed rule that beat the autopilot on the old market)."""

PROPORTIONAL_DEFAULT = (10, 1000)
"""charge-lnd ``proportional`` min_fee_ppm / max_fee_ppm when not given
(``proportional:MIN:MAX``)."""
PROPORTIONAL_MIN_DELTA_PPM = 10
"""charge-lnd's ``min_fee_ppm_delta``: a smaller move is not made."""

# LNDg auto-fees, as issue 9 lists its rules (LNDg's defaults).
FLOW_UPDATE_S = DAY_S
"""At most one change per channel per 24 h (AF-UpdateHours)."""
FLOW_LOW_LIQ = 0.15
FLOW_EXCESS = 0.95
FLOW_FAILED_HTLCS = 25
FLOW_MAX_PPM = 2500
FLOW_MIN_PPM = 0


@dataclass(frozen=True)
class ChannelFlow:
    """What one channel routed, read from the node's forwarding history (msat)."""

    in_1d_msat: int = 0
    out_1d_msat: int = 0
    in_7d_msat: int = 0
    out_7d_msat: int = 0
    ib_failures_1d: int = 0
    """HTLCs that failed on this channel for INSUFFICIENT_BALANCE over the last day."""


@dataclass
class MarketView:
    """What the baselines may read before a cycle (the harness fills it over gRPC)."""

    now_s: int = 0
    flows: dict[int, ChannelFlow] = field(default_factory=dict)
    competitor_median_ppm: dict[int, int] = field(default_factory=dict)
    """Per chan_id: the median fee rate the peer's other channels charge into it."""


class Strategy:
    """A deciding function with a name; ``prepare`` is called before each cycle."""

    name = "strategy"
    needs_view = False
    """Whether the harness must fill the MarketView's flows (costs a forwarding read)."""

    def prepare(self, view: MarketView) -> None:
        self.view = view

    def __call__(self, snapshot: ChannelSnapshot, policy: Policy) -> Decision:
        raise NotImplementedError


class Autopilot(Strategy):
    """The engine itself (``policies.engine.evaluate_channel``) with the service's policy."""

    name = "autopilot"

    def __call__(self, snapshot: ChannelSnapshot, policy: Policy) -> Decision:
        return evaluate_channel(snapshot, policy)


def _in_cooldown(s: ChannelSnapshot, cooldown_s: int) -> int | None:
    last = s.last_change
    if isinstance(last, LastChangeAt) and s.taken_at_s - last.at_s < cooldown_s:
        return s.taken_at_s - last.at_s
    return None


def _no_action(s: ChannelSnapshot, why: str) -> Decision:
    p = s.channel.our_policy
    return Decision(
        chan_id=s.channel.chan_id,
        kind=DecisionKind.NO_ACTION,
        current_policy=p,
        proposed_policy=p,
        reasons=[why],
        factors=[],
        score=0.0,
        executable=True,
        evaluated_at_s=s.taken_at_s,
    )


def toward(
    s: ChannelSnapshot, policy: Policy, target_ppm: float | None, name: str, why: str,
    *, cooldown_s: int | None = None, min_delta_ppm: int = 0,
) -> Decision:
    """A Decision moving the channel's fee rate toward ``target_ppm`` within the gates."""
    cur: ChannelPolicy = s.channel.our_policy
    if target_ppm is None or not math.isfinite(target_ppm):
        return _no_action(s, f"{name}: {why}")
    b, st = policy.bounds, policy.steps
    target = int(min(max(round(target_ppm), b.min_fee_rate_ppm), b.max_fee_rate_ppm))
    waited = _in_cooldown(s, policy.cooldown_s if cooldown_s is None else cooldown_s)
    if waited is not None:
        return _no_action(s, f"{name}: changed {waited} s ago, within the cooldown")
    delta = target - cur.fee_rate_ppm
    if abs(delta) < max(st.min_change_ppm, min_delta_ppm, 1):
        return _no_action(
            s, f"{name}: target {target} ppm, at {cur.fee_rate_ppm} ppm already ({why})"
        )
    step = max(-st.max_fee_rate_step_ppm, min(st.max_fee_rate_step_ppm, delta))
    new = msgspec.structs.replace(cur, fee_rate_ppm=cur.fee_rate_ppm + step)
    kind = DecisionKind.INCREASE_FEES if step > 0 else DecisionKind.LOWER_FEES
    towards = "" if step == delta else f" (one step toward {target} ppm)"
    return Decision(
        chan_id=s.channel.chan_id,
        kind=kind,
        current_policy=cur,
        proposed_policy=new,
        reasons=[f"{name}: {cur.fee_rate_ppm} -> {new.fee_rate_ppm} ppm{towards}: {why}"],
        factors=[],
        score=0.0,
        executable=True,
        evaluated_at_s=s.taken_at_s,
    )


class Keep(Strategy):
    """The node's own fees, untouched."""

    name = "keep"

    def __call__(self, snapshot: ChannelSnapshot, policy: Policy) -> Decision:
        return _no_action(snapshot, "keep: the node's own fees are left as they are")


class Static(Strategy):
    """One fee rate for every channel."""

    def __init__(self, ppm: int) -> None:
        self.ppm = ppm
        self.name = f"static:{ppm}"

    def __call__(self, snapshot: ChannelSnapshot, policy: Policy) -> Decision:
        return toward(snapshot, policy, self.ppm, self.name, f"every channel at {self.ppm} ppm")


class Competitor(Strategy):
    """K x the median fee rate the peer's other channels charge into it."""

    def __init__(self, k: float) -> None:
        self.k = k
        self.name = f"competitor:{k:g}"

    def __call__(self, snapshot: ChannelSnapshot, policy: Policy) -> Decision:
        median = self.view.competitor_median_ppm.get(snapshot.channel.chan_id)
        if median is None:
            return _no_action(snapshot, f"{self.name}: the competitors' fees are unknown")
        return toward(
            snapshot, policy, self.k * median, self.name,
            f"{self.k:g} x the competitors' median {median} ppm",
        )


class Fixed(Strategy):
    """A fixed fee rate per channel (the oracle's, chosen in hindsight)."""

    name = "oracle"

    def __init__(self, fees: Mapping[int, int]) -> None:
        self.fees = dict(fees)

    def __call__(self, snapshot: ChannelSnapshot, policy: Policy) -> Decision:
        fee = self.fees.get(snapshot.channel.chan_id)
        return toward(snapshot, policy, fee, self.name, "the best fixed fee found in hindsight")


class Proportional(Strategy):
    """charge-lnd's ``proportional``: min + (1 - outbound ratio) * (max - min), moved only
    when it differs by ``min_fee_ppm_delta`` (10 ppm) or more."""

    def __init__(self, lo: int, hi: int) -> None:
        self.lo, self.hi = lo, hi
        self.name = "proportional" if (lo, hi) == PROPORTIONAL_DEFAULT else (
            f"proportional:{lo}:{hi}"
        )

    def target(self, snapshot: ChannelSnapshot) -> float:
        c = snapshot.channel
        ratio = c.local_balance_sat / c.capacity_sat if c.capacity_sat else 0.0
        return self.lo + (1.0 - ratio) * (self.hi - self.lo)

    def __call__(self, snapshot: ChannelSnapshot, policy: Policy) -> Decision:
        c = snapshot.channel
        ratio = c.local_balance_sat / c.capacity_sat if c.capacity_sat else 0.0
        return toward(
            snapshot, policy, self.target(snapshot), self.name,
            f"outbound {ratio:.0%}: {self.lo} + {1 - ratio:.2f} x ({self.hi} - {self.lo})",
            min_delta_ppm=PROPORTIONAL_MIN_DELTA_PPM,
        )


def flow_target(cur_ppm: int, outbound: float, capacity_msat: int, f: ChannelFlow
                ) -> tuple[int | None, str]:
    """LNDg auto-fees' new rate for one channel (None: no rule fires), and why."""
    if outbound <= FLOW_LOW_LIQ:
        if f.ib_failures_1d >= FLOW_FAILED_HTLCS and f.in_1d_msat == 0:
            new, why = cur_ppm + 25, (
                f"outbound {outbound:.0%} <= 15%, {f.ib_failures_1d} insufficient-balance "
                "failures and no inbound flow in a day: +25 ppm"
            )
        else:
            return None, f"outbound {outbound:.0%} <= 15%, no rule fires"
    elif outbound >= FLOW_EXCESS:
        if f.out_7d_msat == 0:
            new, why = cur_ppm - 25, f"outbound {outbound:.0%} >= 95%, no flow in 7 days: -25 ppm"
        else:
            return None, f"outbound {outbound:.0%} >= 95% with flow, no rule fires"
    else:
        net = (f.out_7d_msat - f.in_7d_msat) / capacity_msat if capacity_msat else 0.0
        if net > 1:
            new, why = cur_ppm + 10 * (1 + net), (
                f"7-day net outflow {net:.2f} x capacity: +10 x (1 + {net:.2f}) ppm"
            )
        elif f.out_7d_msat == 0 and f.in_7d_msat == 0:
            new, why = cur_ppm - 15, "no flow in 7 days: -15 ppm"
        else:
            return None, f"outbound {outbound:.0%}, net outflow {net:.2f} x capacity"
    rounded = int(5 * round(new / 5))
    return min(max(rounded, FLOW_MIN_PPM), FLOW_MAX_PPM), why


class Flow(Strategy):
    """LNDg's auto-fees rules (as issue 9 lists them), at most one change per 24 h."""

    name = "flow"
    needs_view = True

    def __call__(self, snapshot: ChannelSnapshot, policy: Policy) -> Decision:
        c = snapshot.channel
        f = self.view.flows.get(c.chan_id, ChannelFlow())
        outbound = c.local_balance_sat / c.capacity_sat if c.capacity_sat else 0.0
        target, why = flow_target(
            c.our_policy.fee_rate_ppm, outbound, c.capacity_sat * 1000, f
        )
        return toward(
            snapshot, policy, target, self.name, why,
            cooldown_s=max(FLOW_UPDATE_S, policy.cooldown_s),
        )


GRID_NAMES = ("best-static", "best-competitor", "oracle")
"""Strategies that are not one run but the best of several (a grid) for each seed."""
KNOWN = ("autopilot", "keep", "static:PPM", "competitor:K", "flow", "proportional[:MIN:MAX]",
         *GRID_NAMES)


class StrategyError(ValueError):
    """A strategy name that cannot be used (the message names it and what is known)."""


def _number(name: str, text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise StrategyError(f"strategy {name!r}: {what} {text!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise StrategyError(f"strategy {name!r}: {what} must be a finite number >= 0")
    return value


def check_name(name: str) -> str:
    """``name`` normalised (``competitor:2.0`` -> ``competitor:2``), or StrategyError."""
    if name in ("autopilot", "keep", "flow", *GRID_NAMES):
        return name
    head, _, rest = name.partition(":")
    if head == "static" and rest:
        ppm = _number(name, rest, "fee rate")
        if ppm != int(ppm):
            raise StrategyError(f"strategy {name!r}: the fee rate must be whole ppm")
        return f"static:{int(ppm)}"
    if head == "competitor" and rest:
        return f"competitor:{_number(name, rest, 'multiple'):g}"
    if head == "proportional":
        if not rest:
            return "proportional"
        lo_text, _, hi_text = rest.partition(":")
        lo = _number(name, lo_text, "min_fee_ppm")
        hi = _number(name, hi_text, "max_fee_ppm") if hi_text else -1
        if hi < lo or lo != int(lo) or hi != int(hi):
            raise StrategyError(
                f"strategy {name!r}: expected proportional:MIN:MAX, whole ppm, MIN <= MAX"
            )
        return "proportional" if (lo, hi) == PROPORTIONAL_DEFAULT else (
            f"proportional:{int(lo)}:{int(hi)}"
        )
    raise StrategyError(f"unknown strategy {name!r}; known: {', '.join(KNOWN)}")


def make(name: str, fixed_fees: Mapping[int, int] | None = None) -> Strategy:
    """The strategy of one run, by its normalised name (grid names are resolved by the plan;
    ``oracle`` runs with ``fixed_fees``)."""
    name = check_name(name)
    head, _, rest = name.partition(":")
    if name == "autopilot":
        return Autopilot()
    if name == "keep":
        return Keep()
    if name == "flow":
        return Flow()
    if name == "oracle":
        return Fixed(fixed_fees or {})
    if head == "static":
        return Static(int(rest))
    if head == "competitor":
        return Competitor(float(rest))
    if head == "proportional":
        lo, _, hi = rest.partition(":")
        return Proportional(*(PROPORTIONAL_DEFAULT if not rest else (int(lo), int(hi))))
    raise StrategyError(f"strategy {name!r} is the best of a grid, not one run")
