"""The per-event reference of the forwarding aggregation: one ``ForwardingEvent`` at a time,
simple to read. The service runs :func:`mcp_optimizer.preprocess.aggregate_windows` on numpy
columns; tests prove both agree."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from mcp_optimizer.messages import (
    Channel,
    ChannelSnapshot,
    ForwardingEvent,
    ForwardingStats,
    HtlcEvent,
    HtlcEventKind,
    LastChange,
)
from mcp_optimizer.preprocess import NS, snapshots_from_stats

_FAILURES = (HtlcEventKind.LINK_FAIL, HtlcEventKind.FORWARD_FAIL)


class _Acc:
    __slots__ = ("fin", "fout", "ain", "aout", "fees", "failed", "balance", "downstream",
                 "fee")

    def __init__(self) -> None:
        self.fin = self.fout = self.ain = self.aout = self.fees = self.failed = 0
        self.balance = self.downstream = self.fee = 0

    def stats(self, chan_id: int, window_s: int) -> ForwardingStats:
        return ForwardingStats(
            chan_id=chan_id,
            window_s=window_s,
            forwards_in=self.fin,
            forwards_out=self.fout,
            amount_in_msat=self.ain,
            amount_out_msat=self.aout,
            fees_earned_msat=self.fees,
            failed_htlcs=self.failed,
            failed_balance=self.balance,
            failed_downstream=self.downstream,
            failed_fee=self.fee,
        )


def aggregate(
    chan_ids: Iterable[int],
    events: Iterable[ForwardingEvent],
    failures: Iterable[HtlcEvent],
    start_s: int,
    end_s: int,
) -> dict[int, ForwardingStats]:
    """ForwardingStats per channel over [start_s, end_s)."""
    acc = {cid: _Acc() for cid in chan_ids}
    lo, hi = start_s * NS, end_s * NS
    for ev in events:
        if not lo <= ev.timestamp_ns < hi:
            continue
        a = acc.get(ev.chan_id_in)
        if a is not None:
            a.fin += 1
            a.ain += ev.amt_in_msat
        a = acc.get(ev.chan_id_out)
        if a is not None:
            a.fout += 1
            a.aout += ev.amt_out_msat
            a.fees += ev.fee_msat
    for h in failures:
        a = acc.get(h.outgoing_chan_id)
        if a is not None and h.kind in _FAILURES and lo <= h.timestamp_ns < hi:
            a.failed += 1
            if h.kind is HtlcEventKind.FORWARD_FAIL:
                a.downstream += 1
            elif h.failure_detail == "INSUFFICIENT_BALANCE":
                a.balance += 1
            elif h.wire_failure == "FEE_INSUFFICIENT":
                a.fee += 1
    return {cid: a.stats(cid, end_s - start_s) for cid, a in acc.items()}


def build_snapshots(
    channels: Sequence[Channel],
    events: Sequence[ForwardingEvent],
    failures: Sequence[HtlcEvent],
    now_s: int,
    recent_window_s: int,
    history_window_s: int,
    last_changes: Mapping[int, LastChange],
) -> list[ChannelSnapshot]:
    """One snapshot per channel, in the order given."""
    ids = [c.chan_id for c in channels]
    recent = aggregate(ids, events, failures, now_s - recent_window_s, now_s)
    history = aggregate(ids, events, failures, now_s - history_window_s, now_s)
    return snapshots_from_stats(
        channels,
        [*recent.values(), *history.values()],
        now_s,
        recent_window_s,
        history_window_s,
        last_changes,
    )
