"""The embedded simulator's node is kept in the data dir: a restarted service (same data dir)
finds the same channels, the fees it set and the balances, so the journal still refers to
channels that exist (the new operator saw every channel id shift and fees reset)."""

from __future__ import annotations

import pytest

from mcp_optimizer.messages import ChangeOrigin, ChangeState, CycleOutcome, Mode
from mcp_optimizer.runtime.run import open_service
from mcp_optimizer.runtime.settings import ServiceSettings
from mcp_optimizer.simulator import persist
from mcp_optimizer.simulator.errors import ScenarioError


def _env(tmp_path, **extra):
    env = {
        "MCP_DATA_DIR": str(tmp_path / "data"),
        "MCP_CONTROL_SOCKET": str(tmp_path / "c.sock"),
        "MCP_SIM_SPEED": "0",
        "MCP_MAX_CHANGES_PER_HOUR": "1000",
        "MCP_MAX_CHANGES_PER_DAY": "1000",
    }
    env.update(extra)
    return env


def _node_view(node):
    return {
        c.chan_id: (c.local_policy.fee_rate_ppm, c.local_policy.base_fee_msat)
        for c in node.channels()
    }


def test_restart_finds_the_same_node_with_the_fees_it_set(tmp_path):
    env = _env(tmp_path)
    with open_service(ServiceSettings.from_env(env), env) as service:
        service.actuator.set_mode(Mode.LIVE, by="test")
        done = service.runner.run("test")
        assert done.outcome is CycleOutcome.OK, done.detail
        verified = service.actuator.journal.changes(states_in=[ChangeState.VERIFIED])
        assert verified, "the live cycle changed nothing: the test proves nothing"
        before = _node_view(service.sim_node)
    assert persist.state_path(tmp_path / "data" / "simulator").is_file()
    with open_service(ServiceSettings.from_env(env), env) as service:
        after = _node_view(service.sim_node)
        assert after == before  # same channel ids, same fees (not the scenario's)
        for change in verified:
            assert after[change.chan_id][0] == change.new_policy.fee_rate_ppm
        second = service.runner.run("test")
        assert second.outcome is CycleOutcome.OK, second.detail
        external = service.actuator.journal.changes(
            since_s=second.started_at_s, states_in=None
        )
        assert not [c for c in external if c.origin is ChangeOrigin.EXTERNAL]


def test_a_kept_node_of_another_scenario_is_refused_in_one_line(tmp_path):
    env = _env(tmp_path)
    with open_service(ServiceSettings.from_env(env), env):
        pass
    env2 = _env(tmp_path, MCP_SIM_SCENARIO="mainnet")
    with pytest.raises(ScenarioError, match="is of scenario 'demo', not 'mainnet'"):
        with open_service(ServiceSettings.from_env(env2), env2):
            pass


def test_a_damaged_kept_node_is_refused_and_left_untouched(tmp_path):
    path = persist.state_path(tmp_path / "data" / "simulator")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a simulator state")
    env = _env(tmp_path)
    with pytest.raises(ScenarioError, match="cannot be read .* left untouched"):
        with open_service(ServiceSettings.from_env(env), env):
            pass
    assert path.read_bytes() == b"not a simulator state"
