"""In the running service, local centrality is computed once per graph: cached between
cycles and across a restart of the local_graph actor, recomputed only when the graph changed."""

from __future__ import annotations

from mcp_optimizer.actors.faults import FAULTS
from mcp_optimizer.runtime.run import open_service
from mcp_optimizer.runtime.settings import ServiceSettings


def test_centrality_cached_between_cycles_and_across_an_actor_restart(tmp_path):
    env = {
        "MCP_DATA_DIR": str(tmp_path / "data"),
        "MCP_CONTROL_SOCKET": str(tmp_path / "c.sock"),
        "MCP_SIM_SPEED": "0",
    }
    settings = ServiceSettings.from_env(env)
    try:
        with open_service(settings, env) as service:
            cache = service.centrality
            first = service.runner.run("test")
            assert first.outcome.value == "ok", first.detail
            assert cache.computations == 1
            FAULTS.arm("local_graph")
            crashed = service.runner.run("test")  # the scorer's facts degrade; the cycle goes on
            assert FAULTS.fired, "the fault never fired: the test proves nothing"
            FAULTS.disarm()
            third = service.runner.run("test")  # a fresh local_graph actor reads the graph anew
            assert third.outcome.value == "ok", third.detail
            assert crashed.outcome.value in ("ok", "partial")
            assert cache.computations == 1 and cache.hits >= 1
            snap = service.supervisor.snapshot()
    finally:
        FAULTS.disarm()
    generations = {r.spec.name: r.generation for r in snap}
    assert generations["local_graph"] == 2  # restarted once, and yet no recomputation


def test_the_first_cycle_decides_on_an_estimate_and_says_so_the_next_on_the_exact(tmp_path):
    env = {
        "MCP_DATA_DIR": str(tmp_path / "data"),
        "MCP_CONTROL_SOCKET": str(tmp_path / "c.sock"),
        "MCP_SIM_SPEED": "0",
        "MCP_CENTRALITY_PIVOTS": "64",  # a quarter of the demo graph's sources at most
    }
    settings = ServiceSettings.from_env(env)

    def centrality_details(service, cycle_id: int) -> set[str]:
        rows = service.actuator.journal.decisions(cycle_id=cycle_id, limit=10_000)
        return {f.detail for _, _, d in rows for f in d.factors if f.name == "centrality"}

    with open_service(settings, env) as service:
        first = service.runner.run("test")
        second = service.runner.run("test")
        assert first.outcome.value == second.outcome.value == "ok", (first.detail, second.detail)
        estimated = centrality_details(service, first.cycle_id)
        exact = centrality_details(service, second.cycle_id)
        assert service.centrality.computations == 2 and not service.centrality.estimated
    assert estimated and all(d.endswith("(local-graph, estimated from sampled pivots)")
                             for d in estimated)
    assert exact and all(d.endswith("(local-graph)") for d in exact)
