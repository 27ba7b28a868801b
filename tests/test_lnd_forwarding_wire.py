"""ForwardingHistory pages decoded from the wire into columns (providers/lnd/forwarding.py):
the same values as the protobuf parser for any page (property), the general parser for what
the fast path does not read (a string field, a broken length), and the forwarding log synced
through LndClient over gRPC equal to the events read one by one."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lnd_sim_support import serve_big
from lnd_sim_support import settings as lnd_settings

from mcp_optimizer.providers.lnd.client import LndClient
from mcp_optimizer.providers.lnd.forwarding import ForwardingLog, _columns_of, decode_page
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
