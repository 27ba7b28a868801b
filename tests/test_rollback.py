"""Rollback: one change, the last, or since a time, through the same journaled, verified path;
refusals for superseded, never-applied and closed-channel changes; the CLI verbs end to end
against the simulator over gRPC."""

from __future__ import annotations

import json
import subprocess
import sys

import msgspec
import pytest
from journal_sim import SimNode, key
from journal_support import Clock, MemoryNode, decision, make_channels

from mcp_optimizer.cli.main import main
from mcp_optimizer.journal import Journal, RollbackRefused
from mcp_optimizer.messages import ChangeOrigin, ChangeState, Gate, Mode
from mcp_optimizer.policies.config import load_policy
from mcp_optimizer.safety.actuator import Actuator, NodeUnavailable
from mcp_optimizer.scid import scid_text

POLICY = load_policy(environ={"MCP_POLICY__COOLDOWN_S": "0"})


@pytest.fixture
def live(tmp_path):
    clock = Clock()
    node = MemoryNode(make_channels(3))
    journal = Journal.open(tmp_path, clock)
    act = Actuator(journal, node, POLICY, tmp_path, environ={})
    act.set_mode(Mode.LIVE, by="test")
    act.observe(node.list_channels())
    yield act, node, clock
    act.close()
    journal.close()


def _apply(act, node, i, rate):
    ch = node.list_channels()[i]
    rec = act.apply_decision(decision(ch, rate), ch.channel_point)
    assert rec.state is ChangeState.VERIFIED, rec
    return rec


def test_rollback_restores_and_can_itself_be_undone(live):
    act, node, clock = live
    ch = node.list_channels()[0]
    before = ch.our_policy
    change = _apply(act, node, 0, 600)
    clock.advance(5)
    rb = act.rollback(change.change_id)
    assert rb.origin is ChangeOrigin.ROLLBACK and rb.rolls_back == [change.change_id]
    assert rb.state is ChangeState.VERIFIED
    assert key(node.get_policy(ch.chan_id)) == key(before)
    undo = act.rollback(rb.change_id)
    assert undo.rolls_back == [rb.change_id] and undo.state is ChangeState.VERIFIED
    assert node.get_policy(ch.chan_id).fee_rate_ppm == 600
    last = act.rollback_last()
    assert last.rolls_back == [undo.change_id]
    assert key(node.get_policy(ch.chan_id)) == key(before)


def test_superseded_and_never_applied_changes_are_refused(live):
    act, node, _ = live
    first = _apply(act, node, 0, 600)
    second = _apply(act, node, 0, 700)
    with pytest.raises(RollbackRefused, match=f"superseded by change {second.change_id}"):
        act.rollback(first.change_id)
    act.set_mode(Mode.SHADOW, by="test")
    ch = node.list_channels()[1]
    shadowed = act.apply_decision(decision(ch, 600), ch.channel_point)
    with pytest.raises(RollbackRefused, match="never applied .*state shadowed"):
        act.rollback(shadowed.change_id)
    with pytest.raises(RollbackRefused, match="no change 999"):
        act.rollback(999)
    assert node.get_policy(node.list_channels()[0].chan_id).fee_rate_ppm == 700


def test_closed_channel_is_a_clear_refusal(live):
    act, node, _ = live
    change = _apply(act, node, 0, 600)
    node.close(change.chan_id)
    with pytest.raises(RollbackRefused, match=f"channel {scid_text(change.chan_id)} is closed"):
        act.rollback(change.change_id)


def test_change_made_by_hand_since_is_recorded_and_refuses_the_rollback(live):
    act, node, _ = live
    change = _apply(act, node, 0, 600)
    ch = node.list_channels()[0]
    node.set_by_hand(ch.chan_id, msgspec.structs.replace(ch.our_policy, fee_rate_ppm=900))
    with pytest.raises(RollbackRefused, match="changed on the node since .*external change"):
        act.rollback(change.change_id)
    ext = act.journal.changes()[-1]
    assert ext.origin is ChangeOrigin.EXTERNAL and ext.new_policy.fee_rate_ppm == 900
    rb = act.rollback(ext.change_id)  # the operator's own change can be undone too
    assert rb.state is ChangeState.VERIFIED
    assert node.get_policy(ch.chan_id).fee_rate_ppm == 600


def test_unreachable_node_refuses_the_rollback_and_writes_nothing(live):
    act, node, _ = live
    change = _apply(act, node, 0, 600)
    count = len(act.journal.changes())
    node.down = True
    with pytest.raises(RollbackRefused, match="node unreachable; change .* not rolled back"):
        act.rollback(change.change_id)
    with pytest.raises(NodeUnavailable, match="cannot read the node"):
        ch = node.channels[change.chan_id]
        act.apply_decision(decision(ch, 650), ch.channel_point)
    assert len(act.journal.changes()) == count and len(node.writes) == 1
    node.down = False
    assert act.rollback(change.change_id).state is ChangeState.VERIFIED


def test_paused_rollback_is_held_and_journaled(live):
    act, node, _ = live
    change = _apply(act, node, 0, 600)
    act.pause(by="test")
    rb = act.rollback(change.change_id)
    assert rb.state is ChangeState.HELD and rb.stopped_by[0].gate is Gate.PAUSED
    assert node.get_policy(change.chan_id).fee_rate_ppm == 600


def test_rollback_is_not_held_by_the_breaker(live):
    act, node, _ = live
    change = _apply(act, node, 0, 600)
    node.fail_next_write = "boom"
    _ch = node.list_channels()[1]
    assert act.apply_decision(decision(_ch, 600), _ch.channel_point).state is ChangeState.FAILED
    assert act.open_crashes()
    assert act.rollback(change.change_id).state is ChangeState.VERIFIED


def test_rollback_since_restores_each_channel_with_one_write(live):
    act, node, clock = live
    before = {c.chan_id: key(c.our_policy) for c in node.list_channels()}
    _apply(act, node, 0, 550)
    clock.advance(100)
    since = int(clock())
    _apply(act, node, 1, 600)
    _apply(act, node, 1, 650)
    _apply(act, node, 2, 700)
    mid = {c.chan_id: key(c.our_policy) for c in node.list_channels()}
    writes = len(node.writes)
    done, refused, _skipped = act.rollback_since(since)
    assert refused == [] and len(done) == 2 and len(node.writes) == writes + 2
    assert all(r.state is ChangeState.VERIFIED for r in done)
    now = {c.chan_id: key(c.our_policy) for c in node.list_channels()}
    ids = [c.chan_id for c in node.list_channels()]
    assert now[ids[0]] == mid[ids[0]]  # changed before `since`: untouched
    assert now[ids[1]] == before[ids[1]] and now[ids[2]] == before[ids[2]]
    assert sorted(len(r.rolls_back) for r in done) == [1, 2]
    with pytest.raises(RollbackRefused, match="nothing to roll back"):
        act.rollback_since(int(clock()) + 10)



def test_rollback_last_and_since_take_changes_of_any_origin(live):
    """As RollbackLast and RollbackSince say: --last takes the latest effective change whoever
    made it (here one made by hand), --since undoes external changes too, channel by channel."""
    act, node, clock = live
    chans = node.list_channels()
    before = {c.chan_id: key(c.our_policy) for c in chans}
    since = int(clock())
    _apply(act, node, 1, 600)
    clock.advance(5)
    node.set_by_hand(chans[0].chan_id, msgspec.structs.replace(chans[0].our_policy,
                                                                fee_rate_ppm=900))
    act.observe(node.list_channels())
    ext = act.journal.changes()[-1]
    assert ext.origin is ChangeOrigin.EXTERNAL
    last = act.rollback_last()
    assert last.rolls_back == [ext.change_id] and last.state is ChangeState.VERIFIED
    assert key(node.get_policy(chans[0].chan_id)) == before[chans[0].chan_id]
    clock.advance(5)
    node.set_by_hand(chans[2].chan_id, msgspec.structs.replace(chans[2].our_policy,
                                                                fee_rate_ppm=800))
    act.observe(node.list_channels())
    done, refused, skipped = act.rollback_since(since)
    assert refused == []
    assert [r.chan_id for r in done] == sorted(r.chan_id for r in done)
    # channel 0's hand change was already undone by --last: nothing to write there
    assert {r.chan_id for r in done} == {chans[1].chan_id, chans[2].chan_id}
    assert len(skipped) == 1 and "would change nothing, skipped" in skipped[0]
    assert {c.chan_id: key(c.our_policy) for c in node.list_channels()} == before


def test_rollback_since_skips_channels_whose_changes_undid_themselves(live):
    """The new operator's case: after `rollback N` and `rollback --last`, `rollback --since`
    wrote and verified 54 -> 54 ppm. A rollback that would change nothing is reported, not
    written."""
    act, node, clock = live
    chans = node.list_channels()
    since = int(clock())
    first = _apply(act, node, 0, 600)
    clock.advance(5)
    act.rollback(first.change_id)  # channel 0 is back where it started
    clock.advance(5)
    _apply(act, node, 1, 650)
    writes = len(node.writes)
    done, refused, skipped = act.rollback_since(since)
    assert refused == [] and [r.chan_id for r in done] == [chans[1].chan_id]
    assert len(node.writes) == writes + 1  # one write, channel 1's
    assert len(skipped) == 1
    assert f"change {first.change_id}, " in skipped[0] and "skipped" in skipped[0]
    writes = len(node.writes)
    done, refused, skipped = act.rollback_since(since)  # now every channel is back
    assert done == [] and refused == [] and len(skipped) == 2
    assert len(node.writes) == writes

# ---- the CLI against the simulator over gRPC -------------------------------------------------


@pytest.fixture
def sim(tmp_path):
    node = SimNode(tmp_path / "sim")
    yield node
    node.close()


def _live_changes(sim, data_dir, rates):
    journal = Journal.open(data_dir)
    act = Actuator(journal, sim.client, POLICY, data_dir, environ={})
    act.set_mode(Mode.LIVE, by="test")
    chans = sim.client.list_channels()
    act.observe(chans)
    recs = []
    for ch, rate in zip(chans, rates, strict=False):
        recs.append(act.apply_decision(decision(ch, rate), ch.channel_point))
    act.close()
    journal.close()
    return chans, recs


def test_cli_rollback_history_and_ack_directly_against_the_node(
    sim, tmp_path, monkeypatch, capsys
):
    data = tmp_path / "data"
    chans = sim.client.list_channels()
    rates = [chans[0].our_policy.fee_rate_ppm + 20, chans[1].our_policy.fee_rate_ppm + 30]
    chans, recs = _live_changes(sim, data, rates)
    assert [r.state for r in recs] == [ChangeState.VERIFIED] * 2
    for k, v in sim.env().items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("MCP_POLICY__COOLDOWN_S", "0")
    common = ["--data-dir", str(data), "--socket", str(tmp_path / "no.sock")]

    assert main(["rollback", str(recs[0].change_id), *common]) == 0
    out = capsys.readouterr().out
    assert f"rollback of change {recs[0].change_id}" in out and "verified" in out
    assert sim.policies()[chans[0].chan_id] == key(chans[0].our_policy)

    assert main(["rollback", "--last", "--json", *common]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["changes"][0]["origin"] == "rollback" and got["refused"] == []
    # --last undid the rollback just made: the change is back on the node
    assert sim.policies()[chans[0].chan_id][1] == rates[0]

    assert main(["rollback", str(recs[0].change_id), *common]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("mcp-optimizer rollback: refused: change") and "superseded" in err
    assert "\n" not in err

    assert main(["history", "--json", "--data-dir", str(data)]) == 0
    hist = json.loads(capsys.readouterr().out)
    assert [h["origin"] for h in hist] == ["service", "service", "rollback", "rollback"]
    assert all(h["state"] == "verified" for h in hist)
    assert main(["history", "--channel", str(chans[1].chan_id), "--data-dir", str(data)]) == 0
    text = capsys.readouterr().out
    assert "test decision" in text and "verified" in text
    assert scid_text(chans[1].chan_id) in text and scid_text(chans[0].chan_id) not in text
    assert main(["history", "--since", "2h", "--data-dir", str(data)]) == 0
    assert main(["history", "--since", "yesterday", "--data-dir", str(data)]) == 2
    assert "--since 'yesterday' is not a time" in capsys.readouterr().err

    assert main(["ack-crash", *common]) == 0
    assert "nothing to acknowledge" in capsys.readouterr().out

    # everything since before the first change: both channels back to where they started
    assert main(["rollback", "--since", "1h", *common]) == 0
    out = capsys.readouterr().out
    assert out.count("verified") == 2
    assert sim.policies()[chans[0].chan_id] == key(chans[0].our_policy)
    assert sim.policies()[chans[1].chan_id] == key(chans[1].our_policy)


def test_cli_rollback_without_service_or_node_settings_is_one_line(tmp_path, monkeypatch):
    for var in ("MCP_LND_HOST", "MCP_LND_TLS_CERT", "MCP_LND_MACAROON", "MCP_LND_DIR"):
        monkeypatch.delenv(var, raising=False)
    with Journal.open(tmp_path):
        pass
    r = subprocess.run(
        [sys.executable, "-m", "mcp_optimizer", "rollback", "--last", "--data-dir",
         str(tmp_path)],
        capture_output=True, text=True, timeout=60,
    )
    assert r.returncode == 1
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert "no service answers" in r.stderr and "MCP_LND_TLS_CERT" in r.stderr


def test_cli_on_a_corrupt_journal_is_one_line_and_leaves_it(tmp_path):
    path = tmp_path / "journal.sqlite3"
    path.write_bytes(b"garbage" * 1000)
    r = subprocess.run(
        [sys.executable, "-m", "mcp_optimizer", "history", "--data-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=60,
    )
    assert r.returncode == 1 and "not an SQLite database" in r.stderr
    assert r.stderr.count("\n") == 1
    assert path.read_bytes() == b"garbage" * 1000
