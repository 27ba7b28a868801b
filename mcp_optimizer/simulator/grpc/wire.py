"""A ForwardingHistoryResponse page encoded straight from the simulator's numpy columns.

Building one protobuf message per forward in Python took most of a cold cycle's seconds on the
2,000-channel scenario (20 pages of 50,000 events), for this project and for any other client
of the simulator. Every ForwardingEvent field the simulator sets is a varint, so a page is
written with numpy: each event is tag 0x0a, its length, then (tag, varint) for each non-zero
field in field-number order, which is what ``SerializeToString`` gives for the same message
(proto3 leaves zero fields out). ``tests/test_sim_forwarding_wire.py`` checks the bytes
against the protobuf library's.
"""

from __future__ import annotations

import numpy as np

_EVENT_TAG = 0x0A  # ForwardingHistoryResponse.forwarding_events: field 1, length-delimited
_LAST_OFFSET_TAG = 0x10  # last_offset_index: field 2, varint
_U64 = np.uint64


def _varint_lengths(v: np.ndarray) -> np.ndarray:
    """Bytes of each value's varint (1 to 10)."""
    n = np.ones(len(v), dtype=np.int64)
    for k in range(1, 10):
        n += v >= _U64(1 << (7 * k))
    return n


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low = value & 0x7F
        value >>= 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def encode_forwarding_page(
    timestamp_ns: np.ndarray,
    chan_id_in: np.ndarray,
    chan_id_out: np.ndarray,
    amt_in_msat: np.ndarray,
    amt_out_msat: np.ndarray,
    fee_msat: np.ndarray,
    last_offset_index: int,
) -> bytes:
    """The serialized ForwardingHistoryResponse of these events (one row each, values >= 0)
    and ``last_offset_index``, with the seconds and satoshi fields LND also fills."""
    ts = timestamp_ns.astype(_U64)
    ai = amt_in_msat.astype(_U64)
    ao = amt_out_msat.astype(_U64)
    fee = fee_msat.astype(_U64)
    thousand = _U64(1000)
    fields = (  # (field number, values), in field-number order
        (1, ts // _U64(1_000_000_000)),
        (2, chan_id_in.astype(_U64)),
        (4, chan_id_out.astype(_U64)),
        (5, ai // thousand),
        (6, ao // thousand),
        (7, fee // thousand),
        (8, fee),
        (9, ai),
        (10, ao),
        (11, ts),
    )
    rows = len(ts)
    sizes = []
    body = np.zeros(rows, dtype=np.int64)
    for _, v in fields:
        size = np.where(v != 0, 1 + _varint_lengths(v), 0)  # tag byte (field < 16) + varint
        sizes.append(size)
        body += size
    # an event's length is one byte: ten fields of at most 11 bytes each stay under 128
    start = np.zeros(rows, dtype=np.int64)
    if rows:
        np.cumsum(2 + body[:-1], out=start[1:])
    events_len = int(start[-1] + 2 + body[-1]) if rows else 0
    tail = (bytes([_LAST_OFFSET_TAG]) + _varint(last_offset_index)
            if last_offset_index else b"")
    out = np.zeros(events_len, dtype=np.uint8)
    out[start] = _EVENT_TAG
    out[start + 1] = body.astype(np.uint8)
    pos = start + 2
    for (number, v), size in zip(fields, sizes, strict=True):
        has = size > 0
        where = pos[has]
        vals = v[has]
        width = size[has] - 1
        out[where] = number << 3  # wire type 0
        for k in range(int(width.max()) if len(width) else 0):
            more = width > k
            byte = (vals[more] >> _U64(7 * k)) & _U64(0x7F)
            byte |= np.where(width[more] > k + 1, _U64(0x80), _U64(0))
            out[where[more] + 1 + k] = byte.astype(np.uint8)
        pos = pos + size
    return out.tobytes() + tail
