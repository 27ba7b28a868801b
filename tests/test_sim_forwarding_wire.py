"""The simulator's ForwardingHistory page encoder gives the protobuf library's bytes."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mcp_optimizer.providers.lnd.gen import lightning_pb2 as ln
from mcp_optimizer.simulator.grpc.wire import encode_forwarding_page

U64 = st.integers(min_value=0, max_value=2**64 - 1)
I63 = st.integers(min_value=0, max_value=2**63 - 1)
SMALL = st.integers(min_value=0, max_value=3000)


def reference(rows, last: int) -> bytes:
    resp = ln.ForwardingHistoryResponse(last_offset_index=last)
    for ts, ci, co, ai, ao, fee in rows:
        resp.forwarding_events.add(
            timestamp=ts // 1_000_000_000, timestamp_ns=ts, chan_id_in=ci, chan_id_out=co,
            amt_in=ai // 1000, amt_out=ao // 1000, fee=fee // 1000, fee_msat=fee,
            amt_in_msat=ai, amt_out_msat=ao,
        )
    return resp.SerializeToString()


def encoded(rows, last: int) -> bytes:
    cols = list(zip(*rows, strict=True)) if rows else [()] * 6
    return encode_forwarding_page(
        np.array(cols[0], dtype=np.int64), np.array(cols[1], dtype=np.uint64),
        np.array(cols[2], dtype=np.uint64), np.array(cols[3], dtype=np.int64),
        np.array(cols[4], dtype=np.int64), np.array(cols[5], dtype=np.int64), last,
    )


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(I63, U64, U64, I63, I63, st.one_of(SMALL, I63)), max_size=30),
    st.integers(min_value=0, max_value=2**32 - 1),
)
def test_same_bytes_as_protobuf(rows, last):
    assert encoded(rows, last) == reference(rows, last)


def test_empty_page_and_zero_fields():
    assert encoded([], 0) == reference([], 0) == b""
    rows = [(0, 0, 0, 0, 0, 0), (1_700_000_000_123_456_789, 1 << 63, 5, 999, 1000, 0)]
    assert encoded(rows, 7) == reference(rows, 7)
