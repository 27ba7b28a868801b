"""The notifier's series in the service's registry (GET /metrics):

- ``mcp_notifications_sent_total{event}``: messages a URL took (one per URL).
- ``mcp_notifications_failed_total{event}``: messages a URL did not take after every retry
  (each also a WARNING line naming the URL without its secret).
- ``mcp_notifications_suppressed_total{event}``: left out by ``MCP_NOTIFY_MAX_PER_HOUR``
  (counted in the next message sent).
- ``mcp_notifications_dropped_total{event}``: not queued because the notifier's queue was full
  (an endpoint slower than the events; each also a WARNING line).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

from .events import EventKind


class NotifyMetrics:
    def __init__(self, registry: CollectorRegistry | None) -> None:
        kw = {"registry": registry} if registry is not None else {"registry": None}
        self._sent = Counter("mcp_notifications_sent", "Notifications a URL took.",
                             ["event"], **kw)
        self._failed = Counter(
            "mcp_notifications_failed", "Notifications a URL did not take after every retry.",
            ["event"], **kw)
        self._suppressed = Counter(
            "mcp_notifications_suppressed",
            "Notifications left out by the hourly limit (counted in the next one sent).",
            ["event"], **kw)
        self._dropped = Counter(
            "mcp_notifications_dropped", "Notifications not queued: the notifier's queue was full.",
            ["event"], **kw)
        for kind in EventKind:
            for c in (self._sent, self._failed, self._suppressed, self._dropped):
                c.labels(kind.value)

    def sent(self, kind: EventKind) -> None:
        self._sent.labels(kind.value).inc()

    def failed(self, kind: EventKind) -> None:
        self._failed.labels(kind.value).inc()

    def suppressed(self, kind: EventKind) -> None:
        self._suppressed.labels(kind.value).inc()

    def dropped(self, kind: EventKind) -> None:
        self._dropped.labels(kind.value).inc()
