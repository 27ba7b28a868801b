"""What the page draws over time that the journal does not keep: the node's forwards per day
(read from its forwarding history, cached a few minutes); each channel's balance at each cycle
is in ``balances.py``."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

DAY_S = 86400
WINDOWS = (("24h", DAY_S), ("7d", 7 * DAY_S), ("30d", 30 * DAY_S))
CACHE_S = 300.0
"""A forwarding history read is reused this long (wall seconds)."""


@dataclass
class ForwardSummary:
    read_at_s: int
    windows: dict[str, tuple[int, int, int]]
    """window -> (forwards, fees msat, amount out msat)."""
    per_channel_day: dict[int, dict[int, list[int]]]
    """chan_id -> day start -> [forwards out, fees msat, amount out msat, forwards in]."""
    note: str


def summarize(events: Iterable[Any], now_s: int) -> ForwardSummary:
    """Aggregate forwarding events (``timestamp_ns``, ``chan_id_in/out``, ``amt_out_msat``,
    ``fee_msat``) over the windows ending at ``now_s`` and per channel and day."""
    bounds = [(name, now_s - length) for name, length in WINDOWS]
    totals = {name: [0, 0, 0] for name, _ in WINDOWS}
    per: dict[int, dict[int, list[int]]] = {}
    for ev in events:
        t = ev.timestamp_ns // 1_000_000_000
        for name, since in bounds:
            if t >= since:
                w = totals[name]
                w[0] += 1
                w[1] += ev.fee_msat
                w[2] += ev.amt_out_msat
        day = t - t % DAY_S
        out = per.setdefault(ev.chan_id_out, {}).setdefault(day, [0, 0, 0, 0])
        out[0] += 1
        out[1] += ev.fee_msat
        out[2] += ev.amt_out_msat
        per.setdefault(ev.chan_id_in, {}).setdefault(day, [0, 0, 0, 0])[3] += 1
    return ForwardSummary(
        read_at_s=now_s, windows={k: (v[0], v[1], v[2]) for k, v in totals.items()},
        per_channel_day=per, note="from the node's forwarding history",
    )


class ForwardHistory:
    """The node's last 30 days of forwards, summarized and cached."""

    def __init__(self, pages: Callable[[int, int], Iterator[list[Any]]] | None,
                 now: Callable[[], int], wall: Callable[[], float] = time.monotonic) -> None:
        self.pages = pages
        self.now = now
        self.wall = wall
        self._lock = threading.Lock()
        self._cached: tuple[float, ForwardSummary] | None = None

    def get(self) -> ForwardSummary:
        """Blocking (reads the node): call it in a worker thread."""
        with self._lock:
            if self._cached is not None and self.wall() - self._cached[0] < CACHE_S:
                return self._cached[1]
            now = int(self.now())
            if self.pages is None:
                summary = ForwardSummary(now, {}, {}, "revenue unknown: no node connection")
            else:
                try:
                    events = (e for page in self.pages(now - WINDOWS[-1][1], now + 1)
                              for e in page)
                    summary = summarize(events, now)
                except Exception as exc:  # noqa: BLE001 - the node may be down: say so
                    summary = ForwardSummary(
                        now, {}, {}, f"revenue unknown: the node's forwarding history could not "
                        f"be read ({type(exc).__name__}: {str(exc)[:200]})")
                    self._cached = (self.wall() - CACHE_S + 30, summary)  # retry in 30 s
                    return summary
            self._cached = (self.wall(), summary)
            return summary


