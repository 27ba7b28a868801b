"""The HTTP client every external provider shares: bounded, retried, broken, counted.

One *call* (``ProviderHttpClient.request``) is made of one or more *attempts*:

- each attempt has a connect timeout and a read timeout (httpx), both cut down to the time
  left in the call's total budget, and every socket operation (connect, the headers, the
  body) is cut to the same deadline (:mod:`.bounded`): a server that drips its headers or
  its body a byte at a time cannot hold a call past its budget;
- a body is decoded (gzip, deflate: the only encodings asked for) in a stream and refused as
  soon as the decoded size passes ``max_response_bytes``: a compressed "bomb" never takes more
  memory than the cap;
- a transient failure (connection refused or reset, timeout, truncated body, HTTP 408, 429,
  5xx except 501/505) is retried through tenacity with exponential backoff and full jitter,
  until ``max_attempts`` attempts or the total budget is used up, whichever comes first: no
  wait ever crosses the deadline;
- a 429 or 503 with ``Retry-After`` (seconds or an HTTP date) is retried after exactly that
  wait, unless the wait would cross the deadline, in which case the call gives up at once;
- any other 4xx is final and never retried (404 -> :class:`ProviderNotFound`, others ->
  :class:`ProviderRejected`); a body that ``parse`` refuses is a :class:`ProviderParseError`;
- the provider's :class:`CircuitBreaker` is asked first; while it is open the call fails at
  once, and the half-open probe is a single attempt;
- every call and attempt is counted in :class:`ProviderMetrics` and recorded in
  ``client.calls`` (the last 64, monotonic times) for diagnostics and tests.
"""

from __future__ import annotations

import collections
import email.utils
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import tenacity

from .bounded import (
    ACCEPT_ENCODING,
    BodyDecoder,
    UnsupportedEncoding,
    call_deadline,
    deadline_transport,
)
from .breaker import BreakerState, CircuitBreaker
from .errors import (
    CircuitOpenError,
    ProviderError,
    ProviderNotFound,
    ProviderParseError,
    ProviderRejected,
    ProviderUnavailable,
)
from .metrics import ProviderMetrics
from .settings import RetryPolicy

T = TypeVar("T")

USER_AGENT = "mcp-lightning-optimizer/0.1 (+fee autopilot)"
MIN_ATTEMPT_S = 0.02
"""An attempt is not started with less time than this left in the budget."""
_NOT_RETRIED_5XX = (501, 505)


@dataclass(frozen=True)
class Attempt:
    """One HTTP attempt of a call (monotonic clock seconds)."""

    started_at: float
    ended_at: float
    outcome: str
    """``ok``, ``http_<status>``, ``connect``, ``timeout`` or ``protocol``."""
    status: int
    """The HTTP status, 0 when no response arrived."""
    retry_after_s: float
    """The server's Retry-After in seconds, -1 when it sent none."""


@dataclass(frozen=True)
class CallRecord:
    """One call: its attempts and how it ended (monotonic clock seconds)."""

    provider: str
    started_at: float
    ended_at: float
    deadline: float
    probe: bool
    outcome: str
    attempts: tuple[Attempt, ...]
    sleeps_s: tuple[float, ...]


class _Transient(Exception):
    """A failure worth retrying (internal)."""

    def __init__(self, reason: str, detail: str, retry_after_s: float = -1.0) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.retry_after_s = retry_after_s


def parse_retry_after(value: str | None, now_unix_s: float) -> float:
    """Seconds to wait from a Retry-After header (delta seconds or HTTP date); -1 if unusable."""
    if not value:
        return -1.0
    text = value.strip()
    if text.isdigit():
        return float(int(text))
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return -1.0
    if when is None or when.tzinfo is None:
        return -1.0
    return max(0.0, when.timestamp() - now_unix_s)


def _short_text(raw: bytes, limit: int = 160) -> str:
    text = raw.decode("utf-8", "replace")
    text = " ".join(text.split())
    text = "".join(ch for ch in text if ch.isprintable())
    return text[:limit] + ("..." if len(text) > limit else "")


class ProviderHttpClient:
    """A provider's HTTP client. Thread-safe; one per provider (it owns the breaker)."""

    def __init__(
        self,
        provider: str,
        base_url: str,
        policy: RetryPolicy,
        *,
        metrics: ProviderMetrics,
        headers: Mapping[str, str] | None = None,
        breaker: CircuitBreaker | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        wall_clock: Callable[[], float] = time.time,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.provider = provider
        self.base_url = base_url.rstrip("/")
        self.policy = policy
        self.metrics = metrics
        self.breaker = breaker or CircuitBreaker(
            provider,
            failure_threshold=policy.breaker_failures,
            cooldown_s=policy.breaker_cooldown_s,
            clock=clock,
        )
        self._clock = clock
        self._sleep = sleep
        self._wall_clock = wall_clock
        self.calls: collections.deque[CallRecord] = collections.deque(maxlen=64)
        self._http = httpx.Client(
            headers={"User-Agent": USER_AGENT, "Accept": "application/json",
                     "Accept-Encoding": ACCEPT_ENCODING, **(headers or {})},
            follow_redirects=False,
            transport=transport if transport is not None else deadline_transport(),
        )
        self.metrics.circuit_open.labels(provider=provider).set(0)

    # -- public ---------------------------------------------------------------------------

    @property
    def last_call(self) -> CallRecord:
        if not self.calls:
            raise LookupError(f"{self.provider}: no call made yet")
        return self.calls[-1]

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ProviderHttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        parse: Callable[[bytes], T],
        json_body: Any = None,
        params: Mapping[str, str] | None = None,
    ) -> T:
        """Make one call and return ``parse(body)``; raise a :class:`ProviderError` otherwise.

        ``parse`` turns the body of a 2xx answer into a typed result and raises
        :class:`ProviderParseError` when it cannot, or another :class:`ProviderError` for a
        refusal carried in a 2xx (a GraphQL error). Any other exception it raises is reported
        as a parse error: a provider's answer never crashes the caller.
        """
        start = self._clock()
        deadline = start + self.policy.total_budget_s
        attempts: list[Attempt] = []
        sleeps: list[float] = []
        probe = False
        outcome = "unavailable"
        try:
            try:
                probe = self.breaker.acquire()
            except CircuitOpenError:
                outcome = "circuit_open"
                raise
            max_attempts = 1 if probe else self.policy.max_attempts
            try:
                body = self._with_retries(
                    method, path, json_body, params, deadline, max_attempts, attempts, sleeps
                )
            except ProviderRejected as exc:
                outcome = exc.kind
                self.breaker.record_success()
                raise
            except ProviderParseError:
                outcome = "parse_error"
                self.breaker.record_success()
                raise
            except ProviderUnavailable:
                self.breaker.record_failure()
                raise
            except Exception as exc:  # a bug or an httpx error not classified above
                self.breaker.record_failure()
                raise ProviderUnavailable(
                    self.provider, f"unexpected {type(exc).__name__}: {exc}", len(attempts)
                ) from exc
            self.breaker.record_success()
            try:
                result = parse(body)
            except ProviderError as exc:  # parse may also find a refusal inside a 200
                outcome = exc.kind
                raise
            except Exception as exc:
                outcome = "parse_error"
                raise ProviderParseError(
                    self.provider, "$", f"{type(exc).__name__}: {exc}"
                ) from exc
            outcome = "success"
            return result
        finally:
            end = self._clock()
            self.calls.append(
                CallRecord(
                    provider=self.provider,
                    started_at=start,
                    ended_at=end,
                    deadline=deadline,
                    probe=probe,
                    outcome=outcome,
                    attempts=tuple(attempts),
                    sleeps_s=tuple(sleeps),
                )
            )
            self.metrics.calls.labels(provider=self.provider, outcome=outcome).inc()
            self.metrics.call_seconds.labels(provider=self.provider).observe(end - start)
            self.metrics.circuit_open.labels(provider=self.provider).set(
                1 if self.breaker.state is BreakerState.OPEN else 0
            )

    # -- retries --------------------------------------------------------------------------

    def _with_retries(
        self,
        method: str,
        path: str,
        json_body: Any,
        params: Mapping[str, str] | None,
        deadline: float,
        max_attempts: int,
        attempts: list[Attempt],
        sleeps: list[float],
    ) -> bytes:
        give_up: list[str] = []
        backoff = tenacity.wait_random_exponential(
            multiplier=self.policy.backoff_initial_s, max=self.policy.backoff_max_s
        )

        def wait(state: tenacity.RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            if isinstance(exc, _Transient) and exc.retry_after_s >= 0:
                return exc.retry_after_s  # honoured as sent; ``stop`` checks it fits the budget
            # full jitter: uniform in [0, min(max, initial * 2 ** (attempt - 1))]
            return backoff(state)

        def stop(state: tenacity.RetryCallState) -> bool:
            if state.attempt_number >= max_attempts:
                give_up.append(f"after {state.attempt_number} attempt(s)")
                return True
            left = deadline - self._clock()
            upcoming = state.upcoming_sleep
            if upcoming + MIN_ATTEMPT_S > left:
                exc = state.outcome.exception() if state.outcome else None
                if isinstance(exc, _Transient) and exc.retry_after_s >= 0:
                    give_up.append(
                        f"Retry-After {exc.retry_after_s:.1f} s exceeds the {max(left, 0):.2f} s "
                        "left in the time budget"
                    )
                else:
                    give_up.append(
                        f"time budget of {self.policy.total_budget_s:g} s used up "
                        f"after {state.attempt_number} attempt(s)"
                    )
                return True
            return False

        def before_sleep(state: tenacity.RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            reason = exc.reason if isinstance(exc, _Transient) else "other"
            self.metrics.retries.labels(provider=self.provider, reason=reason).inc()
            sleeps.append(state.upcoming_sleep)

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(_Transient),
            wait=wait,
            stop=stop,
            sleep=self._sleep,
            before_sleep=before_sleep,
            reraise=True,
        )
        body = b""
        try:
            for attempt in retrying:
                with attempt:
                    body = self._attempt(method, path, json_body, params, deadline, attempts)
        except _Transient as exc:
            why = give_up[-1] if give_up else "gave up"
            raise ProviderUnavailable(
                self.provider, f"{exc.detail} ({why})", attempts=len(attempts)
            ) from None
        return body

    # -- one attempt ----------------------------------------------------------------------

    def _attempt(
        self,
        method: str,
        path: str,
        json_body: Any,
        params: Mapping[str, str] | None,
        deadline: float,
        attempts: list[Attempt],
    ) -> bytes:
        started = self._clock()
        left = deadline - started
        outcome, status, retry_after = "ok", 0, -1.0
        try:
            if left < MIN_ATTEMPT_S:
                outcome = "timeout"
                raise _Transient("timeout", "no time left in the budget for another attempt")
            timeout = httpx.Timeout(
                connect=min(self.policy.connect_timeout_s, left),
                read=min(self.policy.read_timeout_s, left),
                write=min(self.policy.read_timeout_s, left),
                pool=min(self.policy.connect_timeout_s, left),
            )
            real_deadline = time.monotonic() + left  # sockets run on the real clock
            with call_deadline(real_deadline), self._http.stream(
                method,
                self.base_url + path,
                json=json_body,
                params=params,
                timeout=timeout,
            ) as resp:
                status = resp.status_code
                if status != 200:
                    outcome = f"http_{status}"
                if status in (408, 429) or (status >= 500 and status not in _NOT_RETRIED_5XX):
                    if status in (429, 503):
                        retry_after = parse_retry_after(
                            resp.headers.get("Retry-After"), self._wall_clock()
                        )
                    reason = "http_429" if status == 429 else (
                        "http_408" if status == 408 else "http_5xx"
                    )
                    raise _Transient(reason, f"HTTP {status}", retry_after)
                if not 200 <= status < 300:
                    snippet = _short_text(self._read_body(resp, deadline, 512, strict=False))
                    text = f"HTTP {status}" + (f": {snippet}" if snippet else "")
                    if status == 404:
                        raise ProviderNotFound(self.provider, text, status)
                    if status in (401, 403):
                        text += " (is the API key right?)"
                    raise ProviderRejected(self.provider, text, status)
                return self._read_body(
                    resp, deadline, self.policy.max_response_bytes, strict=True
                )
        except httpx.ConnectTimeout:
            outcome = "connect"
            raise _Transient("connect", "connect timed out") from None
        except httpx.ConnectError as exc:
            outcome = "connect"
            detail = _short_text(str(exc).encode())
            raise _Transient("connect", f"cannot connect ({detail})") from None
        except httpx.TimeoutException:
            outcome = "timeout"
            raise _Transient("timeout", "timed out waiting for the response") from None
        except (httpx.RemoteProtocolError, httpx.NetworkError) as exc:
            outcome = "protocol"
            raise _Transient(
                "protocol", f"connection broken ({_short_text(str(exc).encode())})"
            ) from None
        except _Transient as exc:
            if exc.reason == "timeout" and outcome == "ok":
                outcome = "timeout"
            raise
        finally:
            ended = self._clock()
            attempts.append(Attempt(started, ended, outcome, status, retry_after))
            self.metrics.attempt_seconds.labels(provider=self.provider).observe(ended - started)

    def _read_body(
        self, resp: httpx.Response, deadline: float, limit: int, *, strict: bool
    ) -> bytes:
        """Read at most ``limit`` bytes before ``deadline``; over the limit, refuse (strict)
        or cut (for error snippets)."""
        declared = resp.headers.get("Content-Length", "")
        if strict and declared.isdigit() and int(declared) > limit:
            raise ProviderParseError(
                self.provider, "$", f"response of {int(declared)} bytes exceeds {limit} bytes"
            )
        try:
            decoder = BodyDecoder(resp.headers.get("Content-Encoding", ""))
        except UnsupportedEncoding as exc:
            raise ProviderParseError(self.provider, "$", str(exc)) from None
        chunks: list[bytes] = []
        size = 0
        for raw in resp.iter_raw():  # decoded here, bounded: never httpx's unbounded decode
            try:
                chunk = decoder.feed(raw, limit - size)
            except zlib.error as exc:
                raise ProviderParseError(
                    self.provider, "$", f"corrupt compressed response ({exc})") from None
            size += len(chunk)
            chunks.append(chunk)
            if size > limit:
                if strict:
                    raise ProviderParseError(
                        self.provider, "$", f"response exceeds {limit} bytes (decoded)")
                break
            if self._clock() > deadline:
                raise _Transient("timeout", "response still arriving when the time budget ran out")
        return b"".join(chunks)[:limit]
