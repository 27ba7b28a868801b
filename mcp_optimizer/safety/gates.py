"""The gates every change made by the service passes before the node is called. Pure functions.

Each check returns the list of :class:`GateStop` that closed (empty: the change may go). A
REFUSE stop means the change itself is not acceptable (bounds, step, minimum change, closing,
stale decision, closed channel); a HOLD stop means the same change could pass later (cooldown,
caps, pause, circuit breaker). Rollbacks asked for by the operator pass only the pause switch
and the closed-channel check: an undo is never held by cooldown, caps or the breaker.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mcp_optimizer.messages.domain import ChannelPolicy
from mcp_optimizer.messages.journal import Gate, GateEffect, GateStop, Mode, PauseState
from mcp_optimizer.policies import changes
from mcp_optimizer.policies.config import Policy
from mcp_optimizer.scid import scid_text

HOUR_S = 3600
DAY_S = 86400


@dataclass(frozen=True)
class Limits:
    """Global caps on the service's own changes (gossip hygiene).

    When ``scaled`` (neither cap set by the operator), the caps grow with the node: the day
    allows ``per_channel_day`` changes per open channel (the policy's
    ``pricing.gossip_budget_per_channel_day``), and the hour a quarter of the day, since a
    cycle every 6 hours makes its changes within minutes. The fixed caps are the floor. The
    cycle offers its changes largest expected gain first, so what the caps hold is what earns
    least."""

    max_changes_per_hour: int
    max_changes_per_day: int
    scaled: bool = False
    channels: int = 0
    per_channel_day: float = 0.0

    def sized(self, channels: int, per_channel_day: float) -> Limits:
        """These limits for a node of ``channels`` open channels (unchanged unless scaled)."""
        if not self.scaled:
            return self
        return Limits(self.max_changes_per_hour, self.max_changes_per_day, True,
                      max(0, channels), max(0.0, per_channel_day))

    def day_cap(self) -> int:
        return max(self.max_changes_per_day, math.ceil(self.channels * self.per_channel_day))

    def hour_cap(self) -> int:
        if not self.scaled:
            return self.max_changes_per_hour
        return max(self.max_changes_per_hour, math.ceil(self.day_cap() / 4))


@dataclass(frozen=True)
class Timing:
    """What the journal says about recent changes, at ``now_s``."""

    now_s: int
    last_change_at_s: int
    """The channel's latest change (ours, a rollback or external); 0 when none."""
    last_change_id: int
    """Its change id; 0 when none."""
    last_change_external: bool
    """Whether that latest change was made by someone else."""
    changes_last_hour: int
    """The service's changes (all channels) in the last hour."""
    changes_last_day: int
    """The service's changes (all channels) in the last day."""


def _refuse(gate: Gate, reason: str) -> GateStop:
    return GateStop(gate=gate, effect=GateEffect.REFUSE, reason=reason)


def _hold(gate: Gate, reason: str) -> GateStop:
    return GateStop(gate=gate, effect=GateEffect.HOLD, reason=reason)


def check_bounds(new: ChannelPolicy, policy: Policy) -> list[GateStop]:
    """The policy's bounds, as :mod:`mcp_optimizer.policies.changes` (the engine's) states
    them."""
    return [_refuse(Gate.FEE_BOUNDS, p.reason) for p in changes.bound_problems(new, policy)]


def check_step(old: ChannelPolicy, new: ChannelPolicy, policy: Policy) -> list[GateStop]:
    """The largest step, as :mod:`mcp_optimizer.policies.changes` states it."""
    return [_refuse(Gate.MAX_STEP, p.reason) for p in changes.step_problems(old, new, policy)]


def check_min_change(old: ChannelPolicy, new: ChannelPolicy, policy: Policy) -> list[GateStop]:
    """Refuse a change whose only effect is a fee-rate move below ``steps.min_change_ppm``
    (:mod:`mcp_optimizer.policies.changes` states the rule)."""
    return [
        _refuse(Gate.MIN_CHANGE, p.reason) for p in changes.min_change_problems(old, new, policy)
    ]


def check_stale(actual: ChannelPolicy, decided_on: ChannelPolicy) -> list[GateStop]:
    from mcp_optimizer.journal.states import describe, same_policy

    if same_policy(actual, decided_on):
        return []
    return [
        _refuse(
            Gate.STALE_DECISION,
            f"the node now shows {describe(actual)}, not {describe(decided_on)} the decision "
            "was based on",
        )
    ]


def check_channel_open(chan_id: int, is_open: bool) -> list[GateStop]:
    if is_open:
        return []
    return [_refuse(Gate.CHANNEL_CLOSED, f"channel {scid_text(chan_id)} is not open on the node")]


def check_timing(t: Timing, policy: Policy, limits: Limits) -> list[GateStop]:
    stops = []
    if t.last_change_id and t.now_s - t.last_change_at_s < policy.cooldown_s:
        who = "someone else (external change)" if t.last_change_external else "change"
        stops.append(
            _hold(
                Gate.COOLDOWN,
                f"the channel was changed by {who} {t.last_change_id} "
                f"{t.now_s - t.last_change_at_s} s ago; cooldown is {policy.cooldown_s} s",
            )
        )
    sized = f" ({limits.channels} channels)" if limits.scaled and limits.channels else ""
    if t.changes_last_hour >= limits.hour_cap():
        stops.append(
            _hold(
                Gate.HOURLY_CAP,
                f"{t.changes_last_hour} changes in the last hour; the cap is "
                f"{limits.hour_cap()}{sized}",
            )
        )
    if t.changes_last_day >= limits.day_cap():
        stops.append(
            _hold(
                Gate.DAILY_CAP,
                f"{t.changes_last_day} changes in the last day; the cap is "
                f"{limits.day_cap()}{sized}",
            )
        )
    return stops


def check_switches(mode: Mode, pause: PauseState, open_crashes: int) -> list[GateStop]:
    """The kill switch and the circuit breaker; they hold live writes only."""
    if mode is not Mode.LIVE:
        return []
    stops = []
    if pause.paused:
        stops.append(_hold(Gate.PAUSED, "paused by " + ", ".join(pause.sources)))
    if open_crashes:
        stops.append(
            _hold(
                Gate.CIRCUIT_BREAKER,
                f"{open_crashes} crash(es) not acknowledged; run `mcp-optimizer ack-crash`",
            )
        )
    return stops


def check_safe_mode(reason: str) -> list[GateStop]:
    """The supervisor's safe mode holds every write (the reason says why it escalated)."""
    return [_hold(Gate.SAFE_MODE, f"the service is in safe mode: {reason}")]


def check_peer_online(active: bool) -> list[GateStop]:
    """A cooperative close needs the peer online; this service never force-closes."""
    if active:
        return []
    return [_refuse(
        Gate.PEER_OFFLINE,
        "the peer is offline: a cooperative close needs it, and this service never force-closes",
    )]


def check_close(policy: Policy, closes_last_day: int = 0, active: bool = True) -> list[GateStop]:
    """Closing: refused unless the policy enables it; a cooperative close needs the peer
    online (never forced); at most ``close.max_per_day`` closes a day."""
    if not policy.close.execute:
        return [
            _refuse(
                Gate.CLOSE_DISABLED,
                "closing channels is a recommendation only (policy close.execute is false)",
            )
        ]
    stops = check_peer_online(active)
    if closes_last_day >= policy.close.max_per_day:
        stops.append(_hold(
            Gate.CLOSE_CAP,
            f"{closes_last_day} close(s) in the last 24 h; the cap is "
            f"{policy.close.max_per_day} (close.max_per_day)",
        ))
    return stops


def check_service_change(
    *,
    old: ChannelPolicy,
    new: ChannelPolicy,
    decided_on: ChannelPolicy,
    policy: Policy,
    limits: Limits,
    timing: Timing,
    mode: Mode,
    pause: PauseState,
    open_crashes: int,
) -> list[GateStop]:
    """Every gate of a policy change proposed by the service, refusals first.

    ``old`` is the policy the node shows now, ``decided_on`` the one the decision saw.
    """
    return (
        check_stale(old, decided_on)
        + check_bounds(new, policy)
        + check_step(old, new, policy)
        + check_min_change(old, new, policy)
        + check_timing(timing, policy, limits)
        + check_switches(mode, pause, open_crashes)
    )


def check_rollback(pause: PauseState) -> list[GateStop]:
    """A rollback is held only by the kill switch, in every mode: nothing is written while
    paused."""
    if pause.paused:
        return [_hold(Gate.PAUSED, "paused by " + ", ".join(pause.sources))]
    return []


def outcome_is_refusal(stops: list[GateStop]) -> bool:
    return any(s.effect is GateEffect.REFUSE for s in stops)
