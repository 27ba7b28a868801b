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
