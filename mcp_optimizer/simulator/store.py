"""An append-only store of forward columns, readable by time window without copying.

Rows are appended in time order into buffers that grow geometrically; a read returns slices
(numpy views) of the current buffers. Appending never changes a row already written, and a
growth allocates new buffers, so a view handed out earlier stays valid and unchanged.
"""

from __future__ import annotations

import numpy as np

from .model import ForwardColumns

FIELDS = ("timestamp_ns", "chan_id_in", "chan_id_out", "amt_in_msat", "amt_out_msat", "fee_msat")


class ColumnStore:
    def __init__(self) -> None:
        self._cols = [np.zeros(0, dtype=np.int64) for _ in FIELDS]
        self._len = 0

    def __len__(self) -> int:
        return self._len

    def append(self, cols: ForwardColumns) -> None:
        n = len(cols)
        if n == 0:
            return
        new_ts = cols.timestamp_ns
        if self._len and int(new_ts[0]) < int(self._cols[0][self._len - 1]):
            raise ValueError("forwards must be appended in time order")
        need = self._len + n
        if need > self._cols[0].shape[0]:
            size = max(need, int(self._cols[0].shape[0] * 1.5) + 1024)
            grown = []
            for old in self._cols:
                buf = np.empty(size, dtype=np.int64)
                buf[: self._len] = old[: self._len]
                grown.append(buf)
            self._cols = grown
        for buf, name in zip(self._cols, FIELDS, strict=True):
            buf[self._len : need] = getattr(cols, name)
        self._len = need

    def window(self, start_s: int, end_s: int) -> ForwardColumns:
        """Rows with ``start_s <= timestamp < end_s`` (seconds), as views."""
        ts = self._cols[0][: self._len]
        lo = int(np.searchsorted(ts, int(start_s) * 1_000_000_000, side="left"))
        hi = int(np.searchsorted(ts, int(end_s) * 1_000_000_000, side="left"))
        hi = max(lo, hi)
        return ForwardColumns(*(c[lo:hi] for c in self._cols))
