"""HTLC failures seen on the node's event stream, kept for preprocessing (LND keeps no list)."""

from __future__ import annotations

import threading
from collections import deque

from mcp_optimizer.messages import HtlcEvent, HtlcEventKind

NS = 1_000_000_000
FAILURE_KINDS = (HtlcEventKind.FORWARD_FAIL, HtlcEventKind.LINK_FAIL)


class FailureLog:
    """A bounded, thread-safe log of failed forwards (oldest dropped past ``max_events``)."""

    def __init__(self, max_events: int = 200_000) -> None:
        self._lock = threading.Lock()
        self._events: deque[HtlcEvent] = deque(maxlen=max_events)

    def add(self, event: HtlcEvent) -> bool:
        """Keep ``event`` if it is a failure; True when kept."""
        if event.kind not in FAILURE_KINDS:
            return False
        with self._lock:
            self._events.append(event)
        return True

    def between(self, start_s: int, end_s: int) -> list[HtlcEvent]:
        lo, hi = start_s * NS, end_s * NS
        with self._lock:
            return [e for e in self._events if lo <= e.timestamp_ns < hi]

    def __len__(self) -> int:
        with self._lock:
            return len(self._events)
