"""Fee epochs from the journal: each channel's fee levels over a window, with when each began
and ended, for the price learner (``policies/pricing.py``).

A level begins when a change took effect on the node (an effective change: verified,
mismatched — what the node showed — or external) and ends at the next one; the window's first
level is the one the first change in it replaced, or the current one when nothing changed.
Nothing here is written; the changes are read through the Journal's own query.
"""

from __future__ import annotations

from collections.abc import Iterable

from mcp_optimizer.messages import ChangeState, ChannelPolicy
from mcp_optimizer.messages.actors import ChannelPointPolicy
from mcp_optimizer.messages.forwarding import FeeSpan

from .states import EFFECTIVE_STATES


def _level(p: ChannelPolicy) -> tuple[int, int, int]:
    return (p.fee_rate_ppm, p.base_fee_msat, p.inbound_fee_rate_ppm)


def fee_spans(
    journal, start_s: int, end_s: int, current: Iterable[ChannelPointPolicy]  # noqa: ANN001
) -> list[FeeSpan]:
    """Every channel's fee spans over ``[start_s, end_s)``, oldest first, channel by channel
    in the order given; consecutive spans at the same level are one. The last span of each
    channel is at its current level (as the node shows it now)."""
    wanted = list(current)
    ids = {c.chan_id for c in wanted}
    by_chan: dict[int, list[tuple[int, ChannelPolicy, ChannelPolicy]]] = {}
    for rec in journal.changes(since_s=start_s, states_in=EFFECTIVE_STATES):
        if rec.chan_id not in ids or rec.requested_at_s >= end_s:
            continue
        after = rec.observed_policy
        if rec.state is not ChangeState.MISMATCHED or not isinstance(after, ChannelPolicy):
            after = rec.new_policy
        by_chan.setdefault(rec.chan_id, []).append((rec.requested_at_s, rec.old_policy, after))
    out: list[FeeSpan] = []
    for c in wanted:
        begin = max(start_s, c.opened_at_s)
        if begin >= end_s:
            begin = start_s
        changes = [x for x in by_chan.get(c.chan_id, []) if x[0] >= begin]
        points: list[tuple[int, tuple[int, int, int]]] = []
        if changes:
            points.append((begin, _level(changes[0][1])))
            points += [(at, _level(after)) for at, _before, after in changes]
        now_level = (c.fee_rate_ppm, c.base_fee_msat, c.inbound_fee_rate_ppm)
        if not points:
            points.append((begin, now_level))
        points[-1] = (points[-1][0], now_level)  # the node's current level is the truth
        merged: list[tuple[int, tuple[int, int, int]]] = []
        for at, level in points:
            if merged and merged[-1][1] == level:
                continue
            if merged and merged[-1][0] == at:
                merged[-1] = (at, level)
                continue
            merged.append((at, level))
        # merging equal neighbours again after a replaced duplicate time
        final: list[tuple[int, tuple[int, int, int]]] = []
        for at, level in merged:
            if final and final[-1][1] == level:
                continue
            final.append((at, level))
        for i, (at, level) in enumerate(final):
            until = final[i + 1][0] if i + 1 < len(final) else end_s
            if until <= at:
                continue
            out.append(
                FeeSpan(
                    chan_id=c.chan_id, start_s=at, end_s=until, fee_rate_ppm=level[0],
                    base_fee_msat=level[1], inbound_fee_rate_ppm=level[2],
                )
            )
    return out
