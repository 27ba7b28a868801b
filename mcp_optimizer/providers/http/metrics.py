"""Provider outcome counters, in a prometheus-client registry of their own.

The metrics work exports ``ProviderMetrics.registry`` (e.g. with
``prometheus_client.generate_latest(metrics.registry)``); tests and the CLI read single values
with :meth:`ProviderMetrics.value`. Series:

- ``mcp_provider_calls_total{provider, outcome}``: one per logical call (retries included);
  outcome is ``success``, ``not_found``, ``rejected``, ``parse_error``, ``unavailable`` or
  ``circuit_open``.
- ``mcp_provider_retries_total{provider, reason}``: one per retry scheduled; reason is
  ``connect``, ``timeout``, ``protocol``, ``http_5xx``, ``http_429``, ``http_408``.
- ``mcp_provider_attempt_seconds{provider}``: histogram of single HTTP attempts.
- ``mcp_provider_call_seconds{provider}``: histogram of whole calls, waits included.
- ``mcp_fact_results_total{fact, source}``: which source produced each fact (``none``: unknown).
- ``mcp_fact_fallbacks_total{fact, source}``: a source of a fact's chain that gave nothing
  usable, so that the next one was asked.
- ``mcp_provider_circuit_open{provider}``: 1 while the provider's circuit is open, else 0.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class ProviderMetrics:
    """The counters of one service instance (tests create their own)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.calls = Counter(
            "mcp_provider_calls",
            "Provider calls by outcome (one per call, retries included).",
            ["provider", "outcome"],
            registry=self.registry,
        )
        self.retries = Counter(
            "mcp_provider_retries",
            "Retries scheduled, by reason.",
            ["provider", "reason"],
            registry=self.registry,
        )
        self.attempt_seconds = Histogram(
            "mcp_provider_attempt_seconds",
            "Duration of single HTTP attempts.",
            ["provider"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.call_seconds = Histogram(
            "mcp_provider_call_seconds",
            "Duration of whole provider calls, backoff included.",
            ["provider"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.fact_results = Counter(
            "mcp_fact_results",
            "Which source produced each fact (none: unknown).",
            ["fact", "source"],
            registry=self.registry,
        )
        self.fact_fallbacks = Counter(
            "mcp_fact_fallbacks",
            "Sources that gave nothing usable, so that the next source of the chain was asked.",
            ["fact", "source"],
            registry=self.registry,
        )
        self.circuit_open = Gauge(
            "mcp_provider_circuit_open",
            "1 while the provider's circuit breaker is open.",
            ["provider"],
            registry=self.registry,
        )

    def value(self, name: str, **labels: str) -> float:
        """One sample's value (0 when the series does not exist yet).

        ``name`` is the sample name, e.g. ``mcp_provider_calls_total`` or
        ``mcp_provider_attempt_seconds_count``.
        """
        found = self.registry.get_sample_value(name, labels)
        return 0.0 if found is None else found
