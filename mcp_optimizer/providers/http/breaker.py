"""A circuit breaker per provider: stop calling one that is down, probe it again later.

States: *closed* (calls go through; consecutive failed calls are counted), *open* (calls fail
at once with :class:`CircuitOpenError` until the cool-down has passed), *half-open* (one probe
call is let through; its success closes the circuit, its failure opens it for another
cool-down). Only unavailability counts as a failure (network errors, timeouts, 5xx, 429 after
retries): a 4xx or a malformed answer shows the provider is up.
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable

from .errors import CircuitOpenError


class BreakerState(enum.Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Thread-safe breaker. ``clock`` is a monotonic clock in seconds (injectable for tests)."""

    def __init__(
        self,
        provider: str,
        *,
        failure_threshold: int,
        cooldown_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1 or cooldown_s <= 0:
            raise ValueError("failure_threshold must be >= 1 and cooldown_s > 0")
        self.provider = provider
        self.failure_threshold = failure_threshold
        self.cooldown_s = cooldown_s
        self._clock = clock
        self._lock = threading.Lock()
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probe_in_flight = False

    @property
    def state(self) -> BreakerState:
        with self._lock:
            self._refresh()
            return self._state

    def _refresh(self) -> None:
        if (
            self._state is BreakerState.OPEN
            and self._clock() - self._opened_at >= self.cooldown_s
        ):
            self._state = BreakerState.HALF_OPEN
            self._probe_in_flight = False

    def acquire(self) -> bool:
        """Ask to make a call. Returns True when the call is the half-open probe.

        Raises :class:`CircuitOpenError` when the circuit is open (or a probe is already out).
        """
        with self._lock:
            self._refresh()
            if self._state is BreakerState.CLOSED:
                return False
            if self._state is BreakerState.HALF_OPEN and not self._probe_in_flight:
                self._probe_in_flight = True
                return True
            remaining = max(0.0, self.cooldown_s - (self._clock() - self._opened_at))
            raise CircuitOpenError(self.provider, remaining)

    def record_success(self) -> None:
        with self._lock:
            self._state = BreakerState.CLOSED
            self._failures = 0
            self._probe_in_flight = False

    def record_failure(self) -> None:
        with self._lock:
            self._failures += 1
            if self._state is BreakerState.HALF_OPEN or self._failures >= self.failure_threshold:
                self._state = BreakerState.OPEN
                self._opened_at = self._clock()
                self._probe_in_flight = False
