"""One clock for the whole service: the node's. Against the simulator, whose clock is not the
wall clock, a change journaled in one live cycle must count for the next cycle's cooldown, not
make its snapshot look dated in the future."""

from __future__ import annotations

from mcp_optimizer.messages import ChangeState, CycleOutcome, DecisionKind, Mode
from mcp_optimizer.runtime.run import open_service
from mcp_optimizer.runtime.settings import ServiceSettings


def test_second_live_cycle_sees_the_first_cycles_changes_in_cooldown(tmp_path):
    env = {
        "MCP_DATA_DIR": str(tmp_path / "data"),
        "MCP_CONTROL_SOCKET": str(tmp_path / "c.sock"),
        "MCP_SIM_SPEED": "0",
        "MCP_MAX_CHANGES_PER_HOUR": "1000",
        "MCP_MAX_CHANGES_PER_DAY": "1000",
    }
    settings = ServiceSettings.from_env(env)
    with open_service(settings, env) as service:
        service.actuator.set_mode(Mode.LIVE, by="test")
        first = service.runner.run("test")
        assert first.outcome is CycleOutcome.OK, first.detail
        journal = service.actuator.journal
        changed = {c.chan_id for c in journal.changes(states_in=[ChangeState.VERIFIED])}
        assert changed, "the first live cycle changed nothing: the test proves nothing"
        second = service.runner.run("test")
        assert second.outcome is CycleOutcome.OK, second.detail
        rows = journal.decisions(cycle_id=second.cycle_id, limit=10_000)
    decisions = {d.chan_id: d for _, _, d in rows}
    for d in decisions.values():
        assert not d.reasons[0].startswith("snapshot rejected"), d.reasons
    for chan_id in changed:
        d = decisions[chan_id]
        assert d.kind is not DecisionKind.INCREASE_FEES and d.kind is not DecisionKind.LOWER_FEES
        assert any("cooldown" in r for r in d.reasons), d.reasons


def _env(tmp_path, **extra):
    env = {
        "MCP_DATA_DIR": str(tmp_path / "data"),
        "MCP_CONTROL_SOCKET": str(tmp_path / "c.sock"),
        "MCP_SIM_SPEED": "0",
    }
    env.update(extra)
    return env


def test_embedded_simulator_starts_at_the_wall_clock_by_default(tmp_path):
    import time

    from mcp_optimizer.simulator.scenario import load_scenario

    env = _env(tmp_path)
    with open_service(ServiceSettings.from_env(env), env) as service:
        done = service.runner.run("test")
        cycles = service.actuator.journal.cycles(since_s=int(time.time()) - 3600)
    assert abs(done.started_at_s - time.time()) < 120
    assert [c.cycle_id for c in cycles] == [done.cycle_id]  # `--since 1h` finds it
    env = _env(tmp_path / "b", MCP_SIM_START="scenario")
    with open_service(ServiceSettings.from_env(env), env) as service:
        assert service.client.now_s() == load_scenario("demo").start_s


def test_bad_sim_start_is_refused_naming_the_variable(tmp_path):
    import pytest

    from mcp_optimizer.runtime.settings import SettingsError

    with pytest.raises(SettingsError, match="MCP_SIM_START is 'tomorrow'"):
        ServiceSettings.from_env(_env(tmp_path, MCP_SIM_START="tomorrow"))
