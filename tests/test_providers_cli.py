"""The ``providers`` verb against real loopback servers, configured through the environment."""

from __future__ import annotations

import json

import pytest
from providers_loopback import LoopbackServer, Reply, json_reply, refused_url

from mcp_optimizer.cli.main import main

PEER = "02" + "7e" * 32
STATS = {
    "latest": {
        "added": 1780185600, "node_count": 17000, "channel_count": 50000,
        "total_capacity": "500000000000", "avg_capacity": 10000000, "med_capacity": 2000000,
        "avg_fee_rate": 800, "med_fee_rate": 100, "avg_base_fee_mtokens": 900,
        "med_base_fee_mtokens": 1000,
    }
}
NODE = {
    "public_key": PEER, "alias": "cli-peer", "capacity": "123456", "active_channel_count": 9,
    "opened_channel_count": 9, "closed_channel_count": 1, "first_seen": 1, "updated_at": 2,
}
FAST = {
    "MCP_PROVIDER_TOTAL_BUDGET_S": "0.5",
    "MCP_PROVIDER_CONNECT_TIMEOUT_S": "0.2",
    "MCP_PROVIDER_READ_TIMEOUT_S": "0.2",
    "MCP_PROVIDER_BACKOFF_INITIAL_S": "0.02",
    "MCP_PROVIDER_BACKOFF_MAX_S": "0.05",
    "MCP_PROVIDER_STATS_MAX_AGE_S": "999999999",
}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch):
    for name in ("MCP_AMBOSS_API_KEY", "MCP_AMBOSS_URL", "MCP_MEMPOOL_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in FAST.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def test_check_healthy_mempool_without_amboss(env, capsys) -> None:
    with LoopbackServer() as srv:
        srv.script("GET", "/api/v1/lightning/statistics/latest", json_reply(STATS))
        srv.script("GET", f"/api/v1/lightning/nodes/{PEER}", json_reply(NODE))
        env.setenv("MCP_MEMPOOL_URL", srv.url)
        status = main(["providers", "--peer", PEER])
    out = capsys.readouterr().out
    assert status == 0
    assert "amboss: not configured (MCP_AMBOSS_API_KEY is not set)" in out
    assert "network: 17000 nodes, 50000 channels, median fee 100 ppm + 1000 msat" in out
    assert "node_record: alias 'cli-peer', 123456 sat, 9 channels" in out
    assert "lnd: not consulted by this check" in out


def test_check_reports_unreachable_mempool(env, capsys) -> None:
    env.setenv("MCP_MEMPOOL_URL", refused_url())
    assert main(["providers"]) == 1
    captured = capsys.readouterr()
    assert "network: unknown (no source could tell: mempool: cannot connect" in captured.out
    assert captured.err.strip() == "mcp-optimizer providers: not answering usefully: mempool"


def test_check_with_mempool_off(env, capsys) -> None:
    env.setenv("MCP_MEMPOOL_URL", "off")
    assert main(["providers", "--peer", PEER]) == 0
    out = capsys.readouterr().out
    assert "mempool: off (MCP_MEMPOOL_URL=off)" in out
    assert "mempool: not configured" in out


def test_check_json_with_amboss(env, capsys) -> None:
    with LoopbackServer() as srv:
        srv.script("GET", "/api/v1/lightning/statistics/latest", json_reply(STATS))
        srv.script("GET", f"/api/v1/lightning/nodes/{PEER}", json_reply(NODE))
        srv.script("POST", "/graphql", Reply(401, body=b"bad key"))
        env.setenv("MCP_MEMPOOL_URL", srv.url)
        env.setenv("MCP_AMBOSS_URL", srv.url + "/graphql")
        env.setenv("MCP_AMBOSS_API_KEY", "wrong")
        status = main(["providers", "--peer", PEER, "--json"])
        auth = {h.headers.get("authorization") for h in srv.hits_for("/graphql")}
    assert status == 1  # Amboss refuses the key
    assert auth == {"Bearer wrong"}
    doc = json.loads(capsys.readouterr().out)
    assert doc["network_stats"]["type"] == "NetworkStatsKnown"
    peer = doc["peers"][0]
    assert peer["node_record"]["source"] == "mempool"
    rejected = [a for a in peer["sources"] if a["source"] == "amboss"]
    assert rejected and all(a["outcome"] == "rejected" for a in rejected)
    assert "is the API key right?" in rejected[0]["detail"]


@pytest.mark.parametrize(
    ("name", "value"),
    [("MCP_PROVIDER_MAX_ATTEMPTS", "many"), ("MCP_MEMPOOL_URL", "umbrel.local")],
)
def test_bad_setting_is_one_line_naming_the_variable(env, capsys, name, value) -> None:
    env.setenv(name, value)
    assert main(["providers"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and name in err and "Traceback" not in err


def test_bad_peer_key(env, capsys) -> None:
    assert main(["providers", "--peer", "xyz"]) == 2
    assert "--peer: not a node public key" in capsys.readouterr().err
