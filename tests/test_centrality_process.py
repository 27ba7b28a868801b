"""The service's centrality computed in a child process (``CentralityProcess``): the same
figures as the in-process computation on the same graph, read over gRPC from the simulator;
refreshed in the background when old, recomputed only when the topology changed; a failing
worker gives one line; and the service itself never loads the numba kernel."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import msgspec
import pytest
from lnd_sim_support import serve, settings

from mcp_optimizer.actors.enrich import competitors_into
from mcp_optimizer.messages import CentralityKnown, CentralityUnknown
from mcp_optimizer.providers.lnd.client import LndClient
from mcp_optimizer.providers.lnd.settings import LndSettings
from mcp_optimizer.providers.local_graph import compute_centrality
from mcp_optimizer.providers.local_graph.process import CentralityProcess
from mcp_optimizer.simulator.model import SimulatedNode
from mcp_optimizer.simulator.scenario import load_scenario


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    node = SimulatedNode.from_config(load_scenario("demo"))
    server = serve(node, tmp_path_factory.mktemp("state"))
    yield node, server
    server.stop()


class Clock:
    def __init__(self, t: int) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_child_computes_what_the_service_would_and_refreshes_in_the_background(sim):
    node, server = sim
    lnd = settings(server)
    with LndClient(lnd) as client:
        graph = client.describe_graph()
        chans = client.list_channels()
    expected = compute_centrality(graph, 0)
    peers = sorted({c.peer.pubkey for c in chans})
    clock = Clock(1_000_000)
    source = CentralityProcess(lnd, clock, max_age_s=3600, first_wait_s=600)
    found, why = source.lookup(peers + ["02" + "00" * 32], clock.t)
    assert why == "" and source.computations == 1
    for p in peers:
        got = found[p]
        assert isinstance(got, CentralityKnown) and got.observed_at_s == 1_000_000
        assert (got.normalized_ppm, got.rank) == (
            expected[p].normalized_ppm, expected[p].rank
        )
    assert isinstance(found["02" + "00" * 32], CentralityUnknown)
    want = competitors_into(graph, peers, [c.chan_id for c in chans])
    assert source.competitors(peers) == {
        p: msgspec.structs.replace(f, observed_at_s=1_000_000) for p, f in want.items()
    }
    # fresh: served as it is, nothing started
    clock.t += 60
    again, _ = source.lookup(peers, clock.t)
    assert again == {p: found[p] for p in peers} and source.hits == 1
    # old: answered at once from the table (stamped with its graph's time), refreshed behind
    clock.t += 3600
    stale, _ = source.lookup(peers, clock.t)
    assert stale[peers[0]].observed_at_s == 1_000_000
    source.refresh().join(600)
    # the topology did not change: no new computation, the table is newer
    assert source.computations == 1
    newer, _ = source.lookup(peers, clock.t)
    assert newer[peers[0]].observed_at_s == clock.t


def test_a_failing_worker_gives_one_line_and_no_table(tmp_path):
    lnd = LndSettings(host="127.0.0.1:1", tls_cert_path=tmp_path / "missing.cert",
                      macaroon_path=tmp_path / "missing.macaroon", timeout_s=2.0)
    source = CentralityProcess(lnd, Clock(0), first_wait_s=60)
    found, why = source.lookup(["02" + "11" * 32], 0)
    assert found == {}
    assert why.startswith("centrality worker:") and "\n" not in why
    assert source.computations == 0


def test_the_service_does_not_load_the_numba_kernel():
    root = Path(__file__).resolve().parents[1]
    code = (
        "import sys, mcp_optimizer.runtime.run, mcp_optimizer.actors.providers; "
        "print('numba' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "False"
