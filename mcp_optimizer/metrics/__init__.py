"""The service's Prometheus metrics (prometheus-client), derived from what it already knows:
the journal, the supervisor, the providers' counters. See ``docs/observability.md``."""
