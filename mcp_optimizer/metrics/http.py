"""The HTTP server's own series: requests by route and status, and their latency.

Routes are labelled by their template (``/api/v1/channels/{chan_id}``, never the raw path),
and a request no route matched is labelled ``unmatched``: the label values stay bounded.
"""

from __future__ import annotations

import threading
import weakref

from prometheus_client import CollectorRegistry, Counter, Histogram

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class HttpMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "mcp_http_requests",
            "HTTP requests answered, by route template, method and status code.",
            ["route", "method", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "mcp_http_request_duration_seconds",
            "Time from a request's arrival to the end of its response, by route template.",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.server_restarts = Counter(
            "mcp_http_server_restarts",
            "Times the HTTP server crashed and was started again (the actors went on).",
            registry=registry,
        )


_BY_REGISTRY: weakref.WeakKeyDictionary[CollectorRegistry, HttpMetrics] = (
    weakref.WeakKeyDictionary()
)
_LOCK = threading.Lock()


def http_metrics(registry: CollectorRegistry) -> HttpMetrics:
    """The HTTP series of ``registry``, registered on first use (once per registry)."""
    with _LOCK:
        found = _BY_REGISTRY.get(registry)
        if found is None:
            found = _BY_REGISTRY[registry] = HttpMetrics(registry)
        return found
