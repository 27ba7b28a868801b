"""mempool's Lightning API provider against a real HTTP server on loopback."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from providers_loopback import LoopbackServer, Reply, json_reply

from mcp_optimizer.messages import NetworkStatsKnown, NodeRecordKnown
from mcp_optimizer.providers.http import (
    ProviderMetrics,
    ProviderNotFound,
    ProviderParseError,
    ProviderUnavailable,
    RetryPolicy,
    load_provider_settings,
)
from mcp_optimizer.providers.mempool import MempoolProvider

PEER = "02" + "ab" * 32
NODE_PATH = f"/api/v1/lightning/nodes/{PEER}"
STATS_PATH = "/api/v1/lightning/statistics/latest"
# Generous time limits: these tests are about what the providers make of answers (every
# loopback server here answers at once), and CI's busy 2-core machine once spent a 0.5 s
# budget before a retry ("no time left in the budget for another attempt"). Time limits
# themselves are tested in test_providers_http.py.
POLICY = RetryPolicy(
    connect_timeout_s=10.0, read_timeout_s=10.0, max_attempts=3, total_budget_s=60.0,
    backoff_initial_s=0.02, backoff_max_s=0.05,
)

# Shaped like mempool's answer (capacity is a DECIMAL sum, sent as a string), with the
# fields this provider ignores.
NODE = {
    "public_key": PEER,
    "alias": "peer-one",
    "first_seen": 1546452819,
    "updated_at": 1716224000,
    "color": "#abcdef",
    "sockets": "1.2.3.4:9735",
    "as_number": 42,
    "country": {"en": "Testland"},
    "city": None,
    "active_channel_count": 55,
    "capacity": "31505027",
    "opened_channel_count": 55,
    "closed_channel_count": 111,
}
STATS = {
    "latest": {
        "id": 1234,
        "added": "2026-05-31T00:00:00.000Z",
        "channel_count": 41332,
        "node_count": 17439,
        "total_capacity": 487794772574,
        "tor_nodes": 8972,
        "clearnet_nodes": 4674,
        "unannounced_nodes": 2010,
        "avg_capacity": 11801867,
        "avg_fee_rate": 822,
        "avg_base_fee_mtokens": 925,
        "med_capacity": 2002002,
        "med_fee_rate": 100,
        "med_base_fee_mtokens": 1000,
        "clearnet_tor_nodes": 1783,
    },
    "previous": {"id": 1227},
}


@pytest.fixture
def server():
    with LoopbackServer() as srv:
        yield srv


def provider(url: str) -> MempoolProvider:
    settings = load_provider_settings({"MCP_MEMPOOL_URL": url})
    return MempoolProvider.from_settings(replace(settings, retry=POLICY), ProviderMetrics())


def test_node_record(server: LoopbackServer) -> None:
    server.script("GET", NODE_PATH, json_reply(NODE))
    record = provider(server.url).node(PEER)
    assert record == NodeRecordKnown(
        pubkey=PEER,
        alias="peer-one",
        capacity_sat=31505027,
        channel_count=55,
        source="mempool",
        observed_at_s=record.observed_at_s,
    )
    assert record.observed_at_s > 1_700_000_000


def test_node_capacity_as_integer_is_accepted(server: LoopbackServer) -> None:
    server.script("GET", NODE_PATH, json_reply({**NODE, "capacity": 5}))
    assert provider(server.url).node(PEER).capacity_sat == 5


def test_network_stats(server: LoopbackServer) -> None:
    server.script("GET", STATS_PATH, json_reply(STATS))
    stats = provider(server.url).network_stats()
    assert stats == NetworkStatsKnown(
        node_count=17439,
        channel_count=41332,
        total_capacity_sat=487794772574,
        avg_capacity_sat=11801867,
        med_capacity_sat=2002002,
        avg_fee_rate_ppm=822,
        med_fee_rate_ppm=100,
        avg_base_fee_msat=925,
        med_base_fee_msat=1000,
        source="mempool",
        observed_at_s=1780185600,
    )


def test_stats_added_as_unix_seconds(server: LoopbackServer) -> None:
    latest = {**STATS["latest"], "added": 1780185600}
    server.script("GET", STATS_PATH, json_reply({"latest": latest}))
    assert provider(server.url).network_stats().observed_at_s == 1780185600


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda n: n.pop("alias"), "$.alias"),
        (lambda n: n.update(active_channel_count="55"), "$.active_channel_count"),
        (lambda n: n.update(active_channel_count=-1), "$.active_channel_count"),
        (lambda n: n.update(capacity="12 BTC"), "$.capacity"),
        (lambda n: n.update(capacity=1.5), "$.capacity"),
        (lambda n: n.update(updated_at=None), "$.updated_at"),
        (lambda n: n.update(public_key="03" + "cd" * 32), "$.public_key"),
    ],
)
def test_schema_drift_is_a_parse_error_naming_the_field(
    server: LoopbackServer, mutate, field: str
) -> None:
    node = json.loads(json.dumps(NODE))
    mutate(node)
    server.script("GET", NODE_PATH, json_reply(node))
    with pytest.raises(ProviderParseError) as info:
        provider(server.url).node(PEER)
    assert info.value.field == field
    assert field in str(info.value)


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda s: s["latest"].pop("med_fee_rate"), "$.latest.med_fee_rate"),
        (lambda s: s["latest"].update(avg_fee_rate=8.22), "$.latest.avg_fee_rate"),
        (lambda s: s["latest"].update(added="yesterday"), "$.latest.added"),
        (lambda s: s["latest"].update(added="2026-05-31T00:00:00"), "$.latest.added"),
        (lambda s: s.pop("latest"), "$.latest"),
    ],
)
def test_stats_schema_drift(server: LoopbackServer, mutate, field: str) -> None:
    stats = json.loads(json.dumps(STATS))
    mutate(stats)
    server.script("GET", STATS_PATH, json_reply(stats))
    with pytest.raises(ProviderParseError) as info:
        provider(server.url).network_stats()
    assert info.value.field == field


@pytest.mark.parametrize(
    "body", [b"", b"<html>502 Bad Gateway</html>", json.dumps(NODE).encode()[:40], b"[1, 2]"]
)
def test_malformed_and_truncated_json(server: LoopbackServer, body: bytes) -> None:
    server.script("GET", NODE_PATH, Reply(body=body))
    with pytest.raises(ProviderParseError) as info:
        provider(server.url).node(PEER)
    assert info.value.field == "$"
    assert len(server.hits_for(NODE_PATH)) == 1  # a malformed answer is not retried


def test_unknown_node_is_not_found(server: LoopbackServer) -> None:
    server.script("GET", NODE_PATH, Reply(404, body=b"Node not found"))
    with pytest.raises(ProviderNotFound, match="Node not found"):
        provider(server.url).node(PEER)


def test_outage_is_unavailable(server: LoopbackServer) -> None:
    server.script("GET", NODE_PATH, Reply(500, body=b"db down"))
    with pytest.raises(ProviderUnavailable):
        provider(server.url).node(PEER)


@pytest.mark.parametrize("bad", ["", "../../etc", "02" + "AB" * 32, "04" + "ab" * 32, PEER + "0"])
def test_invalid_pubkey_is_refused_before_any_request(server: LoopbackServer, bad: str) -> None:
    with pytest.raises(ValueError, match="public key"):
        provider(server.url).node(bad)
    assert server.hits == []
