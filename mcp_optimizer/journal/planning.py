"""Pure planning over journal records: rollbacks, and resolving interrupted writes.

Nothing here touches the node or the file: the actuator reads the records and the node, asks
these functions what to do, and does it through the journaled write path.
"""

from __future__ import annotations

from dataclasses import dataclass

from mcp_optimizer.messages.domain import ChannelPolicy
from mcp_optimizer.messages.journal import ChangeAction, ChangeRecord, ChangeState
from mcp_optimizer.scid import scid_text

from .states import EFFECTIVE_STATES, describe, same_policy


class RollbackRefused(Exception):
    """A rollback that cannot be done safely; the message says why in one sentence."""


@dataclass(frozen=True)
class RollbackPlan:
    """Put ``to_policy`` back on a channel that should show ``from_policy`` now."""

    chan_id: int
    channel_point: str
    from_policy: ChannelPolicy
    to_policy: ChannelPolicy
    change_ids: tuple[int, ...]
    """The changes undone, oldest first."""


def resulting_policy(rec: ChangeRecord) -> ChannelPolicy:
    """What the node showed after an effective change."""
    if isinstance(rec.observed_policy, ChannelPolicy) and rec.state is not ChangeState.EXTERNAL:
        return rec.observed_policy
    return rec.new_policy


def latest_effective(records: list[ChangeRecord]) -> dict[int, ChangeRecord]:
    """Per channel, its latest effective change (records oldest first)."""
    latest: dict[int, ChangeRecord] = {}
    for rec in records:
        if rec.state in EFFECTIVE_STATES:
            latest[rec.chan_id] = rec
    return latest


def plan_rollback(target: ChangeRecord, latest: ChangeRecord | None) -> RollbackPlan:
    """Undo one change: only the channel's latest effective change can be undone."""
    if target.action is ChangeAction.CLOSE_CHANNEL:
        raise RollbackRefused(
            f"change {target.change_id} is a close of channel {scid_text(target.chan_id)} "
            f"({target.state.value}): a close cannot be undone"
        )
    if target.state not in EFFECTIVE_STATES:
        raise RollbackRefused(
            f"change {target.change_id} was never applied on the node (state "
            f"{target.state.value}); there is nothing to roll back"
        )
    if latest is None or latest.change_id != target.change_id:
        newer = latest.change_id if latest is not None else "?"
        who = (
            f" ({latest.origin.value})" if latest is not None else ""
        )
        raise RollbackRefused(
            f"change {target.change_id} was superseded by change {newer}{who} on channel "
            f"{scid_text(target.chan_id)}; roll back the newer change first, or use --since"
        )
    plan = RollbackPlan(
        chan_id=target.chan_id,
        channel_point=target.channel_point,
        from_policy=resulting_policy(target),
        to_policy=target.old_policy,
        change_ids=(target.change_id,),
    )
    if is_noop(plan):
        raise RollbackRefused(noop_sentence(plan))
    return plan


def is_noop(plan: RollbackPlan) -> bool:
    """A rollback that would write the policy the channel already has."""
    return same_policy(plan.from_policy, plan.to_policy)


def noop_sentence(plan: RollbackPlan) -> str:
    ids = ", ".join(str(i) for i in plan.change_ids)
    return (
        f"change {ids} on channel {scid_text(plan.chan_id)} left the policy it started from "
        f"({describe(plan.to_policy)}): rolling back would change nothing, skipped"
    )


def split_noops(plans: list[RollbackPlan]) -> tuple[list[RollbackPlan], list[str]]:
    """The plans that change something, and one sentence per plan that would not."""
    kept = [p for p in plans if not is_noop(p)]
    return kept, [noop_sentence(p) for p in plans if is_noop(p)]


def plan_rollback_since(since_s: int, records: list[ChangeRecord]) -> list[RollbackPlan]:
    """Undo every effective change since ``since_s``: per channel, restore the policy that was
    there before the first of them (one write per channel)."""
    latest = latest_effective(records)
    groups: dict[int, list[ChangeRecord]] = {}
    for rec in records:
        if rec.state in EFFECTIVE_STATES and rec.requested_at_s >= since_s:
            groups.setdefault(rec.chan_id, []).append(rec)
    plans = []
    for chan_id, group in sorted(groups.items()):
        first, last = group[0], latest[chan_id]
        plans.append(
            RollbackPlan(
                chan_id=chan_id,
                channel_point=last.channel_point,
                from_policy=resulting_policy(last),
                to_policy=first.old_policy,
                change_ids=tuple(r.change_id for r in group),
            )
        )
    return plans


def resolve_pending(rec: ChangeRecord, actual: ChannelPolicy) -> tuple[ChangeState, str]:
    """What an interrupted write (INTENT or APPLIED) became, from the node's policy now."""
    if same_policy(actual, rec.new_policy):
        return (
            ChangeState.VERIFIED,
            "reconciled after an interruption: the node shows the policy that was written",
        )
    if same_policy(actual, rec.old_policy):
        if rec.state is ChangeState.INTENT:
            return (
                ChangeState.FAILED,
                "reconciled after an interruption: the node still shows the old policy, the "
                "write never took effect",
            )
        return (
            ChangeState.MISMATCHED,
            "reconciled after an interruption: the node had accepted the write, but it shows "
            f"the old policy ({describe(actual)}), not the new one",
        )
    return (
        ChangeState.MISMATCHED,
        f"reconciled after an interruption: the node shows {describe(actual)}, neither the "
        "old nor the new policy",
    )
