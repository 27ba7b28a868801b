"""Every write to the node is logged at ACTION level, each state a change reaches at a level
that says how much it matters; the log is read from the service's real log file."""

from __future__ import annotations

import re

from loguru import logger

from mcp_optimizer.logs import ACTION, LEVEL_BY_STATE, level_for
from mcp_optimizer.messages import ChangeState, Gate, Mode
from mcp_optimizer.runtime.run import LOG_FILE, configure_logging, open_service
from mcp_optimizer.runtime.settings import ServiceSettings


def test_every_change_state_has_a_level():
    assert set(LEVEL_BY_STATE) == set(ChangeState)


def test_a_stop_the_operator_configured_is_info_anything_else_keeps_its_level():
    assert level_for(ChangeState.REFUSED, [Gate.CLOSE_DISABLED]) == "INFO"
    assert level_for(ChangeState.HELD, [Gate.HOURLY_CAP, Gate.COOLDOWN]) == "INFO"
    assert level_for(ChangeState.REFUSED, [Gate.FEE_BOUNDS]) == "WARNING"
    assert level_for(ChangeState.REFUSED, [Gate.CLOSE_DISABLED, Gate.STALE_DECISION]) == "WARNING"
    assert level_for(ChangeState.REFUSED) == "WARNING"
    assert level_for(ChangeState.FAILED) == "ERROR"


def test_live_cycle_logs_intent_applied_verified_as_action(tmp_path):
    data = tmp_path / "data"
    env = {
        "MCP_DATA_DIR": str(data),
        "MCP_CONTROL_SOCKET": str(tmp_path / "c.sock"),
        "MCP_SIM_SPEED": "0",
    }
    settings = ServiceSettings.from_env(env)
    data.mkdir()
    configure_logging(data)
    try:
        with open_service(settings, env) as service:
            service.actuator.set_mode(Mode.LIVE, by="test")
            done = service.runner.run("test")
            assert done.outcome.value == "ok", done.detail
            verified = service.actuator.journal.changes(states_in=[ChangeState.VERIFIED])
            assert verified
        logger.complete()
    finally:
        logger.remove()
    text = (data / LOG_FILE).read_text()
    first = verified[0].change_id
    for state in ("intent", "applied", "verified"):
        assert re.search(rf" {ACTION} .*change {first} on channel .*: {state}: ", text), state
    assert " INFO " in text
