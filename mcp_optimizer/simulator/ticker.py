"""The simulated clock's driver: advances a node by ``speed`` simulated seconds per real second.

Used by ``mcp-optimizer simulate`` and by the service's embedded simulator. If advancing
fails, the clock stops (the node keeps serving what it has) and ``on_error`` is told why.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

TICK_S = 0.25
"""How often the clock is advanced (simulated time moves in small steps)."""


class Ticker:
    def __init__(
        self,
        node,
        speed: float,
        on_error: Callable[[BaseException], None] = lambda exc: None,
    ) -> None:
        self.node = node
        self.speed = speed
        self.on_error = on_error
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sim-ticker", daemon=True)

    def start(self) -> None:
        if self.speed > 0:
            self._thread.start()

    def _run(self) -> None:
        owed = 0.0
        last = time.monotonic()
        while not self._stop.wait(TICK_S):
            now = time.monotonic()
            owed += (now - last) * self.speed
            last = now
            step = int(owed)
            if step <= 0:
                continue
            owed -= step
            try:
                self.node.advance(step)
            except Exception as exc:  # noqa: BLE001 - reported, and the clock stops
                self.error = exc
                self.on_error(exc)
                return

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(10)
