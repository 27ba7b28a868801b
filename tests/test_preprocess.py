"""Preprocessing: forwarding events and failures aggregated per channel and window."""

from builders import CHAN, DAY, NOW, channel

from mcp_optimizer.messages import (
    ForwardingEvent,
    HtlcEvent,
    HtlcEventKind,
    LastChangeAt,
    NeverChanged,
)
from mcp_optimizer.preprocess import NS, ForwardColumns, aggregate_windows, snapshots_from_stats

OTHER = CHAN + 1


def fwd(t_s: int, cin: int, cout: int, amt: int, fee: int) -> ForwardingEvent:
    return ForwardingEvent(timestamp_ns=t_s * NS, chan_id_in=cin, chan_id_out=cout,
                           amt_in_msat=amt + fee, amt_out_msat=amt, fee_msat=fee)


def fail(t_s: int, cout: int, kind=HtlcEventKind.LINK_FAIL) -> HtlcEvent:
    return HtlcEvent(kind=kind, incoming_chan_id=OTHER, outgoing_chan_id=cout,
                     timestamp_ns=t_s * NS, failure_detail="INSUFFICIENT_BALANCE",
                     wire_failure="TEMPORARY_CHANNEL_FAILURE")


def test_windows_direction_fees_and_failures():
    chans = [channel(), channel(chan_id=OTHER)]
    events = [
        fwd(NOW - 3600, OTHER, CHAN, 1_000_000, 500),      # recent, out through CHAN
        fwd(NOW - 10 * DAY, CHAN, OTHER, 2_000_000, 700),  # history only, in through CHAN
        fwd(NOW - 40 * DAY, OTHER, CHAN, 9_000_000, 900),  # outside both windows
        fwd(NOW + 60, OTHER, CHAN, 5, 1),                  # after now: ignored
        fwd(NOW - 60, 999, 998, 5, 1),                     # not our channels: ignored
    ]
    failures = [fail(NOW - 100, CHAN), fail(NOW - 5 * DAY, CHAN),
                fail(NOW - 100, CHAN, HtlcEventKind.SETTLE)]
    windows = aggregate_windows([c.chan_id for c in chans], ForwardColumns.from_events(events),
                                failures, NOW, [2 * DAY, 30 * DAY])
    stats = [s for per in windows.values() for s in per.values()]
    snaps = snapshots_from_stats(chans, stats, NOW, 2 * DAY, 30 * DAY,
                                 {OTHER: LastChangeAt(at_s=NOW - DAY)})
    a, b = snaps
    assert a.recent.forwards_out == 1 and a.recent.forwards_in == 0
    assert a.recent.amount_out_msat == 1_000_000 and a.recent.fees_earned_msat == 500
    assert a.recent.failed_htlcs == 1 and a.history.failed_htlcs == 2
    assert a.history.forwards_out == 1 and a.history.forwards_in == 1
    assert a.history.amount_in_msat == 2_000_700
    assert a.recent.window_s == 2 * DAY and a.history.window_s == 30 * DAY
    assert b.history.fees_earned_msat == 700 and b.recent.forwards_in == 1
    assert a.last_change == NeverChanged() and b.last_change == LastChangeAt(at_s=NOW - DAY)
    assert all(s.taken_at_s == NOW for s in snaps)
