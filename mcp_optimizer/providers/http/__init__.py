"""The HTTP machinery shared by the external providers (Amboss, mempool).

``ProviderHttpClient`` (timeouts, tenacity retries with jittered backoff under a total time
budget, Retry-After, circuit breaker), the typed errors a call can end in, the settings read
from ``MCP_AMBOSS_*``/``MCP_MEMPOOL_URL``/``MCP_PROVIDER_*`` and the outcome counters.
"""

from .breaker import BreakerState, CircuitBreaker
from .client import Attempt, CallRecord, ProviderHttpClient, parse_retry_after
from .errors import (
    CircuitOpenError,
    ProviderError,
    ProviderNotFound,
    ProviderParseError,
    ProviderRejected,
    ProviderUnavailable,
)
from .metrics import ProviderMetrics
from .settings import (
    Freshness,
    ProviderSettings,
    ProviderSettingsError,
    RetryPolicy,
    load_provider_settings,
)

__all__ = [
    "Attempt",
    "BreakerState",
    "CallRecord",
    "CircuitBreaker",
    "CircuitOpenError",
    "Freshness",
    "ProviderError",
    "ProviderHttpClient",
    "ProviderMetrics",
    "ProviderNotFound",
    "ProviderParseError",
    "ProviderRejected",
    "ProviderSettings",
    "ProviderSettingsError",
    "ProviderUnavailable",
    "RetryPolicy",
    "load_provider_settings",
    "parse_retry_after",
]
