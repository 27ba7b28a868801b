"""Reports built from journal records (pure): the shadow report."""

from __future__ import annotations

from collections.abc import Callable

from mcp_optimizer.messages.decision import ChangeOrigin
from mcp_optimizer.messages.domain import ChannelPolicy, PeerPolicy, PolicyUnknown
from mcp_optimizer.messages.journal import (
    ChangeAction,
    ChangeRecord,
    ChangeState,
    FeeRateGap,
    FeeRateGapKnown,
    FeeRateGapUnknown,
    ShadowChannelReport,
    ShadowReport,
)
from mcp_optimizer.messages.shadow_effect import ShadowEffect, WouldBePeriod

from .effect import WOULD_STATES, would_be_periods
from .store import KnownPolicy

STOPPED_STATES = frozenset({ChangeState.HELD, ChangeState.REFUSED})


def shadow_report(
    changes: list[ChangeRecord],
    known: list[KnownPolicy],
    since_s: int,
    until_s: int,
    effect: Callable[[list[WouldBePeriod]], ShadowEffect],
) -> ShadowReport:
    """Per channel: what the service would have written over [since_s, until_s] (shadow and
    dry-run modes), what gates stopped, and what others changed on the node meanwhile.

    ``effect`` estimates the effect of the would-be policies (given period by period for the
    report's channels, see :mod:`.effect`), or says why it cannot."""
    by_chan: dict[int, list[ChangeRecord]] = {}
    for rec in changes:
        if since_s <= rec.requested_at_s <= until_s and rec.action is ChangeAction.UPDATE_POLICY:
            by_chan.setdefault(rec.chan_id, []).append(rec)
    actual = {k.chan_id: k.policy for k in known}
    rows = []
    for chan_id, recs in sorted(by_chan.items()):
        would = [r for r in recs if r.state in WOULD_STATES]
        stopped = [
            r for r in recs if r.state in STOPPED_STATES and r.origin is ChangeOrigin.SERVICE
        ]
        external = [r for r in recs if r.state is ChangeState.EXTERNAL]
        if not (would or stopped or external):
            continue
        none: PeerPolicy = PolicyUnknown(reason="no would-be change in the period")
        first: PeerPolicy = would[0].new_policy if would else none
        last: PeerPolicy = would[-1].new_policy if would else none
        now: PeerPolicy = actual.get(chan_id) or PolicyUnknown(
            reason="the journal never saw this channel's policy"
        )
        gap: FeeRateGap
        if isinstance(last, ChannelPolicy) and isinstance(now, ChannelPolicy):
            gap = FeeRateGapKnown(gap_ppm=last.fee_rate_ppm - now.fee_rate_ppm)
        else:
            missing = [p.reason for p in (last, now) if isinstance(p, PolicyUnknown)]
            gap = FeeRateGapUnknown(reason="; ".join(missing))
        rows.append(
            ShadowChannelReport(
                chan_id=chan_id,
                would_change_count=len(would),
                stopped_count=len(stopped),
                first_would_policy=first,
                last_would_policy=last,
                external_change_count=len(external),
                actual_policy=now,
                fee_rate_gap=gap,
            )
        )
    periods = would_be_periods(changes, [r.chan_id for r in rows], since_s, until_s)
    return ShadowReport(since_s=since_s, until_s=until_s, channels=rows, effect=effect(periods))
