"""Preprocessing: raw node data -> one ``ChannelSnapshot`` per channel. Pure, no I/O.

Aggregates forwarding events and HTLC failures into ``ForwardingStats`` over two windows
ending at ``now_s``: the recent window (the policy's under-performance window) and the history
window (the policy's ``windows.history_s``). Events outside a window, or dated after ``now_s``,
are not counted; an event through a channel that is not ours is ignored (it cannot be judged).

:func:`aggregate_windows` aggregates packed numpy columns (:class:`ForwardColumns`, the layout
the LND provider keeps its forwarding log in), vectorised, so a million forwards are aggregated
without a million objects; tests prove it equal to a per-event reference
(tests/preprocess_reference.py). :func:`snapshots_from_stats` assembles snapshots from such
aggregates.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from mcp_optimizer.messages import (
    Channel,
    ChannelSnapshot,
    FeeEpoch,
    FeeSpan,
    ForwardingEvent,
    ForwardingStats,
    HtlcEvent,
    HtlcEventKind,
    LastChange,
    NeverChanged,
)
from mcp_optimizer.messages.domain import NO_COMPETITORS
from mcp_optimizer.scid import scid_text

NS = 1_000_000_000
_FAILURES = (HtlcEventKind.LINK_FAIL, HtlcEventKind.FORWARD_FAIL)
_INT64_MAX = 2**63 - 1
_NONE = (0, 0, 0, 0)


BALANCE_DETAIL = "INSUFFICIENT_BALANCE"
"""LND's FailureDetail of a forward our channel's outbound balance could not carry."""
FEE_WIRE_FAILURE = "FEE_INSUFFICIENT"
"""The wire failure (lnrpc.Failure.FailureCode) of a forward that offered less than our fee."""

NOT_FAILED, FAILED_BALANCE, FAILED_DOWNSTREAM, FAILED_OTHER, FAILED_FEE = 0, 1, 2, 3, 4
"""What :func:`failure_kind` returns."""


def failure_kind(h: HtlcEvent) -> int:
    """0 not a failure; 1 insufficient balance on our side; 2 failed downstream; 3 other;
    4 refused at our node for an insufficient fee (wire failure ``FEE_INSUFFICIENT``)."""
    if h.kind is HtlcEventKind.FORWARD_FAIL:
        return FAILED_DOWNSTREAM
    if h.kind is HtlcEventKind.LINK_FAIL:
        if h.failure_detail == BALANCE_DETAIL:
            return FAILED_BALANCE
        if h.wire_failure == FEE_WIRE_FAILURE:
            return FAILED_FEE
        return FAILED_OTHER
    return NOT_FAILED


_COUNTED = {FAILED_BALANCE: 1, FAILED_DOWNSTREAM: 2, FAILED_FEE: 3}
"""The index in :func:`_failures_per_channel`'s counts of each kind counted apart."""


def _failures_per_channel(
    failures: Iterable[HtlcEvent], lo_ns: int, hi_ns: int
) -> dict[int, list[int]]:
    """[all, balance, downstream, fee] failed forwards per outgoing channel within
    [lo_ns, hi_ns)."""
    out: dict[int, list[int]] = {}
    for h in failures:
        kind = failure_kind(h)
        if kind and lo_ns <= h.timestamp_ns < hi_ns:
            counts = out.setdefault(h.outgoing_chan_id, [0, 0, 0, 0])
            counts[0] += 1
            part = _COUNTED.get(kind)
            if part is not None:
                counts[part] += 1
    return out


@dataclass(frozen=True)
class ForwardColumns:
    """Forwarding events as six equal-length 1-D numpy columns, one row an event.

    ``timestamp_ns``, ``amt_in_msat``, ``amt_out_msat`` and ``fee_msat`` are int64;
    ``chan_id_in`` and ``chan_id_out`` uint64 (LND's channel ids use all 64 bits). The fields
    mean what they mean in ``ForwardingEvent``. Rows need not be sorted.
    """

    timestamp_ns: np.ndarray
    chan_id_in: np.ndarray
    chan_id_out: np.ndarray
    amt_in_msat: np.ndarray
    amt_out_msat: np.ndarray
    fee_msat: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.timestamp_ns)
        for name, dtype in _COLUMN_TYPES.items():
            col = getattr(self, name)
            if not isinstance(col, np.ndarray) or col.ndim != 1 or col.dtype != dtype:
                raise ValueError(f"ForwardColumns.{name} must be a 1-D numpy {dtype} array")
            if len(col) != n:
                raise ValueError(
                    f"ForwardColumns.{name} has {len(col)} rows, timestamp_ns has {n}"
                )

    def __len__(self) -> int:
        return len(self.timestamp_ns)

    @classmethod
    def from_events(cls, events: Iterable[ForwardingEvent]) -> ForwardColumns:
        """The columns of ``events``, in their order."""
        rows = list(events)
        return cls(**{
            name: np.fromiter((getattr(e, name) for e in rows), dtype=dtype, count=len(rows))
            for name, dtype in _COLUMN_TYPES.items()
        })


_COLUMN_TYPES = {
    "timestamp_ns": np.dtype(np.int64),
    "chan_id_in": np.dtype(np.uint64),
    "chan_id_out": np.dtype(np.uint64),
    "amt_in_msat": np.dtype(np.int64),
    "amt_out_msat": np.dtype(np.int64),
    "fee_msat": np.dtype(np.int64),
}


def _positions(ids: np.ndarray, sorter: np.ndarray, col: np.ndarray) -> np.ndarray:
    """For each value of ``col``, its index in ``ids`` (``sorter`` sorts ``ids``), else -1."""
    if len(ids) == 0:
        return np.full(len(col), -1, dtype=np.int64)
    # Look up each distinct channel once (a few thousand), then spread to the rows.
    distinct, rows = np.unique(col, return_inverse=True)
    sorted_ids = ids[sorter]
    at = np.minimum(np.searchsorted(sorted_ids, distinct), len(ids) - 1)
    found = np.where(sorted_ids[at] == distinct, sorter[at], -1)
    return found[rows.reshape(-1)]


def _sums(pos: np.ndarray, values: np.ndarray, n: int) -> list[int]:
    """Exact integer sums of ``values`` grouped by ``pos`` (0..n-1), as Python ints.

    int64 when no partial sum can overflow it (every bound checked); otherwise Python
    integers (slow, exact): money is never rounded nor wrapped."""
    if len(values) == 0:
        return [0] * n
    bound = max(abs(int(values.max())), abs(int(values.min()))) * len(values)
    if bound <= _INT64_MAX:
        out = np.zeros(n, dtype=np.int64)
        np.add.at(out, pos, values)
        return out.tolist()
    big = np.zeros(n, dtype=object)
    np.add.at(big, pos, values.astype(object))
    return [int(v) for v in big]


def aggregate_windows(
    chan_ids: Iterable[int],
    columns: ForwardColumns,
    failures: Iterable[HtlcEvent],
    end_s: int,
    windows_s: Iterable[int],
) -> dict[int, dict[int, ForwardingStats]]:
    """``{window_s: {chan_id: ForwardingStats}}`` over ``[end_s - window_s, end_s)`` for each
    window (an event or failure counts when ``end_s - window_s <= timestamp < end_s``).

    Each event's channels are looked up once for all windows; each window is a mask."""
    ids_list = list(dict.fromkeys(chan_ids))
    windows = list(dict.fromkeys(windows_s))
    for w in windows:
        if w <= 0:
            raise ValueError(f"a forwarding window must be positive, got {w} s")
    n = len(ids_list)
    ids = np.array(ids_list, dtype=np.uint64)
    sorter = np.argsort(ids, kind="stable")
    pin = _positions(ids, sorter, columns.chan_id_in)
    pout = _positions(ids, sorter, columns.chan_id_out)
    fails = list(failures)
    out: dict[int, dict[int, ForwardingStats]] = {}
    for w in windows:
        lo, hi = (end_s - w) * NS, end_s * NS
        ts = columns.timestamp_ns
        inside = (ts >= lo) & (ts < hi)
        sel_in = inside & (pin >= 0)
        sel_out = inside & (pout >= 0)
        p_in, p_out = pin[sel_in], pout[sel_out]
        forwards_in = np.bincount(p_in, minlength=n).tolist()
        forwards_out = np.bincount(p_out, minlength=n).tolist()
        amount_in = _sums(p_in, columns.amt_in_msat[sel_in], n)
        amount_out = _sums(p_out, columns.amt_out_msat[sel_out], n)
        fees = _sums(p_out, columns.fee_msat[sel_out], n)
        failed = _failures_per_channel(fails, lo, hi)
        out[w] = {
            cid: ForwardingStats(
                chan_id=cid,
                window_s=w,
                forwards_in=forwards_in[i],
                forwards_out=forwards_out[i],
                amount_in_msat=amount_in[i],
                amount_out_msat=amount_out[i],
                fees_earned_msat=fees[i],
                failed_htlcs=failed.get(cid, _NONE)[0],
                failed_balance=failed.get(cid, _NONE)[1],
                failed_downstream=failed.get(cid, _NONE)[2],
                failed_fee=failed.get(cid, _NONE)[3],
            )
            for i, cid in enumerate(ids_list)
        }
    return out


def aggregate_epochs(
    spans: Sequence[FeeSpan], columns: ForwardColumns, failures: Iterable[HtlcEvent]
) -> list[FeeEpoch]:
    """Each fee span with what its channel earned and routed over ``[start_s, end_s)``, in
    the order given (a forward or failure counts when ``start_s <= timestamp < end_s``).

    The rows are sorted once by (outgoing channel, time) and each span is two binary
    searches and a difference of prefix sums: spans of thousands of channels over a million
    forwards cost one sort."""
    if not spans:
        return []
    ts = columns.timestamp_ns
    by_out = np.lexsort((ts, columns.chan_id_out))
    out_ids, out_ts = columns.chan_id_out[by_out], ts[by_out]
    by_in = np.lexsort((ts, columns.chan_id_in))
    in_ids, in_ts = columns.chan_id_in[by_in], ts[by_in]

    def prefix(values: np.ndarray) -> np.ndarray | list[int]:
        if len(values) and max(abs(int(values.max())), abs(int(values.min()))) * len(
            values
        ) > _INT64_MAX:
            acc, run = [0], 0
            for v in values.tolist():
                run += v
                acc.append(run)
            return acc
        return np.concatenate(([0], np.cumsum(values, dtype=np.int64)))

    amt_sum = prefix(columns.amt_out_msat[by_out])
    fee_sum = prefix(columns.fee_msat[by_out])
    balance: dict[int, list[int]] = {}
    for h in failures:
        if failure_kind(h) == FAILED_BALANCE:
            balance.setdefault(h.outgoing_chan_id, []).append(h.timestamp_ns)
    for times in balance.values():
        times.sort()

    def rows(ids: np.ndarray, times: np.ndarray, cid: int, lo: int, hi: int) -> tuple[int, int]:
        key = np.uint64(cid)
        a, b = np.searchsorted(ids, key, "left"), np.searchsorted(ids, key, "right")
        seg = times[a:b]
        first = int(a)
        return first + int(np.searchsorted(seg, lo, "left")), first + int(
            np.searchsorted(seg, hi, "left")
        )

    out = []
    for sp in spans:
        lo, hi = sp.start_s * NS, sp.end_s * NS
        i, j = rows(out_ids, out_ts, sp.chan_id, lo, hi)
        k, m = rows(in_ids, in_ts, sp.chan_id, lo, hi)
        fails = balance.get(sp.chan_id, [])
        out.append(
            FeeEpoch(
                start_s=sp.start_s,
                end_s=sp.end_s,
                fee_rate_ppm=sp.fee_rate_ppm,
                base_fee_msat=sp.base_fee_msat,
                inbound_fee_rate_ppm=sp.inbound_fee_rate_ppm,
                forwards_out=j - i,
                amount_out_msat=int(amt_sum[j]) - int(amt_sum[i]),
                fees_earned_msat=int(fee_sum[j]) - int(fee_sum[i]),
                forwards_in=m - k,
                failed_balance=bisect.bisect_left(fails, hi) - bisect.bisect_left(fails, lo),
            )
        )
    return out


def snapshots_from_stats(
    channels: Sequence[Channel],
    stats: Iterable[ForwardingStats],
    now_s: int,
    recent_window_s: int,
    history_window_s: int,
    last_changes: Mapping[int, LastChange],
    price_history: Mapping[int, Sequence[FeeEpoch]] | None = None,
) -> list[ChannelSnapshot]:
    """One snapshot per channel, in the order given, from aggregates already computed over
    windows ending at ``now_s`` (:func:`aggregate_windows`), with each channel's fee epochs
    from ``price_history`` (none when absent).

    Every channel needs its stats over both windows: a missing entry, or two different ones
    for a channel and window, is a ``ValueError`` naming both (never a silent zero)."""
    index: dict[tuple[int, int], ForwardingStats] = {}
    for s in stats:
        key = (s.chan_id, s.window_s)
        if key in index and index[key] != s:
            raise ValueError(
                f"two different forwarding stats for channel {scid_text(s.chan_id)} "
                f"over {s.window_s} s"
            )
        index[key] = s

    def get(chan_id: int, window_s: int) -> ForwardingStats:
        found = index.get((chan_id, window_s))
        if found is None:
            raise ValueError(
                f"no forwarding stats for channel {scid_text(chan_id)} over {window_s} s"
            )
        return found

    return [
        ChannelSnapshot(
            taken_at_s=now_s,
            channel=c,
            recent=get(c.chan_id, recent_window_s),
            history=get(c.chan_id, history_window_s),
            last_change=last_changes.get(c.chan_id, NeverChanged()),
            price_history=list((price_history or {}).get(c.chan_id, ())),
            competitors=NO_COMPETITORS,
        )
        for c in channels
    ]
