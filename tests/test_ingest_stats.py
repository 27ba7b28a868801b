"""Ingestion over the real gRPC wire: the ``lnd`` actor aggregates its forwarding log into
per-channel stats, and they equal the per-event reference computed on the same history, on a
first (full) read and on a later (incremental) one, HTLC failures included."""

from __future__ import annotations

import pytest
from lnd_sim_support import ingestion_supervisor, serve, settings
from preprocess_reference import build_snapshots

from mcp_optimizer.actors.failures import FailureLog
from mcp_optimizer.messages import HtlcEvent, HtlcEventKind, UptimeKnown
from mcp_optimizer.messages.actors import ActorFailed, IngestRequest, NodeData
from mcp_optimizer.messages.forwarding import ForwardingStatsRead, ReadForwardingStatsRequest
from mcp_optimizer.preprocess import NS, snapshots_from_stats
from mcp_optimizer.providers.lnd.client import LndClient
from mcp_optimizer.simulator.model import SimulatedNode

DAY = 86_400
HISTORY_S, RECENT_S = 30 * DAY, 2 * DAY


@pytest.fixture
def wired(tmp_path, request):
    node = SimulatedNode.from_scenario("demo")
    server = serve(node, tmp_path)
    clock = node.now_s
    if getattr(request, "param", "") == "ticking":
        # A node's clock that moves while it is read (a real LND's wall clock): one second
        # more at every reading.
        ticks = iter(range(10**9))
        clock = lambda: node.now_s() + next(ticks)  # noqa: E731
    client = LndClient(settings(server), clock=clock)
    failures = FailureLog()
    sup = ingestion_supervisor(client, failures)
    try:
        yield node, client, failures, sup
    finally:
        sup.stop()
        client.close()
        server.stop()


def _failures(chan_ids, now_s):
    """Failures on our channels at both windows' edges (downstream, for want of balance, for
    an insufficient fee), one of another kind, one elsewhere."""
    why = {1: ("INSUFFICIENT_BALANCE", "TEMPORARY_CHANNEL_FAILURE"),
           3: ("NO_DETAIL", "FEE_INSUFFICIENT")}
    out = []
    for i, cid in enumerate(chan_ids[:4]):
        detail, wire = why.get(i, ("NO_DETAIL", "RESERVED"))
        for age_s in (10, RECENT_S, RECENT_S + 1, HISTORY_S - 1, HISTORY_S + 5):
            out.append(HtlcEvent(
                kind=HtlcEventKind.LINK_FAIL if i % 2 else HtlcEventKind.FORWARD_FAIL,
                incoming_chan_id=chan_ids[-1], outgoing_chan_id=cid,
                timestamp_ns=(now_s - age_s) * NS + 1, failure_detail=detail, wire_failure=wire,
            ))
    out.append(HtlcEvent(kind=HtlcEventKind.LINK_FAIL, incoming_chan_id=1, outgoing_chan_id=7,
                         timestamp_ns=(now_s - 10) * NS, failure_detail="NO_DETAIL",
                         wire_failure="RESERVED"))
    return out


def _check(data: NodeData, client: LndClient, failures: FailureLog) -> None:
    now = data.read_at_s
    events = client.forwarding_events(now - HISTORY_S, now)  # the reference: every event
    fails = failures.between(now - HISTORY_S, now)
    want = build_snapshots(data.channels, events, fails, now, RECENT_S, HISTORY_S, {})
    got = snapshots_from_stats(data.channels, data.forwarding_stats, now, RECENT_S, HISTORY_S, {})
    assert got == want
    assert data.forwards_counted == len(events)
    assert len(data.forwarding_stats) == 2 * len(data.channels)


def test_ingested_stats_equal_the_per_event_reference_full_then_incremental(wired):
    node, client, failures, sup = wired
    request = IngestRequest(history_window_s=HISTORY_S, recent_window_s=RECENT_S)
    first = sup.ask("ingestion", request, 60)
    assert isinstance(first, NodeData), first
    ids = [c.chan_id for c in first.channels]
    for f in _failures(ids, first.read_at_s):
        failures.add(f)
    first = sup.ask("ingestion", request, 60)
    _check(first, client, failures)
    assert sum(s.forwards_out for s in first.forwarding_stats) > 0
    failed = {w: sum(s.failed_htlcs for s in first.forwarding_stats if s.window_s == w)
              for w in (RECENT_S, HISTORY_S)}
    assert failed == {RECENT_S: 4 * 2, HISTORY_S: 4 * 4}  # the window edges as documented
    by_kind = {(w, k): sum(getattr(s, k) for s in first.forwarding_stats if s.window_s == w)
               for w in (RECENT_S, HISTORY_S)
               for k in ("failed_balance", "failed_downstream", "failed_fee")}
    assert by_kind == {(RECENT_S, "failed_balance"): 2, (RECENT_S, "failed_downstream"): 4,
                       (RECENT_S, "failed_fee"): 2, (HISTORY_S, "failed_balance"): 4,
                       (HISTORY_S, "failed_downstream"): 8, (HISTORY_S, "failed_fee"): 4}

    node.advance(DAY)  # new forwards: the next read fetches only those
    second = sup.ask("ingestion", request, 60)
    assert isinstance(second, NodeData), second
    assert second.read_at_s == first.read_at_s + DAY
    _check(second, client, failures)
    assert second.forwarding_stats != first.forwarding_stats


def test_bad_windows_are_a_crash_named_not_a_silent_zero(wired):
    _, _, _, sup = wired
    reply = sup.ask("lnd", ReadForwardingStatsRequest(
        end_s=10 * DAY, recent_window_s=0, history_window_s=DAY, chan_ids=[1]), 10)
    assert isinstance(reply, ActorFailed) and "must be positive" in reply.error
    ok = sup.ask("lnd", ReadForwardingStatsRequest(
        end_s=10 * DAY, recent_window_s=DAY, history_window_s=DAY, chan_ids=[1, 1]), 10)
    assert isinstance(ok, ForwardingStatsRead) and len(ok.stats) == 1  # equal windows, once


@pytest.mark.parametrize("wired", ["ticking"], indirect=True)
def test_nothing_read_is_dated_after_the_cycle_time_on_a_moving_clock(wired):
    """The cycle's time is when the channels' read completed: an uptime LND reported while
    the channels were being read is not "after the snapshot" (which would reject them all)."""
    _, _, _, sup = wired
    data = sup.ask("ingestion", IngestRequest(history_window_s=HISTORY_S,
                                              recent_window_s=RECENT_S), 60)
    assert isinstance(data, NodeData), data
    observed = [c.peer.uptime.observed_at_s for c in data.channels
                if isinstance(c.peer.uptime, UptimeKnown)]
    assert observed and max(observed) <= data.read_at_s
