"""The change state machine: which states a change starts in and which moves are allowed.

    INTENT ──> APPLIED ──> VERIFIED | MISMATCHED
       │                  (read back from the node)
       ├──> FAILED                      (the node refused or was unreachable)
       └──> VERIFIED | MISMATCHED | FAILED   (reconciliation at start, after a crash)

    HELD, REFUSED, SHADOWED, NOT_EXECUTED, EXTERNAL, FAILED: recorded directly, final.

A close (action close_channel) has its own moves, never undone:

    INTENT ──> CLOSE_PENDING ──> CLOSED      (closing tx broadcast; then it confirmed)
       ├──> FAILED                          (the node refused)
       └──> CLOSE_PENDING | CLOSED | FAILED  (reconciliation after a crash)
"""

from __future__ import annotations

from mcp_optimizer.messages.domain import ChannelPolicy
from mcp_optimizer.messages.journal import ChangeState, Mode

S = ChangeState

INITIAL_STATES = frozenset(
    {S.INTENT, S.HELD, S.REFUSED, S.SHADOWED, S.NOT_EXECUTED, S.EXTERNAL, S.FAILED}
)
"""States a change may be recorded in."""

TRANSITIONS: dict[ChangeState, frozenset[ChangeState]] = {
    S.INTENT: frozenset(
        {S.APPLIED, S.FAILED, S.VERIFIED, S.MISMATCHED, S.CLOSE_PENDING, S.CLOSED}
    ),
    S.APPLIED: frozenset({S.VERIFIED, S.MISMATCHED}),
    S.CLOSE_PENDING: frozenset({S.CLOSED}),
}
"""Allowed moves; a state not listed here is final."""

PENDING_STATES = frozenset({S.INTENT, S.APPLIED, S.CLOSE_PENDING})
"""A change in one of these has no verified outcome: reconciliation resolves it."""

EFFECTIVE_STATES = frozenset({S.VERIFIED, S.MISMATCHED, S.EXTERNAL})
"""The change is (or was) what the node showed: it can be rolled back."""

WRITE_STATES = frozenset(
    {S.INTENT, S.APPLIED, S.VERIFIED, S.MISMATCHED, S.CLOSE_PENDING, S.CLOSED}
)
"""A live write was sent (or may have been): counted by the hourly and daily caps."""


def allowed(old: ChangeState, new: ChangeState) -> bool:
    return new in TRANSITIONS.get(old, frozenset())


def as_if_states(mode: Mode) -> frozenset[ChangeState]:
    """States that count as "a change happened" for cooldown and caps in ``mode``.

    In shadow and dry-run modes the service's would-be changes count as if they had been
    made, so that what it records is what it would really have done (one change per
    cooldown, not one per cycle).
    """
    extra = {Mode.SHADOW: S.SHADOWED, Mode.DRY_RUN: S.NOT_EXECUTED}.get(mode)
    return WRITE_STATES | ({extra} if extra else set())


def policy_key(p: ChannelPolicy) -> tuple[int, int, int, int, int, int, int]:
    """The fields a policy write sets; what "the node shows the same policy" compares.

    ``disabled`` (set by the node, not by UpdateChannelPolicy) and ``last_update_s`` (the
    node's clock) are left out.
    """
    return (
        p.base_fee_msat,
        p.fee_rate_ppm,
        p.inbound_base_fee_msat,
        p.inbound_fee_rate_ppm,
        p.time_lock_delta,
        p.min_htlc_msat,
        p.max_htlc_msat,
    )


def same_policy(a: ChannelPolicy, b: ChannelPolicy) -> bool:
    return policy_key(a) == policy_key(b)


def describe(p: ChannelPolicy) -> str:
    """A short human form: ``base 1000 msat, 250 ppm, inbound 0 msat/-50 ppm, cltv 40``."""
    return (
        f"base {p.base_fee_msat} msat, {p.fee_rate_ppm} ppm, inbound {p.inbound_base_fee_msat}"
        f" msat/{p.inbound_fee_rate_ppm} ppm, cltv {p.time_lock_delta}"
    )
