"""HTLC failures by kind, end to end over the real gRPC wire: the simulated node streams its
link failures on Router.SubscribeHtlcEvents (wire failure and failure detail as LND sends
them), the service's failure log keeps what the client reads, and ingestion counts them in
the snapshot: a FEE_INSUFFICIENT refusal (senders with stale gossip after a raise) as
``failed_fee``, an INSUFFICIENT_BALANCE one as ``failed_balance``. The defect check refuses a
snapshot whose failures by kind exceed its failed HTLCs."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import replace

import msgspec
import pytest
from lnd_sim_support import ingestion_supervisor, serve, settings

from mcp_optimizer.actors.failures import FailureLog
from mcp_optimizer.messages import DecisionKind, HtlcEvent, HtlcEventKind
from mcp_optimizer.messages.actors import IngestRequest, NodeData
from mcp_optimizer.policies.config import load_policy
from mcp_optimizer.policies.defects import find_defects
from mcp_optimizer.policies.engine import evaluate_channel
from mcp_optimizer.preprocess import NS, snapshots_from_stats
from mcp_optimizer.providers.lnd.client import LndClient
from mcp_optimizer.simulator.model import SimulatedNode

DAY = 86_400
WAIT_S = 120.0
"""A generous bound on waiting for the stream (a busy 2-core box); nothing is timed."""


class _Feed:
    """The client's HTLC event stream drained into a failure log on a thread, as the
    service's HTLC feed does."""

    def __init__(self, client: LndClient, failures: FailureLog) -> None:
        self.failures = failures
        self.received: list[HtlcEvent] = []
        self.cond = threading.Condition()
        self.error: BaseException | None = None
        self.stream = client.htlc_events()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            for event in self.stream:
                self.failures.add(event)
                with self.cond:
                    self.received.append(event)
                    self.cond.notify_all()
        except BaseException as exc:  # noqa: BLE001 - reported by wait_for
            self.error = exc
            with self.cond:
                self.cond.notify_all()

    def wait_for(self, done, what: str) -> None:
        deadline = time.monotonic() + WAIT_S
        with self.cond:
            while not done(self.received):
                assert self.error is None, self.error
                left = deadline - time.monotonic()
                assert left > 0, f"the HTLC event stream did not deliver {what}"
                self.cond.wait(min(left, 0.5))

    def close(self) -> None:
        self.stream.cancel()
        self.thread.join(10)


@pytest.fixture
def wired(tmp_path):
    node = SimulatedNode.from_scenario("demo")
    server = serve(node, tmp_path)
    client = LndClient(settings(server), clock=node.now_s)
    failures = FailureLog()
    sup = ingestion_supervisor(client, failures)
    feed = _Feed(client, failures)
    try:
        yield node, feed, sup
    finally:
        feed.close()
        sup.stop()
        client.close()
        server.stop()
        server.stop()


def test_fee_and_balance_refusals_on_the_wire_arrive_as_their_kinds_in_the_snapshot(wired):
    node, feed, sup = wired
    # The subscription reaches the server asynchronously: move the clock until the stream
    # delivers something; every event after that moment is on the stream.
    deadline = time.monotonic() + WAIT_S
    while not feed.received:
        assert time.monotonic() < deadline, "the HTLC event stream never opened"
        node.advance(600)
        with feed.cond:
            feed.cond.wait(0.05)
    start_s = node.now_s()
    # A raise on every channel: senders that still know the old fee offer too little.
    for c in node.channels():
        node.set_local_policy(c.channel_point, replace(
            c.local_policy, fee_rate_ppm=c.local_policy.fee_rate_ppm * 3 + 50))
    node.advance(4 * 3600)
    now = node.now_s()
    sent = node.htlc_failures(start_s, now)
    causes = Counter((f.failure_detail, f.wire_failure) for f in sent)
    assert causes[("NO_DETAIL", "FEE_INSUFFICIENT")] > 0, causes
    assert causes[("INSUFFICIENT_BALANCE", "TEMPORARY_CHANNEL_FAILURE")] > 0, causes

    def all_sent(received: list[HtlcEvent]) -> bool:
        lo, hi = start_s * NS, now * NS
        return sum(1 for e in received if lo <= e.timestamp_ns < hi
                   and e.kind is HtlcEventKind.LINK_FAIL) >= len(sent)

    feed.wait_for(all_sent, f"the {len(sent)} failures the node sent")
    got = Counter((e.failure_detail, e.wire_failure) for e in feed.failures.between(start_s, now))
    assert got == causes  # both fields as LND sends them, read by the client

    data = sup.ask("ingestion", IngestRequest(history_window_s=30 * DAY,
                                              recent_window_s=now - start_s), 60)
    assert isinstance(data, NodeData), data
    assert data.read_at_s == now
    snaps = snapshots_from_stats(data.channels, data.forwarding_stats, now, now - start_s,
                                 30 * DAY, {})
    want = {
        kind: Counter(f.outgoing_chan_id for f in sent if (f.failure_detail, f.wire_failure)
                      == why)
        for kind, why in (("fee", ("NO_DETAIL", "FEE_INSUFFICIENT")),
                          ("balance", ("INSUFFICIENT_BALANCE", "TEMPORARY_CHANNEL_FAILURE")))
    }
    total = Counter(f.outgoing_chan_id for f in sent)
    for s in snaps:
        cid = s.channel.chan_id
        assert s.recent.failed_fee == want["fee"][cid], cid
        assert s.recent.failed_balance == want["balance"][cid], cid
        assert s.recent.failed_htlcs == total[cid], cid
        assert s.history.failed_fee >= s.recent.failed_fee
        assert find_defects(s) == []
    assert sum(s.recent.failed_fee for s in snaps) == causes[("NO_DETAIL", "FEE_INSUFFICIENT")]

    # parts never exceed the whole: one fee refusal too many is a defect, and no decision
    s = max(snaps, key=lambda x: x.recent.failed_fee)
    bad = msgspec.structs.replace(s, recent=msgspec.structs.replace(
        s.recent, failed_fee=s.recent.failed_htlcs - s.recent.failed_balance
        - s.recent.failed_downstream + 1))
    defects = find_defects(bad)
    assert len(defects) == 1 and "recent failures by kind" in defects[0], defects
    assert f"{bad.recent.failed_fee} fee" in defects[0]
    decision = evaluate_channel(bad, load_policy(None, environ={}))
    assert decision.kind is DecisionKind.NO_ACTION
    assert decision.reasons[0].startswith("snapshot rejected")
    negative = msgspec.structs.replace(s, history=msgspec.structs.replace(
        s.history, failed_fee=-1))
    assert any("history failed fee is -1" in d for d in find_defects(negative))
