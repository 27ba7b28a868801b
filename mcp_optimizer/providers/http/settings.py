"""Provider settings, read from documented environment variables and validated at load.

Every variable is optional; its default is what an operator gets when it is unset. A value that
cannot be used is refused with a :class:`ProviderSettingsError` naming the variable, the value
and what was expected. An ``MCP_PROVIDER_*`` variable this module does not know is refused too
(a typo must not silently leave a default in force).

| variable | default | meaning |
| --- | --- | --- |
| ``MCP_AMBOSS_API_KEY`` | unset | Amboss API key; Amboss is used only when it is set |
| ``MCP_AMBOSS_URL`` | ``https://api.amboss.space/graphql`` | Amboss GraphQL endpoint |
| ``MCP_MEMPOOL_URL`` | mempool.space | mempool base URL (Umbrel: ``http://umbrel.local:3006``) |
|  |  | or ``off``: mempool is not used |
| ``MCP_PROVIDER_CONNECT_TIMEOUT_S`` | 5 | TCP/TLS connect timeout per attempt |
| ``MCP_PROVIDER_READ_TIMEOUT_S`` | 10 | longest wait for any read of a response |
| ``MCP_PROVIDER_MAX_ATTEMPTS`` | 4 | attempts per call, the first included |
| ``MCP_PROVIDER_TOTAL_BUDGET_S`` | 20 | wall time one call may take, retries and waits included |
| ``MCP_PROVIDER_BACKOFF_INITIAL_S`` | 0.5 | first backoff ceiling (full jitter, doubling) |
| ``MCP_PROVIDER_BACKOFF_MAX_S`` | 8 | largest backoff ceiling |
| ``MCP_PROVIDER_BREAKER_FAILURES`` | 3 | consecutive failed calls that open a provider's circuit |
| ``MCP_PROVIDER_BREAKER_COOLDOWN_S`` | 300 | time an open circuit waits before one probe call |
| ``MCP_PROVIDER_MAX_RESPONSE_BYTES`` | 4194304 | larger responses are refused |
| ``MCP_PROVIDER_CENTRALITY_MAX_AGE_S`` | 172800 | older centrality is treated as unknown |
| ``MCP_PROVIDER_UPTIME_MAX_AGE_S`` | 86400 | older uptime is treated as unknown |
| ``MCP_PROVIDER_NODE_MAX_AGE_S`` | 86400 | older node records / ranks are treated as unknown |
| ``MCP_PROVIDER_STATS_MAX_AGE_S`` | 172800 | older network statistics are treated as unknown |
| ``MCP_PROVIDER_REUSE_S`` | 1800 | reuse a remote answer this long before asking again (0: never) |
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

DEFAULT_AMBOSS_URL = "https://api.amboss.space/graphql"
DEFAULT_MEMPOOL_URL = "https://mempool.space"


class ProviderSettingsError(ValueError):
    """A provider setting that cannot be used; the message names the variable."""


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """How one provider call is bounded: timeouts, attempts, total time, backoff, breaker."""

    connect_timeout_s: float = 5.0
    read_timeout_s: float = 10.0
    max_attempts: int = 4
    total_budget_s: float = 20.0
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 8.0
    breaker_failures: int = 3
    breaker_cooldown_s: float = 300.0
    max_response_bytes: int = 4 * 1024 * 1024


@dataclass(frozen=True, kw_only=True)
class Freshness:
    """The oldest data (seconds) each fact may come from before it counts as unknown."""

    centrality_max_age_s: int = 2 * 86400
    uptime_max_age_s: int = 86400
    node_max_age_s: int = 86400
    stats_max_age_s: int = 2 * 86400
    reuse_s: int = 1800
    """How long a remote provider's answer is reused before it is asked again (0: never)."""


@dataclass(frozen=True, kw_only=True)
class ProviderSettings:
    """Everything the external providers need, validated."""

    amboss_api_key: str = ""
    """Empty: Amboss is not used."""
    amboss_url: str = DEFAULT_AMBOSS_URL
    mempool_url: str = DEFAULT_MEMPOOL_URL
    """Empty: mempool is not used (``MCP_MEMPOOL_URL=off``)."""
    retry: RetryPolicy = RetryPolicy()
    freshness: Freshness = Freshness()

    @property
    def amboss_enabled(self) -> bool:
        return bool(self.amboss_api_key)

    @property
    def mempool_enabled(self) -> bool:
        return bool(self.mempool_url)


_FLOAT_VARS = {
    "MCP_PROVIDER_CONNECT_TIMEOUT_S": ("retry", "connect_timeout_s"),
    "MCP_PROVIDER_READ_TIMEOUT_S": ("retry", "read_timeout_s"),
    "MCP_PROVIDER_TOTAL_BUDGET_S": ("retry", "total_budget_s"),
    "MCP_PROVIDER_BACKOFF_INITIAL_S": ("retry", "backoff_initial_s"),
    "MCP_PROVIDER_BACKOFF_MAX_S": ("retry", "backoff_max_s"),
    "MCP_PROVIDER_BREAKER_COOLDOWN_S": ("retry", "breaker_cooldown_s"),
}
_INT_VARS = {
    "MCP_PROVIDER_MAX_ATTEMPTS": ("retry", "max_attempts"),
    "MCP_PROVIDER_BREAKER_FAILURES": ("retry", "breaker_failures"),
    "MCP_PROVIDER_MAX_RESPONSE_BYTES": ("retry", "max_response_bytes"),
    "MCP_PROVIDER_CENTRALITY_MAX_AGE_S": ("freshness", "centrality_max_age_s"),
    "MCP_PROVIDER_UPTIME_MAX_AGE_S": ("freshness", "uptime_max_age_s"),
    "MCP_PROVIDER_NODE_MAX_AGE_S": ("freshness", "node_max_age_s"),
    "MCP_PROVIDER_STATS_MAX_AGE_S": ("freshness", "stats_max_age_s"),
}
_NON_NEG_INT_VARS = {
    "MCP_PROVIDER_REUSE_S": ("freshness", "reuse_s"),
}
KNOWN_VARIABLES = (
    "MCP_AMBOSS_API_KEY",
    "MCP_AMBOSS_URL",
    "MCP_MEMPOOL_URL",
    *sorted(_FLOAT_VARS),
    *sorted(_INT_VARS),
    *sorted(_NON_NEG_INT_VARS),
)


def _positive_float(name: str, raw: str) -> float:
    try:
        value = float(raw.strip())
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise ProviderSettingsError(
            f"environment variable {name}: expected a number of seconds greater than 0, "
            f"got {raw!r}"
        )
    return value


def _positive_int(name: str, raw: str) -> int:
    text = raw.strip()
    if not text.isdigit() or int(text) < 1:
        raise ProviderSettingsError(
            f"environment variable {name}: expected a whole number of at least 1, got {raw!r}"
        )
    return int(text)


def _non_negative_int(name: str, raw: str) -> int:
    text = raw.strip()
    if not text.isdigit():
        raise ProviderSettingsError(
            f"environment variable {name}: expected a whole number of at least 0, got {raw!r}"
        )
    return int(text)


def _url(name: str, raw: str) -> str:
    text = raw.strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ProviderSettingsError(
            f"environment variable {name}: expected an http:// or https:// URL with a host, "
            f"got {raw!r}"
        )
    if parts.query or parts.fragment:
        raise ProviderSettingsError(
            f"environment variable {name}: the URL must not carry a query or fragment, "
            f"got {raw!r}"
        )
    return text.rstrip("/")


def _mempool_url(env: Mapping[str, str]) -> str:
    """The mempool base URL; empty when the operator turned mempool off."""
    if "MCP_MEMPOOL_URL" not in env:
        return DEFAULT_MEMPOOL_URL
    raw = env["MCP_MEMPOOL_URL"]
    if raw.strip().lower() == "off":
        return ""
    return _url("MCP_MEMPOOL_URL", raw)


def load_provider_settings(environ: Mapping[str, str] | None = None) -> ProviderSettings:
    """Read and validate the provider settings from ``environ`` (default: the process's)."""
    env = os.environ if environ is None else environ
    unknown = sorted(
        name for name in env if name.startswith("MCP_PROVIDER_") and name not in KNOWN_VARIABLES
    )
    if unknown:
        raise ProviderSettingsError(
            f"environment variable {unknown[0]}: unknown provider setting; known ones are "
            + ", ".join(v for v in KNOWN_VARIABLES if v.startswith("MCP_PROVIDER_"))
        )
    sections: dict[str, dict[str, float | int]] = {"retry": {}, "freshness": {}}
    for name, (section, field) in _FLOAT_VARS.items():
        if name in env:
            sections[section][field] = _positive_float(name, env[name])
    for name, (section, field) in _INT_VARS.items():
        if name in env:
            sections[section][field] = _positive_int(name, env[name])
    for name, (section, field) in _NON_NEG_INT_VARS.items():
        if name in env:
            sections[section][field] = _non_negative_int(name, env[name])
    retry = RetryPolicy(**sections["retry"])  # type: ignore[arg-type]
    if retry.backoff_max_s < retry.backoff_initial_s:
        raise ProviderSettingsError(
            "environment variable MCP_PROVIDER_BACKOFF_MAX_S: must be at least "
            f"MCP_PROVIDER_BACKOFF_INITIAL_S ({retry.backoff_initial_s}), "
            f"got {retry.backoff_max_s}"
        )
    key = env.get("MCP_AMBOSS_API_KEY", "").strip()
    if key and any(ch.isspace() or not ch.isprintable() for ch in key):
        raise ProviderSettingsError(
            "environment variable MCP_AMBOSS_API_KEY: the key must not contain spaces or "
            "control characters"
        )
    return ProviderSettings(
        amboss_api_key=key,
        amboss_url=_url("MCP_AMBOSS_URL", env["MCP_AMBOSS_URL"])
        if "MCP_AMBOSS_URL" in env
        else DEFAULT_AMBOSS_URL,
        mempool_url=_mempool_url(env),
        retry=retry,
        freshness=Freshness(**sections["freshness"]),  # type: ignore[arg-type]
    )
