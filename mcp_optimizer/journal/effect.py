"""The shadow report's effect estimate (pure): the would-be fees charged on the real forwards.

At constant volume, first order: the forwards the node really made out through a channel are
charged again at the policy the service would have had on the node at the time of each
forward. How demand would have answered another fee is not modelled, so the figure says what
the same traffic would have paid, never what traffic there would have been.

The would-be policy of a channel over the report period ``[since_s, until_s)``:

* until the first would-be change recorded in the period (SHADOWED in shadow mode,
  NOT_EXECUTED in dry-run), the service would have left the node's own policy: the would-be
  fees are the fees the node earned (:class:`AsOnNode`);
* from each would-be change's ``requested_at_s`` on, that change's new policy, until the next
  one or the end of the period. Changes a gate held or refused were not going to be written
  and do not count; the operator's own changes (EXTERNAL) are in the actual fees only.

A forward's would-be fee is its outgoing channel's ``base_fee_msat + amt_out_msat *
fee_rate_ppm // 1_000_000``, rounded down per forward as LND computes it. Inbound fees (the
incoming channel's discount or surcharge) are not modelled: the actual fees include them, the
would-be fees do not.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable

from mcp_optimizer.messages.domain import ChannelPolicy
from mcp_optimizer.messages.journal import ChangeAction, ChangeRecord, ChangeState
from mcp_optimizer.messages.node import ForwardingEvent
from mcp_optimizer.messages.shadow_effect import (
    CONSTANT_VOLUME_BASIS,
    AsOnNode,
    ChannelEffect,
    ChannelEffectEstimate,
    ChannelNoForwards,
    EffectEstimated,
    PeriodEffect,
    WouldBePeriod,
    WouldBePolicy,
)

WOULD_STATES = frozenset({ChangeState.SHADOWED, ChangeState.NOT_EXECUTED})
NO_FORWARDS = "no forwards: no effect estimated"
NS = 1_000_000_000


def would_be_fee_msat(policy: ChannelPolicy, amt_out_msat: int) -> int:
    """The fee ``policy`` charges to forward ``amt_out_msat`` out (LND's rounding: down)."""
    return policy.base_fee_msat + amt_out_msat * policy.fee_rate_ppm // 1_000_000


def would_be_periods(
    changes: Iterable[ChangeRecord], chan_ids: Iterable[int], since_s: int, until_s: int
) -> list[WouldBePeriod]:
    """Per channel of ``chan_ids`` (in that order), periods tiling ``[since_s, until_s)``, each
    with the policy the service would have had on the node then (see the module doc)."""
    if until_s <= since_s:
        return []
    wanted = list(dict.fromkeys(chan_ids))
    moves: dict[int, list[ChangeRecord]] = {c: [] for c in wanted}
    for rec in changes:
        if (
            rec.chan_id in moves
            and rec.state in WOULD_STATES
            and rec.action is ChangeAction.UPDATE_POLICY
            and since_s <= rec.requested_at_s < until_s
        ):
            moves[rec.chan_id].append(rec)
    out: list[WouldBePeriod] = []
    for chan_id in wanted:
        starts: list[tuple[int, WouldBePolicy]] = [(since_s, AsOnNode())]
        for rec in sorted(moves[chan_id], key=lambda r: (r.requested_at_s, r.change_id)):
            if rec.requested_at_s == starts[-1][0]:
                starts[-1] = (rec.requested_at_s, rec.new_policy)  # the later one holds
            else:
                starts.append((rec.requested_at_s, rec.new_policy))
        ends = [s for s, _ in starts[1:]] + [until_s]
        out.extend(
            WouldBePeriod(chan_id=chan_id, start_s=s, end_s=e, policy=p)
            for (s, p), e in zip(starts, ends, strict=True)
        )
    return out


class _Acc:
    __slots__ = ("count", "amt", "actual", "would")

    def __init__(self) -> None:
        self.count = self.amt = self.actual = self.would = 0


def estimate_effect(
    periods: list[WouldBePeriod], forwards: Iterable[ForwardingEvent], source: str
) -> EffectEstimated:
    """Charge every forward of ``forwards`` that left through a channel of ``periods`` within
    one of its periods at that period's would-be policy; forwards through other channels or
    outside the periods are ignored. ``source`` says where the forwards were read."""
    by_chan: dict[int, list[WouldBePeriod]] = {}
    for p in periods:
        by_chan.setdefault(p.chan_id, []).append(p)
    for ps in by_chan.values():
        ps.sort(key=lambda p: p.start_s)
    starts_ns = {c: [p.start_s * NS for p in ps] for c, ps in by_chan.items()}
    accs = {c: [_Acc() for _ in ps] for c, ps in by_chan.items()}
    for f in forwards:
        ps = by_chan.get(f.chan_id_out)
        if ps is None:
            continue
        i = bisect.bisect_right(starts_ns[f.chan_id_out], f.timestamp_ns) - 1
        if i < 0 or f.timestamp_ns >= ps[i].end_s * NS:
            continue
        acc = accs[f.chan_id_out][i]
        acc.count += 1
        acc.amt += f.amt_out_msat
        acc.actual += f.fee_msat
        policy = ps[i].policy
        acc.would += (
            would_be_fee_msat(policy, f.amt_out_msat)
            if isinstance(policy, ChannelPolicy)
            else f.fee_msat
        )
    channels: list[ChannelEffectEstimate] = []
    total_count = total_actual = total_would = 0
    for chan_id, ps in by_chan.items():
        rows = [
            PeriodEffect(
                period=p,
                forward_count=a.count,
                amt_out_msat=a.amt,
                actual_fee_msat=a.actual,
                would_be_fee_msat=a.would,
            )
            for p, a in zip(ps, accs[chan_id], strict=True)
        ]
        count = sum(r.forward_count for r in rows)
        if count == 0:
            channels.append(ChannelNoForwards(chan_id=chan_id, reason=NO_FORWARDS))
            continue
        actual = sum(r.actual_fee_msat for r in rows)
        would = sum(r.would_be_fee_msat for r in rows)
        channels.append(
            ChannelEffect(
                chan_id=chan_id,
                forward_count=count,
                amt_out_msat=sum(r.amt_out_msat for r in rows),
                actual_fee_msat=actual,
                would_be_fee_msat=would,
                difference_msat=would - actual,
                periods=rows,
            )
        )
        total_count += count
        total_actual += actual
        total_would += would
    return EffectEstimated(
        basis=CONSTANT_VOLUME_BASIS,
        source=source,
        channels=channels,
        forward_count=total_count,
        actual_fee_msat=total_actual,
        would_be_fee_msat=total_would,
        difference_msat=total_would - total_actual,
    )
