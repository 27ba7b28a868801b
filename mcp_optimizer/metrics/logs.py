"""``mcp_log_messages_total{level}``: log lines written, by level (the dashboard's error rate is
the rate of ERROR and CRITICAL lines). Counted by a loguru sink of its own while the service
runs; every level is shown from the start, at 0."""

from __future__ import annotations

from typing import Any

from loguru import logger
from prometheus_client import CollectorRegistry, Counter

from mcp_optimizer.logs import LEVELS


class LogCounter:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.counter = Counter("mcp_log_messages", "Log lines written, by level.", ["level"],
                               registry=registry)
        for level in LEVELS[1:]:  # INFO and up (DEBUG lines are not counted)
            self.counter.labels(level)
        self._handler: int | None = None

    def _sink(self, message: Any) -> None:
        self.counter.labels(message.record["level"].name).inc()

    def start(self) -> None:
        self._handler = logger.add(self._sink, level="INFO", format="{message}",
                                   catch=True, diagnose=False, backtrace=False)

    def stop(self) -> None:
        if self._handler is not None:
            try:
                logger.remove(self._handler)
            except ValueError:
                pass  # already removed (logging reconfigured)
            self._handler = None
