"""The service's centrality computed in a child process (``CentralityProcess``): the same
figures as the in-process computation on the same graph, read over gRPC from the simulator;
refreshed in the background when old, recomputed only when the topology changed; the first
table an estimate from sampled pivots, replaced by the exact one computed behind it; a failing
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
from mcp_optimizer.providers.local_graph import build_topology, centrality_table, compute_centrality
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


def test_the_first_table_is_an_estimate_and_the_exact_one_replaces_it(sim):
    node, server = sim
    lnd = settings(server)
    with LndClient(lnd) as client:
        graph = client.describe_graph()
        peers = sorted({c.peer.pubkey for c in client.list_channels()})
    # 64 pivots: at most a quarter of the demo graph's 960 BFS sources, so it is estimated
    estimate = centrality_table(build_topology(graph), pivots=64)
    exact = compute_centrality(graph, 0)
    assert estimate.estimated
    row = estimate.index()
    clock = Clock(1_000_000)
    source = CentralityProcess(lnd, clock, first_wait_s=600, pivots=64)
    source.refresh()  # as the service does at its start
    first, why = source.lookup(peers, clock.t)
    assert why == ""
    for p in peers:  # the worker's estimate is this process's: the same seeded draw
        got = first[p]
        assert isinstance(got, CentralityKnown) and got.estimated
        assert (got.normalized_ppm, got.rank) == (
            int(estimate.normalized_ppm[row[p]]), int(estimate.rank[row[p]])
        )
    # the exact computation started behind it; the next ask waits for it
    second, why = source.lookup(peers, clock.t)
    assert why == "" and source.computations == 2 and not source.estimated
    for p in peers:
        got = second[p]
        assert isinstance(got, CentralityKnown) and not got.estimated
        assert (got.normalized_ppm, got.rank) == (exact[p].normalized_ppm, exact[p].rank)
    assert any(first[p] != second[p] for p in peers)  # the estimate was not the exact table


def test_without_the_follow_up_the_estimate_stays_and_close_ends_a_running_child(sim):
    _, server = sim
    lnd = settings(server)
    clock = Clock(1_000_000)
    source = CentralityProcess(lnd, clock, first_wait_s=600, pivots=64, follow_exact=False)
    with LndClient(lnd) as client:
        peers = sorted({c.peer.pubkey for c in client.list_channels()})
    first, _ = source.lookup(peers, clock.t)
    assert source.estimated and all(first[p].estimated for p in peers)
    again, _ = source.lookup(peers, clock.t)
    assert again == first and source.computations == 1 and source.hits == 1
    # close: a child that runs is ended, its table dropped, and none starts after
    other = CentralityProcess(lnd, clock, first_wait_s=600, pivots=64)
    worker = other.refresh()
    other.close()
    worker.join(120)
    assert not worker.is_alive() and other.computations == 0 and not other.estimated
    other.refresh().join(120)
    assert other.computations == 0


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
