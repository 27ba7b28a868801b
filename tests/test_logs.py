"""Every write to the node is logged at ACTION level, each state a change reaches at a level
that says how much it matters; the log is read from the service's real log file."""

from __future__ import annotations

import json
import re

from loguru import logger

from mcp_optimizer.logs import ACTION, JSON_LOG_FILE, LEVEL_BY_STATE, level_for, policy_text
from mcp_optimizer.messages import ChangeState, Gate, Mode
from mcp_optimizer.runtime.run import LOG_FILE, configure_logging, open_service
from mcp_optimizer.runtime.settings import ServiceSettings
from mcp_optimizer.scid import scid_text


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
    first = verified[0]
    for state in ("intent", "applied", "verified"):
        pattern = rf" {ACTION} .*change {first.change_id} on channel .*: {state}: "
        assert re.search(pattern, text), state
    assert " INFO " in text
    # each ACTION line of a change names the channel (short id), old and new policy, reasons
    old, new = policy_text(first.old_policy), policy_text(first.new_policy)
    line = next(x for x in text.splitlines()
                if f"change {first.change_id} on channel" in x and ": verified: " in x)
    assert f"on channel {scid_text(first.chan_id)} (service)" in line
    assert f"policy {old} -> {new}" in line and first.reasons
    assert "reasons: " + "; ".join(first.reasons) in line
    # the JSON log carries them as fields
    recs = [json.loads(x) for x in (data / JSON_LOG_FILE).read_text().splitlines()]
    mine = [r for r in recs if r.get("change_id") == first.change_id]
    assert [r["state"] for r in mine] == ["intent", "applied", "verified"]
    assert all(r["level"] == ACTION and r["channel"] == scid_text(first.chan_id)
               and r["old_policy"] == old and r["new_policy"] == new
               and r["reasons"] == first.reasons for r in mine)
    # going live is an ACTION line naming who and why
    live = next(r for r in recs if r.get("mode_to") == "live")
    assert live["level"] == ACTION and live["by"] == "test"
    assert "mode shadow -> live (writes to the node are ON) by test" in live["message"]


def test_pause_and_resume_are_action_lines_with_who_and_why(tmp_path):
    from mcp_optimizer.journal import Journal

    configure_logging(tmp_path)
    try:
        with Journal.open(tmp_path / "j") as j:
            j.set_paused(True, by="web", reason="looking at a channel")
            j.set_paused(False, by="control-socket", reason="")
            j.set_mode(Mode.DRY_RUN, by="mcp", reason="an assistant asked")
        logger.complete()
    finally:
        logger.remove()
    lines = [x for x in (tmp_path / LOG_FILE).read_text().splitlines() if f" {ACTION} " in x]
    assert lines[0].endswith("paused by web: looking at a channel")
    assert lines[1].endswith("resumed by control-socket: (no reason)")
    assert lines[2].endswith("mode shadow -> dry-run by mcp: an assistant asked")
