"""The Amboss GraphQL provider against a real HTTP server on loopback."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from providers_loopback import LoopbackServer, Reply, json_reply

from mcp_optimizer.messages import PeerRanksKnown
from mcp_optimizer.providers.amboss import RANKS_QUERY, AmbossProvider
from mcp_optimizer.providers.http import (
    ProviderMetrics,
    ProviderNotFound,
    ProviderParseError,
    ProviderRejected,
    RetryPolicy,
    load_provider_settings,
)

PEER = "03" + "5c" * 32
KEY = "test-key-123"
# Generous time limits: these tests are about what the providers make of answers (every
# loopback server here answers at once), and CI's busy 2-core machine once spent a 0.5 s
# budget before a retry ("no time left in the budget for another attempt"). Time limits
# themselves are tested in test_providers_http.py.
POLICY = RetryPolicy(
    connect_timeout_s=10.0, read_timeout_s=10.0, max_attempts=3, total_budget_s=60.0,
    backoff_initial_s=0.02, backoff_max_s=0.05,
)
RANKS = {
    "data": {
        "getNode": {
            "graph_info": {
                "metrics": {
                    "capacity": "1250000000",
                    "capacity_rank": 42,
                    "channels": 310,
                    "channels_rank": 17,
                }
            }
        }
    }
}


@pytest.fixture
def server():
    with LoopbackServer() as srv:
        yield srv


def provider(url: str) -> AmbossProvider:
    settings = load_provider_settings(
        {"MCP_AMBOSS_API_KEY": KEY, "MCP_AMBOSS_URL": url + "/graphql"}
    )
    made = AmbossProvider.from_settings(replace(settings, retry=POLICY), ProviderMetrics())
    assert made is not None
    return made


def test_not_built_without_a_key() -> None:
    assert AmbossProvider.from_settings(load_provider_settings({}), ProviderMetrics()) is None


def test_ranks_with_bearer_key(server: LoopbackServer) -> None:
    server.script("POST", "/graphql", json_reply(RANKS))
    ranks = provider(server.url).ranks(PEER)
    assert ranks == PeerRanksKnown(
        capacity_sat=1250000000,
        capacity_rank=42,
        channel_count=310,
        channel_rank=17,
        source="amboss",
        observed_at_s=ranks.observed_at_s,
    )
    hit = server.hits[0]
    assert hit.headers["authorization"] == f"Bearer {KEY}"
    sent = json.loads(hit.body)
    assert sent == {"query": RANKS_QUERY, "variables": {"pubkey": PEER}}


def test_only_verified_fields_are_asked(server: LoopbackServer) -> None:
    """Centrality and uptime fields could not be verified in Amboss's schema: never queried."""
    server.script("POST", "/graphql", json_reply(RANKS))
    amboss = provider(server.url)
    assert not hasattr(amboss, "centrality") and not hasattr(amboss, "uptime")
    amboss.ranks(PEER)
    sent = json.loads(server.hits[0].body)["query"]
    assert "metrics { capacity capacity_rank channels channels_rank }" in sent
    assert "centrality" not in sent and "health" not in sent and "uptime" not in sent


def test_graphql_errors_are_rejected_not_retried(server: LoopbackServer) -> None:
    server.script(
        "POST",
        "/graphql",
        json_reply({"errors": [{"message": 'Cannot query field "metrics" on type "GraphInfo".'}],
                    "data": None}),
    )
    with pytest.raises(ProviderRejected, match='Cannot query field "metrics"'):
        provider(server.url).ranks(PEER)
    assert len(server.hits) == 1


def test_graphql_validation_error_as_http_400(server: LoopbackServer) -> None:
    body = {"errors": [{"message": "Cannot query field \"metrics\" on type \"Node\"."}]}
    server.script("POST", "/graphql", json_reply(body, status=400))
    with pytest.raises(ProviderRejected, match="HTTP 400"):
        provider(server.url).ranks(PEER)
    assert len(server.hits) == 1


def test_unauthorized(server: LoopbackServer) -> None:
    server.script("POST", "/graphql", Reply(401, body=b"Unauthorized"))
    with pytest.raises(ProviderRejected, match="API key"):
        provider(server.url).ranks(PEER)


def test_unknown_node_is_not_found(server: LoopbackServer) -> None:
    server.script("POST", "/graphql", json_reply({"data": {"getNode": None}}))
    amboss = provider(server.url)
    with pytest.raises(ProviderNotFound):
        amboss.ranks(PEER)
    metrics = amboss.client.metrics
    assert metrics.value("mcp_provider_calls_total", provider="amboss", outcome="not_found") == 1


@pytest.mark.parametrize(
    ("metrics", "field"),
    [
        ({"capacity": "1", "capacity_rank": 1, "channels": 2}, "channels_rank"),
        ({"capacity": "1", "capacity_rank": "1", "channels": 2, "channels_rank": 3},
         "capacity_rank"),
        ({"capacity": "1", "capacity_rank": 0, "channels": 2, "channels_rank": 3},
         "capacity_rank"),
        ({"capacity": "lots", "capacity_rank": 1, "channels": 2, "channels_rank": 3}, "capacity"),
        ({"capacity": None, "capacity_rank": 1, "channels": 2, "channels_rank": 3}, "capacity"),
    ],
)
def test_schema_drift_names_the_field(server: LoopbackServer, metrics: dict, field: str) -> None:
    body = {"data": {"getNode": {"graph_info": {"metrics": metrics}}}}
    server.script("POST", "/graphql", json_reply(body))
    with pytest.raises(ProviderParseError) as info:
        provider(server.url).ranks(PEER)
    assert info.value.field == f"$.data.getNode.graph_info.metrics.{field}"


def test_metrics_null_is_a_parse_error(server: LoopbackServer) -> None:
    body = {"data": {"getNode": {"graph_info": {"metrics": None}}}}
    server.script("POST", "/graphql", json_reply(body))
    with pytest.raises(ProviderParseError) as info:
        provider(server.url).ranks(PEER)
    assert info.value.field == "$.data.getNode.graph_info.metrics"


@pytest.mark.parametrize("body", [b"", b"{\"data\": {\"getNode\"", b"not json", b"{}"])
def test_malformed_truncated_or_empty(server: LoopbackServer, body: bytes) -> None:
    server.script("POST", "/graphql", Reply(body=body))
    with pytest.raises(ProviderParseError) as info:
        provider(server.url).ranks(PEER)
    assert info.value.field in ("$", "$.data")
