"""Test-only fault hook: make a named actor crash on purpose while it handles a message.

Production code never arms it; tests do (``FAULTS.arm("decider")``), then disarm. An armed
fault raises :class:`InjectedFault` inside the actor's handler, exactly where a real bug
would, so the whole crash path (typed failure reply, restart, counters, logs) is exercised.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass


class InjectedFault(RuntimeError):
    """The exception an armed fault raises."""


@dataclass
class _Armed:
    remaining: int
    request: str


class FaultHook:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._armed: dict[str, _Armed] = {}
        self.fired: list[tuple[str, str]] = []

    def arm(self, actor: str, *, times: int = 1, request: str = "") -> None:
        """Crash ``actor`` on its next ``times`` messages (only of type ``request`` if given)."""
        with self._lock:
            self._armed[actor] = _Armed(times, request)

    def disarm(self) -> None:
        with self._lock:
            self._armed.clear()
            self.fired.clear()

    def check(self, actor: str, message: object) -> None:
        kind = type(message).__name__
        with self._lock:
            armed = self._armed.get(actor)
            if armed is None or (armed.request and armed.request != kind):
                return
            armed.remaining -= 1
            if armed.remaining <= 0:
                del self._armed[actor]
            self.fired.append((actor, kind))
        raise InjectedFault(f"fault injected into {actor} while handling {kind}")


FAULTS = FaultHook()
