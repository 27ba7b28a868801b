"""The service's registry: one ``CollectorRegistry`` holding every series the service exports.

Built once by ``runtime/run.open_service``; the providers' counters (``ProviderMetrics``), the
HTTP server's series and the collectors that read the journal and the supervisor at each
scrape all join it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
)

from .journal import JournalCollector
from .logs import LogCounter
from .runtime import CycleTimings, SupervisorCollector

disable_created_metrics()  # no ``*_created`` twin per counter: a third of a scrape, unused


def service_registry() -> CollectorRegistry:
    """A fresh registry with the process series (``process_start_time_seconds``,
    ``process_resident_memory_bytes``, CPU, open files) and the Python platform's."""
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    return registry


def watch_service(
    registry: CollectorRegistry,
    journal_path: Path,
    supervisor: Any,
    pause_state: Callable[[], Any],
) -> tuple[CycleTimings, Callable[[], None]]:
    """Register the collectors of a service's journal, supervisor, kill switch and log lines
    in ``registry``; returns the cycle runner's observer and what stops them."""
    journal = JournalCollector(journal_path)
    registry.register(journal)
    # the first count reads the whole journal (seconds at 100,000 changes): done now, in the
    # background, so that the first scrape only reads what was added since
    threading.Thread(target=journal.warm, name="metrics-warm", daemon=True).start()
    registry.register(SupervisorCollector(supervisor, pause_state))
    lines = LogCounter(registry)
    lines.start()

    def close() -> None:
        lines.stop()
        journal.close()

    return CycleTimings(registry), close
