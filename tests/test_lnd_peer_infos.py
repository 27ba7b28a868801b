"""The channel list reads each peer's node record (GetNodeInfo) at most once a day; over gRPC
against the simulator, with the simulator's clock moved on."""

from __future__ import annotations

import pytest
from lnd_sim_support import serve, settings

from mcp_optimizer.providers.lnd.client import PEER_INFO_MAX_AGE_S, LndClient
from mcp_optimizer.simulator.model import SimulatedNode
from mcp_optimizer.simulator.scenario import load_scenario


@pytest.fixture
def sim(tmp_path):
    node = SimulatedNode.from_config(load_scenario("demo"))
    server = serve(node, tmp_path)
    yield node, server
    server.stop()


def test_peer_records_are_reused_for_a_day(sim):
    node, server = sim
    with LndClient(settings(server), clock=node.now_s) as client:
        asked = []
        inner = client._futures

        def counting(name, requests):
            if name == "GetNodeInfo":
                asked.extend(r.pub_key for r in requests)
            return inner(name, requests)

        client._futures = counting
        first = client.list_channels()
        peers = {c.peer.pubkey for c in first}
        assert set(asked) == peers
        asked.clear()
        node.advance(3600)
        again = client.list_channels()
        assert asked == []
        assert [(c.peer.alias, c.peer.capacity_sat) for c in again] == [
            (c.peer.alias, c.peer.capacity_sat) for c in first
        ]
        node.advance(PEER_INFO_MAX_AGE_S)
        client.list_channels()
        assert set(asked) == peers
