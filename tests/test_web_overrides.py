"""Per-channel overrides (policies/overrides.py) through the policy loader and the engine, the
policy's layers with their sources (policies/layers.py), and the PolicyDesk's journaled
save / undo on a real journal file."""

from __future__ import annotations

import pytest
from builders import CHAN, channel, policy, snapshot

from mcp_optimizer.journal import Journal
from mcp_optimizer.messages import DecisionKind
from mcp_optimizer.policies import changes
from mcp_optimizer.policies.config import PolicyError, load_policy
from mcp_optimizer.policies.desk import PolicyDesk, PolicyRefused
from mcp_optimizer.policies.engine import evaluate_channel
from mcp_optimizer.policies.layers import load_effective, load_layers, page_path
from mcp_optimizer.policies.overrides import policy_for_channel
from mcp_optimizer.scid import scid_text

SCID = scid_text(CHAN)


def _policy(tmp_path, text: str):
    f = tmp_path / "p.yml"
    f.write_text(text)
    return load_policy(f, environ={})


def _idle():
    """A channel the engine lowers: most of the balance ours, nothing left recently."""
    return snapshot(channel_kw={"local_balance_sat": 4_500_000, "remote_balance_sat": 490_000},
                    recent_kw={"forwards_in": 0, "forwards_out": 0, "fees_earned_msat": 0,
                               "amount_out_msat": 0, "amount_in_msat": 0})


def test_overrides_load_by_short_or_integer_id(tmp_path):
    p = _policy(tmp_path, f"channels:\n  {SCID}: {{exclude: true, note: exchange}}\n"
                          f"  '{CHAN + 1}': {{pin: {{fee_rate_ppm: 700}}}}\n")
    assert p.channels[CHAN].exclude and p.channels[CHAN].note == "exchange"
    assert p.channels[CHAN + 1].pin.fee_rate_ppm == 700


@pytest.mark.parametrize("text, key", [
    (f"channels:\n  {SCID}: {{pin: {{fee_rate_ppm: -3}}}}\n", f"channels.{SCID}.pin.fee_rate_ppm"),
    (f"channels:\n  {SCID}: {{exclude: true, pin: {{fee_rate_ppm: 3}}}}\n",
     f"channels.{SCID}.exclude"),
    ("channels:\n  nonsense: {exclude: true}\n", "channels.nonsense"),
    (f"channels:\n  {SCID}: {{bounds: {{min_fee_rate_ppm: 900, max_fee_rate_ppm: 100}}}}\n",
     f"channels.{SCID}.bounds.min_fee_rate_ppm"),
    (f"channels:\n  {SCID}: {{pinn: 3}}\n", f"channels.{SCID}"),
    (f"channels:\n  {SCID}: {{}}\n", f"channels.{SCID}"),
])
def test_a_bad_override_is_one_line_naming_its_key(tmp_path, text, key):
    with pytest.raises(PolicyError) as exc:
        _policy(tmp_path, text)
    msg = str(exc.value)
    assert "\n" not in msg and f"`{key}" in msg, msg


def test_an_excluded_channel_is_never_changed_and_the_decision_says_so(tmp_path):
    plain = evaluate_channel(_idle(), load_policy(environ={}))
    assert plain.kind is DecisionKind.LOWER_FEES  # what the engine would do
    p = _policy(tmp_path, f"channels:\n  {SCID}: {{exclude: true, note: my exchange}}\n")
    d = evaluate_channel(_idle(), p)
    assert d.kind is DecisionKind.NO_ACTION and d.proposed_policy == d.current_policy
    assert d.override.startswith("excluded from automation") and "my exchange" in d.override
    assert "per-channel override" in d.reasons[0] and "LOWER_FEES" in d.reasons[0]


def test_a_pinned_fee_is_reached_one_step_at_a_time_then_held(tmp_path):
    p = _policy(tmp_path, f"channels:\n  {SCID}: {{pin: {{fee_rate_ppm: 4000}}}}\n")
    d = evaluate_channel(_idle(), p)
    assert d.kind is DecisionKind.INCREASE_FEES and "pinned at 4000" in d.override
    step = p.steps.max_fee_rate_step_ppm
    assert d.proposed_policy.fee_rate_ppm == 500 + step
    near = snapshot(channel_kw={"our_policy": policy(fee_rate_ppm=2400)})
    d = evaluate_channel(near, p)
    assert d.proposed_policy.fee_rate_ppm == 2400 + step  # beyond the policy's max of 2500
    # the pin lies above the policy's max bound: the channel's own policy is widened for it,
    # so the write path's gates accept what the engine proposed
    local = policy_for_channel(p, CHAN)
    assert changes.problems(d.current_policy, d.proposed_policy, local) == []
    assert changes.problems(d.current_policy, d.proposed_policy, p) != []
    there = snapshot(channel_kw={"our_policy": policy(fee_rate_ppm=4000)})
    held = evaluate_channel(there, p)
    assert held.kind is DecisionKind.NO_ACTION and "the channel is there" in held.reasons[0]


def test_channel_bounds_bound_the_engine_and_are_named(tmp_path):
    p = _policy(tmp_path, f"channels:\n  {SCID}: {{bounds: {{min_fee_rate_ppm: 480}}}}\n")
    d = evaluate_channel(_idle(), p)
    assert d.proposed_policy.fee_rate_ppm >= 480
    assert d.override.startswith("own bounds") and d.reasons[-1].startswith("per-channel")
    other = evaluate_channel(snapshot(channel_kw={"chan_id": CHAN + 7}), p)
    assert other.override == ""


def test_layers_name_the_source_of_every_value_and_the_environment_wins(tmp_path):
    f = tmp_path / "p.yml"
    f.write_text("cooldown_s: 7200\n")
    page = {"bounds": {"max_fee_rate_ppm": 1800}, "cooldown_s": 3600,
            "channels": {SCID: {"exclude": True}}}
    env = {"MCP_POLICY__COOLDOWN_S": "60"}
    eff = load_layers(f, page, env)
    assert eff.policy.cooldown_s == 60 and eff.sources["cooldown_s"] == "environment"
    assert eff.env_keys["cooldown_s"] == "MCP_POLICY__COOLDOWN_S"
    assert eff.sources["bounds.max_fee_rate_ppm"] == "page"
    assert eff.sources["bounds.min_fee_rate_ppm"] == "default"
    assert eff.sources[f"channels.{SCID}"] == "page" and eff.policy.channels[CHAN].exclude


def _desk(tmp_path, env=None):
    data = tmp_path / "data"
    journal = Journal.open(data)
    desk = PolicyDesk(journal, load_effective(None, data, env or {}), data, env or {})
    applied = []
    desk.on_change(applied.append)
    desk.snapshots = lambda: [_idle()]
    return desk, journal, applied


def test_a_bad_edit_names_the_field_and_changes_nothing(tmp_path):
    desk, journal, applied = _desk(tmp_path)
    before = desk.current()
    with pytest.raises(PolicyRefused) as exc:
        desk.save({"bounds.max_fee_rate_ppm": "-5"}, [], "web")
    assert exc.value.key == "bounds.max_fee_rate_ppm" and "\n" not in str(exc.value)
    with pytest.raises(PolicyRefused) as exc:
        desk.save({"bounds.min_fee_rate_ppm": "3000"}, [], "web")  # above the max (2500)
    assert exc.value.key == "bounds.min_fee_rate_ppm"
    with pytest.raises(PolicyRefused) as exc:
        desk.save({"nope.key": "1"}, [], "web")
    assert "unknown key" in str(exc.value)
    assert desk.current() is before and applied == []
    assert journal.policy_changes() == [] and not page_path(tmp_path / "data").exists()


def test_an_environment_key_cannot_be_edited_on_the_page(tmp_path):
    desk, journal, _ = _desk(tmp_path, {"MCP_POLICY__COOLDOWN_S": "60"})
    with pytest.raises(PolicyRefused) as exc:
        desk.save({"cooldown_s": "100"}, [], "web")
    assert "MCP_POLICY__COOLDOWN_S" in str(exc.value) and exc.value.key == "cooldown_s"
    assert journal.policy_changes() == []


def test_a_save_is_journaled_written_applied_and_undone(tmp_path):
    desk, journal, applied = _desk(tmp_path)
    rec = desk.save({"bounds.max_fee_rate_ppm": "1800", f"channels.{SCID}": {"exclude": True}},
                    [], "web", "tighter")
    assert rec.by == "web" and rec.reason == "tighter" and rec.undoes == 0
    assert [k.key for k in rec.keys] == ["bounds.max_fee_rate_ppm", f"channels.{SCID}"]
    assert rec.keys[0].old == "" and rec.keys[0].new == "1800"
    assert journal.policy_changes()[0] == rec
    assert desk.current().bounds.max_fee_rate_ppm == 1800 and applied[-1] is desk.current()
    # the file in the data dir is the layer a restart loads
    again = load_effective(None, tmp_path / "data", {})
    assert again.policy == desk.current() and again.sources["bounds.max_fee_rate_ppm"] == "page"
    # the preview decides the snapshots with the edit and without
    [(now, edited)] = desk.preview({}, [f"channels.{SCID}"])
    assert now.kind is DecisionKind.NO_ACTION and edited.kind is DecisionKind.LOWER_FEES
    undo = desk.undo(rec.policy_change_id, "web")
    assert undo.undoes == rec.policy_change_id and undo.new_layer == rec.old_layer == ""
    assert desk.current().bounds.max_fee_rate_ppm == 2500 and not desk.current().channels
    assert not page_path(tmp_path / "data").exists()
    with pytest.raises(PolicyRefused):
        desk.undo(rec.policy_change_id, "web")  # no longer the page's current layer
    with pytest.raises(PolicyRefused):
        desk.undo(999, "web")


def test_a_failed_file_write_journals_nothing(tmp_path, monkeypatch):
    desk, journal, applied = _desk(tmp_path)
    import mcp_optimizer.policies.desk as mod

    def refuse(*a, **k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(mod.os, "replace", refuse)
    with pytest.raises(PolicyRefused) as exc:
        desk.save({"cooldown_s": "100"}, [], "web")
    assert "nothing was changed" in str(exc.value)
    assert journal.policy_changes() == [] and applied == []
    assert desk.current().cooldown_s == 86400


def test_the_channel_builder_is_what_overrides_key_on():
    assert channel().chan_id == CHAN
