"""ForwardingHistory pages decoded from the wire into columns (providers/lnd/forwarding.py):
the same values as the protobuf parser for any page (property), the general parser for what
the fast path does not read (a string field, a broken length), the forwarding log synced
through LndClient over gRPC equal to the events read one by one, and the pipelined paging
(every event once, in order, across seconds shared by two pages; the next request sent before
a page is handed out; errors and early stops)."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lnd_sim_support import serve_big
from lnd_sim_support import settings as lnd_settings

from mcp_optimizer.providers.lnd.client import LndClient
from mcp_optimizer.providers.lnd.forwarding import (
    NS,
    PAGE_SIZE,
    ForwardingLog,
    _columns_of,
    column_pages,
    decode_page,
)
from mcp_optimizer.providers.lnd.gen import lightning_pb2 as ln

U64 = st.integers(min_value=0, max_value=2**64 - 1)
I63 = st.integers(min_value=0, max_value=2**63 - 1)
EVENT = st.fixed_dictionaries({
    "timestamp": U64, "chan_id_in": U64, "chan_id_out": U64, "amt_in": U64, "amt_out": U64,
    "fee": U64, "fee_msat": I63, "amt_in_msat": I63, "amt_out_msat": I63, "timestamp_ns": I63,
})


def _page(events, last_offset=0) -> bytes:
    r = ln.ForwardingHistoryResponse(last_offset_index=last_offset)
    for e in events:
        r.forwarding_events.add(**e)
    return r.SerializeToString()


def _same(a, b) -> None:
    assert len(a) == len(b) == 6
    for x, y in zip(a, b, strict=True):
        assert x.dtype == y.dtype and np.array_equal(x, y)


@settings(max_examples=150, deadline=None)
@given(st.lists(EVENT, max_size=40), st.integers(min_value=0, max_value=2**32 - 1))
def test_decoded_columns_equal_the_protobuf_parser(events, last_offset):
    raw = _page(events, last_offset)
    cols, count = decode_page(raw)
    parsed = ln.ForwardingHistoryResponse.FromString(raw).forwarding_events
    assert count == len(parsed) == len(events)
    _same(cols, _columns_of(parsed))


def test_a_string_field_goes_through_the_general_parser():
    # LND >= 0.17 adds peer aliases (fields 12 and 13, strings) when asked to: an unknown
    # field here, that the protobuf parser skips and the fast path must not misread
    e = ln.ForwardingEvent(timestamp_ns=5 * 10**9, chan_id_in=7, chan_id_out=9, fee_msat=12,
                           amt_in_msat=1012, amt_out_msat=1000).SerializeToString()
    alias = b"\x62" + bytes([5]) + b"alice"
    inner = e + alias
    raw = b"\x0a" + bytes([len(inner)]) + inner + b"\x10\x01"
    cols, count = decode_page(raw)
    assert count == 1
    assert [int(c[0]) for c in cols] == [5 * 10**9, 7, 9, 1012, 1000, 12]


def test_a_broken_length_is_not_read_as_columns():
    raw = _page([{"timestamp_ns": 10**9, "chan_id_in": 3, "fee_msat": 4}] * 3)
    broken = raw[:1] + bytes([raw[1] + 1]) + raw[2:]
    with pytest.raises(Exception):  # noqa: B017 - the protobuf parser's own error
        decode_page(broken)


def test_empty_page():
    cols, count = decode_page(b"")
    assert count == 0 and all(len(c) == 0 for c in cols)


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    node, server = serve_big(tmp_path_factory)
    yield node, server
    server.stop()


def test_log_synced_from_wire_columns_equals_the_events_one_by_one(big):
    node, server = big
    with LndClient(lnd_settings(server)) as client:
        end = node.now_s()
        start = end - 30 * 86_400
        events = client.forwarding_events(start, end)
        assert len(events) > 50_000  # more than one page
        log = ForwardingLog(start)
        log.sync(client, end)
        got = log.columns(start, end)
    assert len(got) == len(events)
    assert np.array_equal(got.timestamp_ns, [e.timestamp_ns for e in events])
    assert np.array_equal(got.chan_id_in, np.array([e.chan_id_in for e in events], np.uint64))
    assert np.array_equal(got.fee_msat, [e.fee_msat for e in events])
    assert np.array_equal(got.amt_out_msat, [e.amt_out_msat for e in events])


def test_a_parked_log_reads_back_the_same_and_syncs_on(big, tmp_path):
    node, server = big
    with LndClient(lnd_settings(server)) as client:
        end = node.now_s()
        start = end - 30 * 86_400
        log = ForwardingLog(start)
        log.sync(client, end - 86_400)
        before = log.columns(start, end)
        path = tmp_path / "forwards.cols"
        log.park(path)
        assert path.exists() and len(log) == len(before)
        assert all(len(c) == 0 for c in log._cols)  # out of memory while parked
        again = log.columns(start, end)
        assert not path.exists()
        for name in ("timestamp_ns", "chan_id_in", "chan_id_out", "amt_in_msat",
                     "amt_out_msat", "fee_msat"):
            assert np.array_equal(getattr(again, name), getattr(before, name))
        log.park(path)
        log.sync(client, end)  # reads back, then fetches the last day
        whole = ForwardingLog(start)
        whole.sync(client, end)
        assert np.array_equal(log.columns(start, end).timestamp_ns,
                              whole.columns(start, end).timestamp_ns)


class _Pager:
    """LND's ForwardingHistory over a fixed list of events (sorted by time): from
    ``start_time`` to ``end_time`` inclusive (whole seconds), skipping ``index_offset``, at
    most ``num_max_events``; every request kept, and ``asked[k]`` set when request k comes."""

    def __init__(self, timestamps_ns: list[int]) -> None:
        self.events = [ln.ForwardingEvent(timestamp_ns=t, chan_id_in=i, fee_msat=i % 97)
                       for i, t in enumerate(timestamps_ns)]
        self.requests: list[tuple[int, int, int]] = []
        self.asked = [threading.Event() for _ in range(8)]
        self.fail_at: int | None = None

    def __call__(self, request: ln.ForwardingHistoryRequest) -> bytes:
        k = len(self.requests)
        self.requests.append((request.start_time, request.end_time, request.index_offset))
        self.asked[k].set()
        if k == self.fail_at:
            raise RuntimeError("node gone")
        lo, hi = request.start_time * NS, (request.end_time + 1) * NS
        window = [e for e in self.events if lo <= e.timestamp_ns < hi]
        page = window[request.index_offset:request.index_offset + request.num_max_events]
        return ln.ForwardingHistoryResponse(forwarding_events=page).SerializeToString()


def _crowded_seconds() -> list[int]:
    """2.5 pages of events, many sharing a second across each page boundary."""
    base = 1_700_000_000
    ts = [(base + i // 7) * NS + i for i in range(PAGE_SIZE - 3)]
    ts += [(base + 20_000) * NS + i for i in range(PAGE_SIZE + 10)]  # over a whole page
    ts += [(base + 20_001 + i // 3) * NS for i in range(PAGE_SIZE // 2)]
    return ts


def test_pages_come_in_order_and_whole_across_crowded_seconds():
    pager = _Pager(_crowded_seconds())
    start = pager.events[0].timestamp_ns // NS
    end = pager.events[-1].timestamp_ns // NS  # exclusive: the last second is left out
    got = np.concatenate([p[1] for p in column_pages(pager, start, end)])
    want = [e.chan_id_in for e in pager.events if e.timestamp_ns < end * NS]
    assert np.array_equal(got, np.array(want, np.uint64))  # each once, in the node's order
    # 50,000 (3 of them in the crowded second), 50,000 all in that second, the rest
    assert [r[2] for r in pager.requests] == [0, 3, 50_003]


def test_the_next_page_is_asked_for_before_this_one_is_handed_out():
    pager = _Pager(_crowded_seconds())
    start = pager.events[0].timestamp_ns // NS
    pages = column_pages(pager, start, start + 10**6)
    first = next(pages)
    assert len(first[0]) == PAGE_SIZE
    assert pager.asked[1].wait(60)  # on its way while the caller holds page 1
    assert sum(len(p[0]) for p in pages) + PAGE_SIZE == len(pager.events)


def test_a_failed_page_reaches_the_caller_and_an_early_stop_does_not_hang():
    pager = _Pager(_crowded_seconds())
    pager.fail_at = 1
    start = pager.events[0].timestamp_ns // NS
    pages = column_pages(pager, start, start + 10**6)
    next(pages)
    with pytest.raises(RuntimeError, match="node gone"):
        next(pages)
    pager = _Pager(_crowded_seconds())
    pages = column_pages(pager, start, start + 10**6)
    next(pages)
    pages.close()
    assert len(pager.requests) == 2
