"""What a provider call can end in, besides a parsed result.

Every error carries the provider's name and one sentence an operator can read. The fallback
chains catch :class:`ProviderError` and move on to the next source; nothing here is fatal.
"""

from __future__ import annotations


class ProviderError(Exception):
    """A provider call that produced no usable result."""

    kind = "error"

    def __init__(self, provider: str, reason: str) -> None:
        super().__init__(f"{provider}: {reason}")
        self.provider = provider
        self.reason = reason


class ProviderUnavailable(ProviderError):
    """The provider could not be reached or kept failing (network, timeouts, 5xx, 429)."""

    kind = "unavailable"

    def __init__(self, provider: str, reason: str, attempts: int) -> None:
        super().__init__(provider, reason)
        self.attempts = attempts


class CircuitOpenError(ProviderUnavailable):
    """The provider's circuit is open: the call was not even tried."""

    kind = "circuit_open"

    def __init__(self, provider: str, retry_in_s: float) -> None:
        super().__init__(
            provider,
            f"circuit open after repeated failures; next probe in {retry_in_s:.1f} s",
            attempts=0,
        )
        self.retry_in_s = retry_in_s


class ProviderRejected(ProviderError):
    """The provider answered with a refusal that retrying cannot fix (a 4xx, a GraphQL error)."""

    kind = "rejected"

    def __init__(self, provider: str, reason: str, status: int) -> None:
        super().__init__(provider, reason)
        self.status = status


class ProviderNotFound(ProviderRejected):
    """The provider does not know the thing asked about (HTTP 404, GraphQL null)."""

    kind = "not_found"


class ProviderParseError(ProviderError):
    """The provider answered, but the answer does not have the expected shape.

    ``field`` is the JSON path of the offending field (``$.latest.avg_fee_rate``), or ``$``
    when the body is not JSON at all (truncated, malformed).
    """

    kind = "parse_error"

    def __init__(self, provider: str, field: str, detail: str) -> None:
        super().__init__(provider, f"unexpected response at {field}: {detail}")
        self.field = field
        self.detail = detail
