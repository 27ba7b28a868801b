"""Forwarding history: LND's ForwardingHistory pages decoded into columns, and the log of
forwards the service keeps between cycles (:class:`ForwardingLog`).

A big node forwards about a million times a month; the first cycle reads them all (20 pages of
50,000). Turning each into a protobuf message and then into Python values costs seconds, so a
page is decoded from its wire bytes with numpy (:func:`decode_page`): a
``ForwardingHistoryResponse`` without string fields (``peer_alias_lookup`` is never asked) is
a run of varints, (tag, value) pairs, the events' lengths checked against where each next
event starts. Anything else in a page (a field of another wire type, a length that does not
add up) sends that page through the protobuf parser instead, with the same result.
"""

from __future__ import annotations

import bisect
import ctypes
import ctypes.util
import os
import threading
from array import array
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from mcp_optimizer.preprocess import ForwardColumns

from .gen import lightning_pb2 as ln

NS = 1_000_000_000
PAGE_SIZE = 50_000
"""Forwarding events per ForwardingHistory request (LND's maximum per response)."""

_EVENT_TAG = 0x0A  # ForwardingHistoryResponse.forwarding_events: field 1, length-delimited
_LAST_OFFSET_TAG = 0x10  # last_offset_index: field 2, varint
# ForwardingEvent fields kept, by field number (all varints): our column order
_FIELDS = {11: 0, 2: 1, 4: 2, 9: 3, 10: 4, 8: 5}
Columns = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]
"""timestamp_ns, chan_id_in, chan_id_out, amt_in_msat, amt_out_msat, fee_msat: int64 but the
channel ids (uint64), one row an event, in the page's order."""


def _release_freed_memory() -> None:
    """Give the memory just freed back to the system (glibc keeps large freed blocks for
    reuse otherwise, and they stay resident); nothing where the C library has no
    ``malloc_trim``."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _columns_of(events) -> Columns:
    """The columns of parsed ForwardingEvent messages (the slow, general way)."""
    n = len(events)
    return (
        np.fromiter((e.timestamp_ns for e in events), np.int64, n),
        np.fromiter((e.chan_id_in for e in events), np.uint64, n),
        np.fromiter((e.chan_id_out for e in events), np.uint64, n),
        np.fromiter((e.amt_in_msat for e in events), np.int64, n),
        np.fromiter((e.amt_out_msat for e in events), np.int64, n),
        np.fromiter((e.fee_msat for e in events), np.int64, n),
    )


_SHIFTS = np.arange(10, dtype=np.uint64) * np.uint64(7)
"""The shift of a varint's k-th byte (7 bits a byte, least significant first)."""


def _varints(b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(values, first byte, last byte) of every varint of ``b``; None when ``b`` is not a
    whole run of varints of at most 10 bytes.

    Vectorised over all bytes at once: each byte's 7 low bits are shifted by its position in
    its varint (the bytes since the previous terminating byte) and each varint's bytes are
    OR-ed together with one ``reduceat``."""
    term = b < 0x80
    last = np.flatnonzero(term)
    if len(last) == 0 or last[-1] != len(b) - 1:
        return None
    first = np.empty_like(last)
    first[0] = 0
    first[1:] = last[:-1] + 1
    if int((last - first).max()) >= 10:
        return None
    varint_of = np.cumsum(term, dtype=np.intp)  # of each byte: terminators up to it...
    varint_of -= term  # ...before it: the index of its varint
    position = np.arange(len(b), dtype=np.intp)
    position -= first[varint_of]
    low = (b & 0x7F).astype(np.uint64)
    low <<= _SHIFTS[position]
    return np.bitwise_or.reduceat(low, first), first, last


def decode_page(raw: bytes) -> tuple[Columns, int]:
    """``(columns, events in the page)`` of a serialized ForwardingHistoryResponse."""
    b = np.frombuffer(raw, dtype=np.uint8)
    if len(b) == 0:
        return _columns_of([]), 0
    found = _varints(b)
    cols = _fast(found) if found is not None else None
    if cols is None:
        events = ln.ForwardingHistoryResponse.FromString(raw).forwarding_events
        return _columns_of(events), len(events)
    return cols, len(cols[0])


def _fast(found: tuple[np.ndarray, np.ndarray, np.ndarray]) -> Columns | None:
    values, first, last = found
    if len(values) % 2:
        return None
    tags, vals = values[0::2], values[1::2]
    # the events: each (0x0a, length) pair opens one, its content the pairs that follow
    heads = np.flatnonzero(tags == _EVENT_TAG)
    n = len(heads)
    content_start = last[2 * heads + 1] + 1
    content_end = content_start + vals[heads].astype(np.int64)
    # each event's content ends exactly where the next event's tag begins
    if n > 1 and not np.array_equal(content_end[:-1], first[2 * heads[1:]]):
        return None
    pair_start = first[0::2]
    if n:
        if heads[0] != 0:
            return None
        inside = pair_start < content_end[-1]
        if not inside[heads].all() or (n and int(content_end[-1]) > int(last[-1]) + 1):
            return None
    else:
        inside = np.zeros(len(tags), dtype=bool)
    # after the events, only last_offset_index may follow
    trailing = tags[~inside]
    if len(trailing) and not np.all(trailing == _LAST_OFFSET_TAG):
        return None
    if n:
        after = pair_start[~inside]
        at = int(after[0]) if len(after) else int(last[-1]) + 1
        if at != int(content_end[-1]):
            return None  # the last event does not end on a field boundary
    body = inside.copy()
    body[heads] = False
    field_tags = tags[body]
    if len(field_tags) and int((field_tags & np.uint64(7)).max()) != 0:
        return None  # a field other than a varint (a string): the general parser decodes it
    event_of = np.cumsum(tags == _EVENT_TAG)[body] - 1
    field_no = (field_tags >> np.uint64(3)).astype(np.int64)
    field_vals = vals[body]
    out = [np.zeros(n, dtype=np.uint64) for _ in range(6)]
    for number, col in _FIELDS.items():
        sel = field_no == number
        out[col][event_of[sel]] = field_vals[sel]  # proto3: the last occurrence wins
    ts, cin, cout, ain, aout, fee = out
    return (ts.view(np.int64), cin, cout, ain.view(np.int64), aout.view(np.int64),
            fee.view(np.int64))


def _next_cursor(raw: bytes, cursor_s: int, skip: int) -> tuple[int, int] | None:
    """``(start_time, index_offset)`` of the page after ``raw`` (asked with ``cursor_s`` and
    ``skip``), None when ``raw`` is the last page (fewer than ``PAGE_SIZE`` events).

    Read from protobuf's parser (a few ms for 50,000 events: only the last events are turned
    into objects) so that the next request can be on its way while numpy decodes this page."""
    events = ln.ForwardingHistoryResponse.FromString(raw).forwarding_events
    if len(events) < PAGE_SIZE:
        return None
    last_s = events[-1].timestamp_ns // NS
    in_last_second = 0
    for e in reversed(events):
        if e.timestamp_ns // NS != last_s:
            break
        in_last_second += 1
    return last_s, (skip + in_last_second) if last_s == cursor_s else in_last_second


def column_pages(
    fetch: Callable[[ln.ForwardingHistoryRequest], bytes], start_s: int, end_s: int
) -> Iterator[Columns]:
    """Every forward with ``start_s <= timestamp < end_s`` as columns, one page at a time.

    ``fetch`` sends a ForwardingHistoryRequest and returns the response's bytes. Paging as
    ``LndClient.forwarding_event_pages``: each next page starts at the second of the last event
    received, skipping by ``index_offset`` only the events of that second already held.
    Pipelined: as soon as a page has arrived, the request for the next one is sent from a
    worker thread, and this page is decoded (and handed to the caller) while the node builds
    that next one; pages still come out one after another, in the node's order."""
    if end_s <= start_s:
        return
    end_ns = end_s * NS

    def request(cursor: tuple[int, int]) -> ln.ForwardingHistoryRequest:
        return ln.ForwardingHistoryRequest(
            start_time=cursor[0], end_time=end_s, index_offset=cursor[1],
            num_max_events=PAGE_SIZE,
        )

    pending: Future[bytes] | None = None
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="forwarding-pages") as pool:
        try:
            cursor: tuple[int, int] | None = (start_s, 0)
            raw = fetch(request(cursor))
            while True:
                cursor = _next_cursor(raw, *cursor)
                if cursor is not None:
                    pending = pool.submit(fetch, request(cursor))
                cols, count = decode_page(raw)
                keep = cols[0] < end_ns  # LND's end second is inclusive; ours is not
                if count and keep.any():
                    yield cols if keep.all() else tuple(c[keep] for c in cols)  # type: ignore[misc]
                if pending is None:
                    return
                raw, pending = pending.result(), None
        finally:
            if pending is not None:  # the caller stopped early: the request may be in flight
                pending.cancel()


class ForwardingLog:
    """Forwarding events kept between cycles; each ``sync`` fetches only what is newer.

    Windows are half-open: the first sync reads ``[start_s, until_s)``, each next one
    ``[previous until_s - LATE_WRITE_S, until_s)`` and keeps only the events it does not hold
    yet: LND writes forwarding events in batches (every 15 s), dated when they settled, so an
    event can appear after a sync that already covered its second (clock skew between this
    host and the node widens that). ``until_s`` should not be in the node's future.
    ``prune(before_s)`` drops what no window needs any more. Events are held as six packed
    64-bit columns (48 bytes an event instead of about 300 as message objects); ``columns``
    hands a window out as numpy columns (what the service aggregates).

    ``park(path)`` moves the columns to a file and frees their memory (48 MiB for a million
    forwards) until the log is next used, which reads them back first: between two cycles,
    six hours apart, the service keeps them on disk, not in its resident memory.
    """

    LATE_WRITE_S = 300
    """How far back each sync reads again for events LND wrote after the previous sync."""

    def __init__(self, start_s: int) -> None:
        self.synced_until_s = start_s
        self._floor_s = start_s  # nothing before this is (re)fetched: the start, then prunes
        # timestamp_ns, chan_id_in, chan_id_out, amt_in_msat, amt_out_msat, fee_msat
        self._cols = (
            array("q"), array("Q"), array("Q"), array("q"), array("q"), array("q")
        )
        self._lock = threading.Lock()
        self._parked: Path | None = None
        self._parked_rows = 0

    def __len__(self) -> int:
        return self._parked_rows if self._parked is not None else len(self._cols[0])

    def park(self, path: Path) -> None:
        """Write the columns to ``path`` (owner-only, replaced atomically) and free them; the
        next ``sync``, ``columns`` or ``prune`` reads them back and removes the file."""
        with self._lock:
            if self._parked is not None:
                return
            rows = len(self._cols[0])
            tmp = path.with_name(path.name + ".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as fh:
                for col in self._cols:
                    col.tofile(fh)
            os.replace(tmp, path)
            for col in self._cols:
                del col[:]
            self._parked, self._parked_rows = path, rows
        _release_freed_memory()

    def _unpark(self) -> None:
        """Read parked columns back (the caller holds the lock)."""
        path, rows = self._parked, self._parked_rows
        if path is None:
            return
        with open(path, "rb") as fh:
            for col in self._cols:
                col.fromfile(fh, rows)
        path.unlink(missing_ok=True)
        self._parked, self._parked_rows = None, 0

    def sync(self, client, until_s: int) -> int:
        """Fetch the events of ``[synced_until_s, until_s)`` (and those LND wrote late over
        the ``LATE_WRITE_S`` before); returns how many were new.

        ``client`` is an LndClient: its ``forwarding_column_pages`` (decoded from the wire
        into columns, no object per event) is used when it has one, else
        ``forwarding_event_pages``.
        """
        with self._lock:
            self._unpark()
            start = self.synced_until_s
            if until_s <= start:
                return 0
            ts, cin, cout, ain, aout, fee = self._cols
            before = len(ts)
            reread = max(self._floor_s, start - self.LATE_WRITE_S)
            try:
                column_pages = getattr(client, "forwarding_column_pages", None)
                if column_pages is not None:  # numpy columns straight from the wire
                    for page in column_pages(reread, until_s):
                        for col, values in zip(self._cols, page, strict=True):
                            col.frombytes(values.tobytes())
                else:
                    for events in client.forwarding_event_pages(reread, until_s):
                        ts.extend([e.timestamp_ns for e in events])
                        cin.extend([e.chan_id_in for e in events])
                        cout.extend([e.chan_id_out for e in events])
                        ain.extend([e.amt_in_msat for e in events])
                        aout.extend([e.amt_out_msat for e in events])
                        fee.extend([e.fee_msat for e in events])
            except BaseException:
                # Nothing half-written: drop this sync's partial pages, keep the old cursor.
                for col in self._cols:
                    del col[before:]
                raise
            if reread < start:
                self._merge_reread(
                    bisect.bisect_left(ts, reread * NS, 0, before),
                    before,
                    bisect.bisect_left(ts, start * NS, lo=before),
                )
            self.synced_until_s = until_s
            return len(ts) - before

    def _merge_reread(self, held_from: int, fetched_from: int, fresh_from: int) -> None:
        """Rows ``[held_from, fetched_from)`` were held; ``[fetched_from, fresh_from)`` were
        fetched again over that same time (LND's order: by time); later rows are new. Keep
        each re-read event once (as a multiset: two identical forwards in one nanosecond stay
        two), sorted by time; the new rows stay as they are, after them."""
        cols = self._cols
        held_rows = list(zip(*(c[held_from:fetched_from] for c in cols), strict=True))
        reread_rows = list(zip(*(c[fetched_from:fresh_from] for c in cols), strict=True))
        held = Counter(held_rows)
        kept = list(held_rows)
        for row in reread_rows:
            if held[row] > 0:
                held[row] -= 1
            else:
                kept.append(row)
        kept.sort(key=lambda row: row[0])
        for i, col in enumerate(cols):
            fresh = col[fresh_from:]
            del col[held_from:]
            col.extend(row[i] for row in kept)
            col.extend(fresh)

    def columns(self, start_s: int, end_s: int) -> ForwardColumns:
        """Events held with ``start_s <= timestamp < end_s`` as numpy columns (a copy, oldest
        first): what :func:`mcp_optimizer.preprocess.aggregate_windows` takes, without one
        object per event."""
        with self._lock:
            self._unpark()
            ts = self._cols[0]
            lo = bisect.bisect_left(ts, start_s * NS)
            hi = bisect.bisect_left(ts, end_s * NS)
            # frombuffer views the array's memory; the copy releases it at once (an array
            # exporting its buffer cannot grow, and the next sync appends).
            out = {
                name: np.frombuffer(col, dtype=np.uint64 if col.typecode == "Q" else np.int64)[
                    lo:hi
                ].copy()
                for name, col in zip(ForwardColumns.__dataclass_fields__, self._cols, strict=True)
            }
        return ForwardColumns(**out)

    def prune(self, before_s: int) -> int:
        """Forget events older than ``before_s``; returns how many were dropped."""
        with self._lock:
            self._unpark()
            self._floor_s = max(self._floor_s, before_s)
            cut = bisect.bisect_left(self._cols[0], before_s * NS)
            for col in self._cols:
                del col[:cut]
            return cut
