"""Peer node records through the running service on the "real LND" path.

The service is opened with ``MCP_LND_*`` pointing at a separately started simulator (so it
takes the path it takes for a real node, external providers on) and ``MCP_MEMPOOL_URL`` at a
loopback HTTP server standing in for mempool. A cycle takes each peer's alias, capacity and
channel count from mempool and says so in its decisions; with mempool gone, the next cycle
completes with LND's GetNodeInfo instead, and the decisions say that and why.
"""

from __future__ import annotations

import time

import pytest
from lnd_sim_support import serve
from lnd_sim_support import settings as lnd_settings
from providers_loopback import LoopbackServer, Reply, json_reply

from mcp_optimizer.messages import CycleOutcome
from mcp_optimizer.providers.lnd.client import LndClient
from mcp_optimizer.runtime.run import open_service
from mcp_optimizer.runtime.settings import ServiceSettings
from mcp_optimizer.simulator.model import SimulatedNode

STATS_PATH = "/api/v1/lightning/statistics/latest"


def mempool_record(pubkey: str, index: int) -> dict:
    return {
        "public_key": pubkey,
        "alias": f"mempool-{index}",
        "capacity": str(1_000_000 * (index + 1) + 7),
        "active_channel_count": 40 + index,
        "opened_channel_count": 50 + index,
        "closed_channel_count": 10,
        "first_seen": 1_600_000_000,
        "updated_at": 1_700_000_000,
    }


@pytest.fixture
def node(tmp_path):
    """A simulated node served on loopback, started apart from the service, its clock at the
    wall clock (the service on the real-LND path reads the wall clock)."""
    import dataclasses
    import time

    from mcp_optimizer.simulator.scenario import load_scenario

    scenario = dataclasses.replace(load_scenario("demo"), start_s=int(time.time()))
    server = serve(SimulatedNode.from_config(scenario), tmp_path / "sim")
    try:
        yield server
    finally:
        server.stop()


# how mempool fails in the second cycle, and words expected in the fallback's reason
OUTAGES = {
    "refused": ("cannot connect", "circuit open"),
    "http_500": ("HTTP 500", "circuit open"),
    "hung": ("timed out", "circuit open"),
}


def _service_env(tmp_path, node) -> dict[str, str]:
    """The service on the "real LND" path: the simulator named by ``MCP_LND_*``."""
    return {
        "MCP_DATA_DIR": str(tmp_path / "data"),
        "MCP_CONTROL_SOCKET": str(tmp_path / "c.sock"),
        "MCP_LND_HOST": node.address,
        "MCP_LND_TLS_CERT": str(node.tls_cert_path),
        "MCP_LND_MACAROON": str(node.admin_macaroon_path),
    }


@pytest.mark.parametrize("outage", sorted(OUTAGES))
def test_cycle_uses_mempool_records_then_falls_back_to_lnd_when_mempool_is_down(
    tmp_path, node, outage
) -> None:
    lnd = LndClient(lnd_settings(node))
    try:
        channels = lnd.list_channels()
        peers = sorted({c.peer.pubkey for c in channels})
        from_lnd = {p: lnd.node_info(p) for p in peers}
    finally:
        lnd.close()
    peer_of = {c.chan_id: c.peer.pubkey for c in channels}
    assert len(peers) >= 3

    mempool = LoopbackServer().__enter__()
    try:
        for i, key in enumerate(peers):
            mempool.script("GET", f"/api/v1/lightning/nodes/{key}",
                           json_reply(mempool_record(key, i)))
        mempool.script("GET", STATS_PATH, json_reply({"latest": {
            "added": int(time.time()) - 3600, "node_count": 17000, "channel_count": 50000,
            "total_capacity": "500000000000", "avg_capacity": "10000000",
            "med_capacity": "5000000", "avg_fee_rate": 600, "med_fee_rate": 150,
            "avg_base_fee_mtokens": 900, "med_base_fee_mtokens": 1000,
        }}))
        env = {
            **_service_env(tmp_path, node),
            "MCP_MEMPOOL_URL": mempool.url,
            "MCP_PROVIDER_REUSE_S": "0",
            "MCP_PROVIDER_CONNECT_TIMEOUT_S": "0.5",
            "MCP_PROVIDER_READ_TIMEOUT_S": "0.5",
            "MCP_PROVIDER_TOTAL_BUDGET_S": "1",
            "MCP_PROVIDER_MAX_ATTEMPTS": "2",
            "MCP_PROVIDER_BACKOFF_INITIAL_S": "0.05",
            "MCP_PROVIDER_BACKOFF_MAX_S": "0.1",
            "MCP_PROVIDER_BREAKER_FAILURES": "2",
        }
        settings = ServiceSettings.from_env(env)
        assert not settings.use_simulator
        with open_service(settings, env) as service:
            assert service.sim_node is None  # the "real LND" path
            journal = service.actuator.journal

            first = service.runner.run("test")
            assert first.outcome is CycleOutcome.OK, first.detail
            assert first.decisions == len(channels)
            asked = {h.path for h in mempool.hits}
            assert asked == {f"/api/v1/lightning/nodes/{p}" for p in peers} | {STATS_PATH}
            for _, _, d in journal.decisions(cycle_id=first.cycle_id, limit=10_000):
                i = peers.index(peer_of[d.chan_id])
                said = [r for r in d.reasons if r.startswith("peer record from mempool")]
                assert len(said) == 1, d.reasons
                assert f"alias 'mempool-{i}', {1_000_000 * (i + 1) + 7:,} sat" in said[0]
                assert f"in {40 + i} channels" in said[0]
                assert "fell back" not in said[0]
                if d.kind.value in ("INCREASE_FEES", "LOWER_FEES"):
                    assert any("median 150 ppm + 1000 msat" in r for r in d.reasons)

            if outage == "refused":  # mempool goes away: connections are refused
                mempool.__exit__(None, None, None)
                mempool = None
            else:
                failing = Reply(500, body=b"oops") if outage == "http_500" else Reply(delay_s=5)
                for key in peers:
                    mempool.script("GET", f"/api/v1/lightning/nodes/{key}", failing)
                mempool.script("GET", STATS_PATH, failing)
            started = time.monotonic()
            second = service.runner.run("test")
            elapsed = time.monotonic() - started
            assert second.outcome is CycleOutcome.OK, second.detail
            assert second.decisions == len(channels)
            # the circuit opens after two unavailable calls: the outage costs little
            assert elapsed < 10.0
            for _, _, d in journal.decisions(cycle_id=second.cycle_id, limit=10_000):
                lnd_node = from_lnd[peer_of[d.chan_id]]
                said = [r for r in d.reasons if r.startswith("peer record from lnd")]
                assert len(said) == 1, d.reasons
                assert f"alias {lnd_node.alias!r}, {lnd_node.capacity_sat:,} sat" in said[0]
                assert f"in {lnd_node.channel_count} channels" in said[0]
                assert "fell back because mempool" in said[0]
                assert any(words in said[0] for words in OUTAGES[outage]), said[0]
                assert not any(r.startswith("network fees") for r in d.reasons)
    finally:
        if mempool is not None:
            mempool.__exit__(None, None, None)


def test_mempool_off_sends_nothing_and_decisions_keep_lnds_records(tmp_path, node) -> None:
    with LoopbackServer() as listener:  # would see any request sent to a default-ish URL
        env = {
            **_service_env(tmp_path, node),
            "MCP_MEMPOOL_URL": "off",
            "MCP_AMBOSS_URL": listener.url + "/graphql",  # no key: not used either
        }
        with open_service(ServiceSettings.from_env(env), env) as service:
            assert service.sim_node is None
            done = service.runner.run("test")
            assert done.outcome is CycleOutcome.OK, done.detail
            rows = service.actuator.journal.decisions(cycle_id=done.cycle_id, limit=10_000)
        assert listener.hits == []
    assert rows and len(rows) == done.decisions
    for _, _, d in rows:
        assert not any(r.startswith(("peer record", "network fees")) for r in d.reasons)
