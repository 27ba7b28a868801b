"""The columnar aggregation (numpy, what the service runs) agrees with the per-event reference,
and the forwarding log hands its events out as those columns."""

from __future__ import annotations

import numpy as np
import pytest
from builders import CHAN, DAY, NOW, channel
from hypothesis import given, settings
from hypothesis import strategies as st
from preprocess_reference import aggregate, build_snapshots

from mcp_optimizer.messages import ForwardingEvent, HtlcEvent, HtlcEventKind, LastChangeAt
from mcp_optimizer.preprocess import NS, ForwardColumns, aggregate_windows, snapshots_from_stats
from mcp_optimizer.providers.lnd.client import ForwardingLog
from mcp_optimizer.scid import scid_text

OURS = [CHAN, CHAN + 1, (1 << 63) + 7, 2**64 - 1]  # 64-bit ids must survive the columns
FOREIGN = [5, CHAN + 2, (1 << 63) + 8]
END_S = NOW
WINDOWS = [3600, 2 * DAY, 30 * DAY]

amounts = st.one_of(
    st.integers(0, 10**9),
    st.integers(0, 2**62),  # large enough that a channel's sum needs more than 64 bits
)
events = st.builds(
    lambda t, cin, cout, ain, aout, fee: ForwardingEvent(
        timestamp_ns=t, chan_id_in=cin, chan_id_out=cout,
        amt_in_msat=ain, amt_out_msat=aout, fee_msat=fee,
    ),
    # around the windows: before the longest, inside each, at the bounds, after the end
    st.one_of(
        st.integers((END_S - 31 * DAY) * NS, (END_S + DAY) * NS),
        st.sampled_from([(END_S - w) * NS + d for w in WINDOWS for d in (-1, 0, 1)]
                        + [END_S * NS - 1, END_S * NS]),
    ),
    st.sampled_from(OURS + FOREIGN),
    st.sampled_from(OURS + FOREIGN),
    amounts,
    amounts,
    amounts,
)
failures = st.builds(
    lambda kind, why, cout, t: HtlcEvent(
        kind=kind, incoming_chan_id=FOREIGN[0], outgoing_chan_id=cout, timestamp_ns=t,
        failure_detail=why[0], wire_failure=why[1],
    ),
    st.sampled_from(list(HtlcEventKind)),
    st.sampled_from([("INSUFFICIENT_BALANCE", "TEMPORARY_CHANNEL_FAILURE"),
                     ("NO_DETAIL", "FEE_INSUFFICIENT"), ("NO_DETAIL", "RESERVED"),
                     ("HTLC_EXCEEDS_MAX", "TEMPORARY_CHANNEL_FAILURE")]),
    st.sampled_from(OURS + FOREIGN),
    st.integers((END_S - 31 * DAY) * NS, (END_S + DAY) * NS),
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(events, max_size=60),
    st.lists(failures, max_size=20),
    st.lists(st.sampled_from(OURS), max_size=5),
    st.sampled_from(WINDOWS),
)
def test_columns_agree_with_the_per_event_reference(evs, fails, ids, window_s):
    cols = ForwardColumns.from_events(evs)
    start_s = END_S - window_s
    assert aggregate_windows(ids, cols, fails, END_S, [window_s])[window_s] == aggregate(
        ids, evs, fails, start_s, END_S
    )
    per_window = aggregate_windows(ids, cols, fails, END_S, WINDOWS)
    assert list(per_window) == WINDOWS
    for w in WINDOWS:
        assert per_window[w] == aggregate(ids, evs, fails, END_S - w, END_S)


@settings(max_examples=50, deadline=None)
@given(st.lists(events, max_size=40), st.lists(failures, max_size=10))
def test_snapshots_from_column_stats_equal_the_reference_snapshots(evs, fails):
    chans = [channel(chan_id=c) for c in OURS]
    last = {OURS[1]: LastChangeAt(at_s=NOW - DAY)}
    windows = aggregate_windows(OURS, ForwardColumns.from_events(evs), fails, NOW,
                                [2 * DAY, 30 * DAY])
    stats = [s for per in windows.values() for s in per.values()]
    assert snapshots_from_stats(chans, stats, NOW, 2 * DAY, 30 * DAY, last) == build_snapshots(
        chans, evs, fails, NOW, 2 * DAY, 30 * DAY, last
    )


def test_money_sums_are_exact_beyond_float_and_int64_range():
    def fwd(amount):
        return ForwardingEvent(timestamp_ns=(NOW - 60) * NS, chan_id_in=FOREIGN[0],
                               chan_id_out=CHAN, amt_in_msat=amount + 1, amt_out_msat=amount,
                               fee_msat=1)

    for amount, count in ((2**53 + 1, 3), (2**62 + 3, 4)):  # float64 rounds; int64 wraps
        evs = [fwd(amount)] * count
        got = aggregate_windows([CHAN], ForwardColumns.from_events(evs), [], NOW, [DAY])[DAY]
        assert got[CHAN].amount_out_msat == amount * count
        assert got[CHAN] == aggregate([CHAN], evs, [], NOW - DAY, NOW)[CHAN]


def test_htlc_failures_are_counted_on_the_outgoing_channel():
    fails = [
        HtlcEvent(kind=kind, incoming_chan_id=FOREIGN[0], outgoing_chan_id=CHAN,
                  timestamp_ns=(NOW - 100) * NS, failure_detail="NO_DETAIL",
                  wire_failure="RESERVED")
        for kind in (HtlcEventKind.LINK_FAIL, HtlcEventKind.FORWARD_FAIL, HtlcEventKind.SETTLE)
    ]
    got = aggregate_windows([CHAN], ForwardColumns.from_events([]), fails, NOW, [DAY])
    assert got[DAY][CHAN].failed_htlcs == 2 and got[DAY][CHAN].forwards_out == 0


def test_bad_inputs_are_refused_with_a_sentence():
    with pytest.raises(ValueError, match="must be positive"):
        aggregate_windows([CHAN], ForwardColumns.from_events([]), [], NOW, [0])
    good = ForwardColumns.from_events([])
    with pytest.raises(ValueError, match="chan_id_in must be a 1-D numpy uint64"):
        ForwardColumns(**{**good.__dict__, "chan_id_in": np.zeros(0, dtype=np.int64)})
    with pytest.raises(ValueError, match="fee_msat has 2 rows, timestamp_ns has 0"):
        ForwardColumns(**{**good.__dict__, "fee_msat": np.zeros(2, dtype=np.int64)})
    stats = aggregate_windows([CHAN], good, [], NOW, [DAY])[DAY][CHAN]
    missing = f"no forwarding stats for channel {scid_text(CHAN)} over 2592000 s"
    with pytest.raises(ValueError, match=missing):
        snapshots_from_stats([channel()], [stats], NOW, DAY, 30 * DAY, {})
    other = stats.__class__(**{**{f: getattr(stats, f) for f in stats.__struct_fields__},
                               "forwards_in": 1})
    twice = f"two different forwarding stats for channel {scid_text(CHAN)}"
    with pytest.raises(ValueError, match=twice):
        snapshots_from_stats([channel()], [stats, other], NOW, DAY, DAY, {})


class _Pages:
    def __init__(self, evs):
        self.evs = evs

    def forwarding_event_pages(self, start_s, end_s):
        page = [e for e in self.evs if start_s * NS <= e.timestamp_ns < end_s * NS]
        for i in range(0, len(page), 3):
            yield page[i:i + 3]


def test_forwarding_log_columns_are_its_window_as_columns():
    evs = [
        ForwardingEvent(timestamp_ns=t * NS + 5, chan_id_in=OURS[2], chan_id_out=OURS[3],
                        amt_in_msat=1000 + t, amt_out_msat=990 + t, fee_msat=10)
        for t in range(10, 40, 2)
    ]
    log = ForwardingLog(0)
    log.sync(_Pages(evs), 25)
    early = log.columns(0, 25)
    log.sync(_Pages(evs), 100)  # the log can still grow after columns were handed out
    assert early.timestamp_ns.tolist() == [e.timestamp_ns for e in evs[:8]]
    for lo, hi in ((0, 100), (14, 30), (30, 14), (50, 60)):
        cols = log.columns(lo, hi)
        want = ForwardColumns.from_events(
            e for e in evs if lo * NS <= e.timestamp_ns < hi * NS
        )
        for name in ForwardColumns.__dataclass_fields__:
            got = getattr(cols, name)
            assert got.dtype == getattr(want, name).dtype
            assert got.tolist() == getattr(want, name).tolist()
    assert log.columns(0, 100).chan_id_out.tolist() == [2**64 - 1] * len(evs)
    log.prune(20)
    assert log.columns(0, 100).timestamp_ns.tolist() == [e.timestamp_ns for e in evs[5:]]
