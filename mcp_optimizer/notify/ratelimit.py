"""At most ``max_per_hour`` messages in any hour; what is left out is counted in the next one.

Pure (the clock is given): a flapping peer that makes an event every minute sends
``max_per_hour`` messages that hour, and the next message says how many were left out and of
which events. When none follows, :meth:`RateLimiter.summary` gives a message of its own once
the hour has room again (the notifier asks for it while idle).
"""

from __future__ import annotations

import dataclasses
from collections import Counter, deque
from collections.abc import Callable

from .events import EventKind, Notice

WINDOW_S = 3600.0


class RateLimiter:
    def __init__(self, max_per_hour: int, clock: Callable[[], float]) -> None:
        if max_per_hour < 1:
            raise ValueError("max_per_hour must be 1 or more")
        self.max_per_hour = max_per_hour
        self.clock = clock
        self._sent: deque[float] = deque()
        self.suppressed: Counter[EventKind] = Counter()
        """Left out since the last message that went, by event."""

    def _room(self) -> bool:
        now = self.clock()
        while self._sent and self._sent[0] <= now - WINDOW_S:
            self._sent.popleft()
        return len(self._sent) < self.max_per_hour

    def admit(self, notice: Notice) -> Notice | None:
        """``notice`` (with the count of those left out before it) when the hour has room,
        else None (counted)."""
        if not self._room():
            self.suppressed[notice.kind] += 1
            return None
        self._sent.append(self.clock())
        note = self._suppressed_text()
        if not note:
            return notice
        self.suppressed.clear()
        return dataclasses.replace(notice, body=f"{notice.body}\n\n{note}")

    def summary(self) -> Notice | None:
        """A message counting those left out, when there are some and the hour has room."""
        if not self.suppressed or not self._room():
            return None
        self._sent.append(self.clock())
        note = self._suppressed_text()
        self.suppressed.clear()
        return Notice(kind=EventKind.DIGEST, title="Notifications left out", body=note)

    def _suppressed_text(self) -> str:
        if not self.suppressed:
            return ""
        total = sum(self.suppressed.values())
        kinds = ", ".join(f"{k.value} {n}" for k, n in sorted(
            self.suppressed.items(), key=lambda kv: kv[0].value))
        return (f"{total} notification(s) left out by the limit of {self.max_per_hour} an "
                f"hour (MCP_NOTIFY_MAX_PER_HOUR): {kinds}. The journal has them all.")
