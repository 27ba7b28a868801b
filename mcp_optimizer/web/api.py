"""The API's views: what each page shows, built from the journal (read-only), the service's
status, the latest cycle's snapshots and the node's forwarding summary. Blocking: the routes
call them in a worker thread."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import yaml

from mcp_optimizer.journal import Journal
from mcp_optimizer.messages import ChannelSnapshot, Decision, DecisionKind
from mcp_optimizer.messages.control import StatusReply
from mcp_optimizer.messages.journal import ChangeState
from mcp_optimizer.policies.layers import Effective, page_text
from mcp_optimizer.policies.overrides import describe
from mcp_optimizer.scid import scid_text

from . import models as m
from .balances import BalanceLog
from .history import DAY_S, WINDOWS, ForwardSummary

WRITTEN = (ChangeState.VERIFIED, ChangeState.MISMATCHED, ChangeState.APPLIED)
SORTS = ("scid", "alias", "capacity", "outbound", "fee", "forwards", "fees", "decision")
MAX_PAGE = 500
MAX_CHANNELS = 10_000
"""A node has a few thousand channels at most: the channel list shows them all."""


def updates_per_day(journal: Journal) -> dict[int, int]:
    """The service's changes written to the node per day, over the last 30 days."""
    return journal.service_changes_by_day(journal.now_s() - 30 * DAY_S, WRITTEN)


def overview(
    journal: Journal, status: StatusReply, summary: ForwardSummary, channels: int,
    per_day: dict[int, int] | None = None,
) -> m.Overview:
    now = journal.now_s()
    changes = journal.mode_changes()
    since = changes[-1].at_s if changes else 0
    per_day = updates_per_day(journal) if per_day is None else per_day
    first = now - now % DAY_S - 29 * DAY_S
    days = [m.DayCount(day_s=d, count=per_day.get(d, 0)) for d in range(first, now + 1, DAY_S)]
    revenue = [
        m.RevenueWindow(window=name, window_s=length, forwards=summary.windows[name][0],
                        fees_msat=summary.windows[name][1],
                        amount_out_msat=summary.windows[name][2])
        for name, length in WINDOWS if name in summary.windows
    ]
    return m.Overview(
        node=status.node, now_s=now, started_at_s=status.started_at_s, mode=status.mode,
        mode_since_s=since, pause=status.pause, safe_mode=status.safe_mode,
        open_crashes=status.open_crashes, actors=status.actors,
        cycle_running=status.cycle_running, last_cycle=status.last_cycle,
        next_cycle=status.next_cycle, revenue=revenue, revenue_note=summary.note,
        fee_updates_per_day=days, channels=channels,
    )


def latest_decisions(journal: Journal) -> dict[int, Decision]:
    found = journal.latest_decided_cycle()
    if found is None:
        return {}
    cycle_id, started = found
    return {d.chan_id: d for _, _, d in journal.cycle_decisions(cycle_id, started)}


def channel_row(s: ChannelSnapshot, decision: Decision | None, override: str) -> m.ChannelRow:
    ch = s.channel
    return m.ChannelRow(
        chan_id=ch.chan_id, scid=scid_text(ch.chan_id), channel_point=ch.channel_point,
        peer_alias=ch.peer.alias,
        peer_pubkey=ch.peer.pubkey, capacity_sat=ch.capacity_sat,
        local_balance_sat=ch.local_balance_sat, remote_balance_sat=ch.remote_balance_sat,
        active=ch.active, our_policy=ch.our_policy, peer_policy=ch.peer_policy,
        recent=s.recent, history=s.history, decision=decision, override=override,
    )


def _sort_key(name: str) -> Callable[[m.ChannelRow], Any]:
    return {
        "scid": lambda r: r.chan_id,
        "alias": lambda r: r.peer_alias.lower(),
        "capacity": lambda r: r.capacity_sat,
        "outbound": lambda r: r.local_balance_sat / r.capacity_sat if r.capacity_sat else 0,
        "fee": lambda r: r.our_policy.fee_rate_ppm,
        "forwards": lambda r: r.history.forwards_out,
        "fees": lambda r: r.history.fees_earned_msat,
        "decision": lambda r: r.decision.kind.value if r.decision else "",
    }[name]


def channels(
    snapshots: Sequence[ChannelSnapshot], decisions: dict[int, Decision], overrides: dict,
    *, q: str = "", kind: str = "", sort: str = "scid", desc: bool = False,
    limit: int = MAX_CHANNELS, offset: int = 0,
) -> m.ChannelList:
    rows = []
    needle = q.strip().lower()
    for s in snapshots:
        d = decisions.get(s.channel.chan_id)
        ov = overrides.get(s.channel.chan_id)
        row = channel_row(s, d, describe(ov) if ov is not None else "")
        if needle and needle not in row.scid and needle not in row.peer_alias.lower() \
                and needle not in row.peer_pubkey and needle != str(row.chan_id):
            continue
        if kind and (d is None or d.kind.value != kind):
            continue
        rows.append(row)
    rows.sort(key=_sort_key(sort), reverse=desc)
    taken = max((s.taken_at_s for s in snapshots), default=0)
    return m.ChannelList(taken_at_s=taken, total=len(rows), channels=rows[offset:offset + limit])


def channel_detail(
    journal: Journal, snapshot: ChannelSnapshot, overrides: dict, summary: ForwardSummary,
    balances: BalanceLog,
) -> m.ChannelDetail:
    cid = snapshot.channel.chan_id
    decisions = journal.decisions(chan_id=cid, limit=50)
    latest = decisions[0][2] if decisions else None
    ov = overrides.get(cid)
    days = summary.per_channel_day.get(cid, {})
    return m.ChannelDetail(
        channel=channel_row(snapshot, latest, describe(ov) if ov is not None else ""),
        fee_levels=[
            m.FeeLevel(start_s=e.start_s, end_s=e.end_s, fee_rate_ppm=e.fee_rate_ppm,
                       forwards_out=e.forwards_out, fees_earned_msat=e.fees_earned_msat)
            for e in getattr(snapshot, "price_history", [])
        ],
        changes=list(reversed(journal.changes(chan_id=cid))),
        decisions=[m.DecisionRow(decision_id=i, mode=mode, decision=d)
                   for i, mode, d in decisions],
        forwards_by_day=[
            m.DayForwards(day_s=d, forwards_out=v[0], fees_msat=v[1], amount_out_msat=v[2],
                          forwards_in=v[3])
            for d, v in sorted(days.items())
        ],
        balance=[m.BalanceSample(at_s=t, local_balance_sat=lb, capacity_sat=c, fee_rate_ppm=f)
                 for t, lb, c, f in balances.of(cid)],
    )


def _yaml(v: Any) -> str:
    return yaml.safe_dump(v, default_flow_style=True).strip().removesuffix("...").strip()


def policy_view(journal: Journal, eff: Effective) -> m.PolicyView:
    values = [
        m.PolicyValue(key=k, value=_yaml(v), source=eff.sources.get(k, "default"),
                      env_var=eff.env_keys.get(k, ""))
        for k, v in sorted(eff.values.items())
    ]
    return m.PolicyView(values=values, page_layer=page_text(eff.page),
                        file=str(eff.file_path or ""), changes=journal.policy_changes(limit=50))


def next_cycle(snapshots: Sequence[ChannelSnapshot], decisions: list[Decision]) -> m.NextCycleView:
    rows = [m.NextDecision(chan_id=d.chan_id, scid=scid_text(d.chan_id), decision=d)
            for d in decisions]
    rows.sort(key=lambda r: (r.decision.kind is DecisionKind.NO_ACTION, r.chan_id))
    return m.NextCycleView(
        taken_at_s=max((s.taken_at_s for s in snapshots), default=0), decisions=rows,
        changes=sum(1 for d in decisions if d.kind in (DecisionKind.INCREASE_FEES,
                                                       DecisionKind.LOWER_FEES)),
    )


def _same(a: Decision, b: Decision) -> bool:
    return a.kind == b.kind and a.proposed_policy == b.proposed_policy and a.reasons == b.reasons


def preview(snapshots: Sequence[ChannelSnapshot], pairs: list[tuple[Decision, Decision]],
            most: int = 200) -> m.PolicyPreview:
    rows = [m.PreviewRow(chan_id=a.chan_id, scid=scid_text(a.chan_id), now=a, edited=b)
            for a, b in pairs]
    rows.sort(key=lambda r: (_same(r.now, r.edited), r.chan_id))
    return m.PolicyPreview(
        taken_at_s=max((s.taken_at_s for s in snapshots), default=0),
        changed=sum(1 for a, b in pairs if not _same(a, b)), rows=rows[:most],
    )
