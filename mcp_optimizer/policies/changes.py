"""What a policy change may be: the one place that decides it, for the engine and the gates.

The engine shapes its proposals with :func:`shape` and checks them with :func:`problems`; the
write path's gates (:mod:`mcp_optimizer.safety.gates`) refuse a change when
:func:`problems` names one. Engine and gates therefore agree by construction: a proposal the
engine makes is never refused by the bounds, the step or the minimum-change gate.

Rules:

* bounds: every fee (base, rate, inbound base, inbound rate) lies within the policy's bounds;
* step: each fee moves by at most ``steps.max_fee_rate_step_ppm`` (rates) or
  ``steps.max_base_fee_step_msat`` (base fees) from the node's current policy;
* minimum change: a change whose only effect is a move of the fee rate and the inbound fee
  rate, each below ``steps.min_change_ppm``, is not worth a gossip update (one that changes
  nothing at all neither).
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from mcp_optimizer.messages import ChannelPolicy

from .config import Policy

BOUNDS, STEP, MIN_CHANGE = "bounds", "step", "min_change"


@dataclass(frozen=True)
class Problem:
    """One rule a change breaks: ``rule`` is bounds, step or min_change."""

    rule: str
    reason: str


def _fields(policy: Policy) -> tuple[tuple[str, str, int, int, int], ...]:
    b, s = policy.bounds, policy.steps
    return (
        ("base_fee_msat", "base fee (msat)", b.min_base_fee_msat, b.max_base_fee_msat,
         s.max_base_fee_step_msat),
        ("fee_rate_ppm", "fee rate (ppm)", b.min_fee_rate_ppm, b.max_fee_rate_ppm,
         s.max_fee_rate_step_ppm),
        ("inbound_base_fee_msat", "inbound base fee (msat)", b.min_inbound_base_fee_msat,
         b.max_inbound_base_fee_msat, s.max_base_fee_step_msat),
        ("inbound_fee_rate_ppm", "inbound fee rate (ppm)", b.min_inbound_fee_rate_ppm,
         b.max_inbound_fee_rate_ppm, s.max_fee_rate_step_ppm),
    )


def bound_problems(new: ChannelPolicy, policy: Policy) -> list[Problem]:
    out = []
    for field, _label, lo, hi, _step in _fields(policy):
        value = getattr(new, field)
        if not lo <= value <= hi:
            out.append(Problem(BOUNDS, f"{field} {value} is outside the bounds [{lo}, {hi}]"))
    return out


def step_problems(old: ChannelPolicy, new: ChannelPolicy, policy: Policy) -> list[Problem]:
    out = []
    for field in ("fee_rate_ppm", "base_fee_msat", "inbound_fee_rate_ppm",
                  "inbound_base_fee_msat"):
        most = next(f[4] for f in _fields(policy) if f[0] == field)
        a, b = getattr(old, field), getattr(new, field)
        if abs(b - a) > most:
            out.append(
                Problem(
                    STEP,
                    f"{field} moves by {b - a:+d} ({a} -> {b}), more than the largest step "
                    f"{most}",
                )
            )
    return out


def min_change_problems(old: ChannelPolicy, new: ChannelPolicy, policy: Policy) -> list[Problem]:
    others_same = (
        old.base_fee_msat == new.base_fee_msat
        and old.inbound_base_fee_msat == new.inbound_base_fee_msat
        and old.time_lock_delta == new.time_lock_delta
        and old.min_htlc_msat == new.min_htlc_msat
        and old.max_htlc_msat == new.max_htlc_msat
    )
    rate = abs(new.fee_rate_ppm - old.fee_rate_ppm)
    inbound = abs(new.inbound_fee_rate_ppm - old.inbound_fee_rate_ppm)
    least = policy.steps.min_change_ppm
    if others_same and rate == 0 and inbound == 0:
        return [Problem(MIN_CHANGE, "the new policy equals the current one")]
    if others_same and max(rate, inbound) < least:
        return [
            Problem(
                MIN_CHANGE,
                f"fee rate moves by {rate} ppm and inbound rate by {inbound} ppm, less than "
                f"the minimum change {least} ppm",
            )
        ]
    return []


def problems(old: ChannelPolicy, new: ChannelPolicy, policy: Policy) -> list[Problem]:
    """Every rule the change from ``old`` to ``new`` breaks (empty: it may be made)."""
    return (
        bound_problems(new, policy)
        + step_problems(old, new, policy)
        + min_change_problems(old, new, policy)
    )


@dataclass(frozen=True)
class Shaped:
    """A proposal shaped by the rules: ``policy`` is None when no change may be made, and
    ``notes`` say what the rules did to the target (capped, held at a bound, why nothing)."""

    policy: ChannelPolicy | None
    notes: list[str]


def _toward(label: str, old: int, target: int, lo: int, hi: int, step: int,
            notes: list[str]) -> int | None:
    """``target`` brought within [lo, hi] and one step of ``old``; None when ``old`` lies
    outside the bounds by more than one step (the operator decides)."""
    if old < lo - step or old > hi + step:
        notes.append(
            f"current {label} {old} lies outside the policy's bounds [{lo}, {hi}] by more "
            f"than one step ({step}); not changing it automatically: set it by hand or widen "
            f"the bounds"
        )
        return None
    clipped = min(max(target, lo), hi)
    if clipped != target:
        edge = "maximum" if clipped < target else "minimum"
        notes.append(f"{label} held at the policy's {edge} of {clipped}")
    if abs(clipped - old) > step:
        notes.append(
            f"the change of {clipped - old:+d} to the {label} is capped at the largest step "
            f"of {step}"
        )
        clipped = old + step if clipped > old else old - step
    return clipped  # between old and a value within bounds, at most one step from old


def shape(old: ChannelPolicy, *, fee_rate_ppm: int | None = None,
          inbound_fee_rate_ppm: int | None = None, policy: Policy) -> Shaped:
    """The change from ``old`` toward the targets given (fields not given stay, brought into
    the bounds), within the bounds and one step; ``policy`` None when what is left breaks a
    rule (a move below the minimum change, a fee out of bounds by more than one step)."""
    notes: list[str] = []
    targets = {
        "base_fee_msat": old.base_fee_msat,
        "fee_rate_ppm": old.fee_rate_ppm if fee_rate_ppm is None else fee_rate_ppm,
        "inbound_base_fee_msat": old.inbound_base_fee_msat,
        "inbound_fee_rate_ppm": (
            old.inbound_fee_rate_ppm if inbound_fee_rate_ppm is None else inbound_fee_rate_ppm
        ),
    }
    values = {}
    for field, label, lo, hi, step in _fields(policy):
        v = _toward(label, getattr(old, field), targets[field], lo, hi, step, notes)
        if v is None:
            return Shaped(None, notes)
        values[field] = v
    new = msgspec.structs.replace(old, **values)
    found = problems(old, new, policy)
    if found:
        notes += [p.reason for p in found]
        return Shaped(None, notes)
    return Shaped(new, notes)
