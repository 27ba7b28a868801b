"""The journaled write path: modes, gates, failures, mismatches, the kill switch, the circuit
breaker, external changes and reconciliation (node faults come from an in-memory node)."""

from __future__ import annotations

import msgspec
import pytest
from builders import policy
from journal_support import Clock, MemoryNode, decision, make_channels

from mcp_optimizer.journal import Journal
from mcp_optimizer.messages import (
    ChangeAction,
    ChangeOrigin,
    ChangeState,
    CrashKind,
    DecisionKind,
    FromDecision,
    Gate,
    Mode,
)
from mcp_optimizer.policies.config import load_policy
from mcp_optimizer.safety.actuator import Actuator, NodeUnavailable, WriterBusy
from mcp_optimizer.safety.settings import SettingsError

POLICY = load_policy(environ={})


@pytest.fixture
def rig(tmp_path):
    clock = Clock()
    node = MemoryNode(make_channels(3))
    journal = Journal.open(tmp_path, clock)
    act = Actuator(journal, node, POLICY, tmp_path, environ={})
    act.observe(node.list_channels())
    yield act, node, clock
    act.close()
    journal.close()


def _ch(node, i=0):
    return node.list_channels()[i]


def test_shadow_records_what_it_would_do_and_writes_nothing(rig):
    act, node, clock = rig
    assert act.mode() is Mode.SHADOW
    ch = _ch(node)
    rec = act.apply_decision(decision(ch, 550), ch.channel_point)
    assert rec.state is ChangeState.SHADOWED and rec.mode is Mode.SHADOW
    assert node.writes == []
    clock.advance(60)
    again = act.apply_decision(decision(ch, 600), ch.channel_point)
    assert again.state is ChangeState.HELD
    assert [s.gate for s in again.stopped_by] == [Gate.COOLDOWN]
    assert act.apply_decision(decision(ch, 500, kind=DecisionKind.NO_ACTION), "x") is None
    assert len(act.journal.decisions()) == 3


def test_dry_run_goes_up_to_the_node_call(rig):
    act, node, _ = rig
    act.set_mode(Mode.DRY_RUN, by="test")
    ch = _ch(node)
    rec = act.apply_decision(decision(ch, 550), ch.channel_point)
    assert rec.state is ChangeState.NOT_EXECUTED and node.writes == []
    refused = act.apply_decision(decision(_ch(node, 1), 5000), _ch(node, 1).channel_point)
    assert refused.state is ChangeState.REFUSED
    assert {s.gate for s in refused.stopped_by} == {Gate.FEE_BOUNDS, Gate.MAX_STEP}


def test_live_write_is_intent_applied_verified(rig):
    act, node, _ = rig
    act.set_mode(Mode.LIVE, by="test")
    ch = _ch(node)
    rec = act.apply_decision(decision(ch, 550), ch.channel_point, cycle_id=0)
    assert [e.state for e in rec.events] == [
        ChangeState.INTENT, ChangeState.APPLIED, ChangeState.VERIFIED
    ]
    assert rec.origin is ChangeOrigin.SERVICE and isinstance(rec.decision, FromDecision)
    [(decision_id, _, journaled)] = act.journal.decisions(chan_id=ch.chan_id)
    assert rec.decision == FromDecision(decision_id=decision_id) and decision_id > 0
    assert journaled.proposed_policy.fee_rate_ppm == 550
    assert node.get_policy(ch.chan_id).fee_rate_ppm == 550
    assert act.journal.known_policy(ch.chan_id).policy.fee_rate_ppm == 550
    assert rec.old_policy == ch.our_policy


def test_failed_write_opens_the_breaker_until_acknowledged(rig):
    act, node, clock = rig
    act.set_mode(Mode.LIVE, by="test")
    a, b = _ch(node, 0), _ch(node, 1)
    node.fail_next_write = "rpc error: channel busy"
    rec = act.apply_decision(decision(a, 550), a.channel_point)
    assert rec.state is ChangeState.FAILED
    assert "channel busy" in rec.events[-1].detail
    [crash] = act.open_crashes()
    assert crash.kind is CrashKind.ACTUATION_ERROR
    held = act.apply_decision(decision(b, 550), b.channel_point)
    assert held.state is ChangeState.HELD
    assert [s.gate for s in held.stopped_by] == [Gate.CIRCUIT_BREAKER]
    assert node.writes == []
    assert [c.crash_id for c in act.ack_crashes()] == [crash.crash_id]
    ok = act.apply_decision(decision(b, 550), b.channel_point)
    assert ok.state is ChangeState.VERIFIED


def test_call_that_fails_after_the_node_applied_is_verified_not_failed(rig):
    act, node, _ = rig
    act.set_mode(Mode.LIVE, by="test")
    ch = _ch(node)
    node.fail_after_apply = "deadline exceeded"
    rec = act.apply_decision(decision(ch, 550), ch.channel_point)
    assert rec.state is ChangeState.VERIFIED
    assert "deadline exceeded; yet the node shows the policy written" in rec.events[-1].detail
    assert [c.kind for c in act.open_crashes()] == [CrashKind.ACTUATION_ERROR]
    assert act.journal.known_policy(ch.chan_id).policy.fee_rate_ppm == 550


def test_unreadable_read_back_stays_pending_until_reconciled(rig):
    act, node, _ = rig
    act.set_mode(Mode.LIVE, by="test")
    ch = _ch(node)
    node.fail_next_read = "read timed out"
    # the first read (before the write) fails too: nothing is written, nothing journaled
    with pytest.raises(NodeUnavailable):
        act.apply_decision(decision(ch, 550), ch.channel_point)
    assert node.writes == [] and act.journal.changes() == []
    node.fail_after_apply = "deadline exceeded"
    orig = node.get_policy
    calls = []

    def flaky(chan_id):
        calls.append(chan_id)
        if len(calls) == 2:  # the read after the failed call
            raise TimeoutError("read timed out")
        return orig(chan_id)

    node.get_policy = flaky
    rec = act.apply_decision(decision(ch, 550), ch.channel_point)
    assert rec.state is ChangeState.INTENT
    assert "stays pending" in act.open_crashes()[-1].detail
    node.get_policy = orig
    [done] = act.reconcile()
    assert done.change_id == rec.change_id and done.state is ChangeState.VERIFIED


def test_read_back_mismatch_is_recorded_and_opens_the_breaker(rig):
    act, node, _ = rig
    act.set_mode(Mode.LIVE, by="test")
    ch = _ch(node)
    node.tamper_next_write = True
    rec = act.apply_decision(decision(ch, 550), ch.channel_point)
    assert rec.state is ChangeState.MISMATCHED
    assert rec.observed_policy.fee_rate_ppm == 551
    assert act.open_crashes()[0].kind is CrashKind.VERIFICATION_MISMATCH
    assert act.journal.known_policy(ch.chan_id).policy.fee_rate_ppm == 551


@pytest.mark.parametrize("how", ["api", "file", "env"])
def test_kill_switch_holds_every_live_write(tmp_path, how):
    node = MemoryNode(make_channels(1))
    journal = Journal.open(tmp_path)
    env = {"MCP_PAUSED": "yes"} if how == "env" else {}
    act = Actuator(journal, node, POLICY, tmp_path, environ=env)
    try:
        act.set_mode(Mode.LIVE, by="test")
        if how == "api":
            act.pause(by="test")
        elif how == "file":
            (tmp_path / "PAUSED").write_text("")
        state = act.pause_state()
        assert state.paused and len(state.sources) == 1
        ch = _ch(node)
        rec = act.apply_decision(decision(ch, 550), ch.channel_point)
        assert rec.state is ChangeState.HELD and rec.stopped_by[0].gate is Gate.PAUSED
        assert node.writes == []
        if how == "api":
            assert not act.resume(by="test").paused
            assert act.apply_decision(decision(ch, 550), ch.channel_point).state is (
                ChangeState.VERIFIED
            )
    finally:
        act.close()
        journal.close()


def test_bad_settings_are_named(tmp_path):
    with Journal.open(tmp_path) as journal:
        with pytest.raises(SettingsError, match="MCP_PAUSED='maybe'"):
            Actuator(journal, MemoryNode([]), POLICY, tmp_path, environ={"MCP_PAUSED": "maybe"})
        with pytest.raises(SettingsError, match="MCP_MAX_CHANGES_PER_HOUR='x'"):
            Actuator(
                journal, MemoryNode([]), POLICY, tmp_path,
                environ={"MCP_MAX_CHANGES_PER_HOUR": "x"},
            )


def test_external_change_is_recorded_and_not_overwritten_within_cooldown(rig):
    act, node, clock = rig
    act.set_mode(Mode.LIVE, by="test")
    ch = _ch(node)
    by_hand = msgspec.structs.replace(ch.our_policy, fee_rate_ppm=777)
    node.set_by_hand(ch.chan_id, by_hand)
    clock.advance(10)
    [ext] = act.observe(node.list_channels())
    assert ext.origin is ChangeOrigin.EXTERNAL and ext.state is ChangeState.EXTERNAL
    assert ext.old_policy.fee_rate_ppm == 500 and ext.new_policy.fee_rate_ppm == 777
    assert act.observe(node.list_channels()) == []  # recorded once
    fresh = _ch(node)
    rec = act.apply_decision(decision(fresh, 800), fresh.channel_point)
    assert rec.state is ChangeState.HELD
    assert rec.stopped_by[0].gate is Gate.COOLDOWN and "external" in rec.stopped_by[0].reason
    clock.advance(POLICY.cooldown_s)
    assert act.apply_decision(decision(fresh, 800), fresh.channel_point).state is (
        ChangeState.VERIFIED
    )


def test_external_change_found_at_write_time_makes_the_decision_stale(rig):
    act, node, _ = rig
    act.set_mode(Mode.LIVE, by="test")
    ch = _ch(node)
    node.set_by_hand(ch.chan_id, msgspec.structs.replace(ch.our_policy, fee_rate_ppm=777))
    rec = act.apply_decision(decision(ch, 550), ch.channel_point)  # decided on 500
    assert rec.state is ChangeState.REFUSED
    assert {s.gate for s in rec.stopped_by} >= {Gate.STALE_DECISION, Gate.COOLDOWN}
    assert [c.origin for c in act.journal.changes()] == [
        ChangeOrigin.EXTERNAL, ChangeOrigin.SERVICE
    ]
    assert node.writes == []


def test_hourly_cap_counts_all_channels(tmp_path):
    node = MemoryNode(make_channels(3))
    with Journal.open(tmp_path) as journal:
        act = Actuator(journal, node, POLICY, tmp_path, environ={"MCP_MAX_CHANGES_PER_HOUR": "2"})
        act.set_mode(Mode.LIVE, by="test")
        states = [
            act.apply_decision(decision(c, 550), c.channel_point).state
            for c in node.list_channels()
        ]
        assert states == [ChangeState.VERIFIED, ChangeState.VERIFIED, ChangeState.HELD]
        assert journal.changes()[-1].stopped_by[0].gate is Gate.HOURLY_CAP
        act.close()


def test_safe_mode_holds_and_journals_without_touching_the_node(rig):
    act, node, _ = rig
    act.set_mode(Mode.LIVE, by="test")
    ch = _ch(node)
    node.down = True  # not even read
    rec = act.hold_decision(decision(ch, 550), ch.channel_point, "decider restarted 5 times")
    assert rec.state is ChangeState.HELD and rec.stopped_by[0].gate is Gate.SAFE_MODE
    assert "decider restarted 5 times" in rec.stopped_by[0].reason
    no_action = decision(ch, 500, kind=DecisionKind.NO_ACTION)
    assert act.hold_decision(no_action, ch.channel_point, "x") is None
    assert len(act.journal.decisions()) == 2 and node.writes == []


def test_close_is_journaled_and_refused(rig):
    act, node, _ = rig
    act.set_mode(Mode.LIVE, by="test")
    ch = _ch(node)
    d = decision(ch, 500, kind=DecisionKind.CLOSE_CHANNEL, executable=False)
    rec = act.apply_decision(d, ch.channel_point)
    assert rec.action is ChangeAction.CLOSE_CHANNEL and rec.state is ChangeState.REFUSED
    assert rec.stopped_by[0].gate is Gate.CLOSE_DISABLED
    assert node.list_channels()[0].chan_id == ch.chan_id


def test_closed_channel_is_refused(rig):
    act, node, _ = rig
    act.set_mode(Mode.LIVE, by="test")
    ch = _ch(node)
    node.close(ch.chan_id)
    rec = act.apply_decision(decision(ch, 550), ch.channel_point)
    assert rec.state is ChangeState.REFUSED and rec.stopped_by[0].gate is Gate.CHANNEL_CLOSED
    act.observe(node.list_channels())
    assert not act.journal.known_policy(ch.chan_id).open


@pytest.mark.parametrize(
    "on_node, expected",
    [(550, ChangeState.VERIFIED), (500, ChangeState.FAILED), (612, ChangeState.MISMATCHED)],
)
def test_reconciliation_resolves_an_interrupted_write(tmp_path, on_node, expected):
    node = MemoryNode(make_channels(1))
    ch = _ch(node)
    with Journal.open(tmp_path) as journal:
        journal.set_baseline(ch.chan_id, ch.channel_point, ch.our_policy)
        cid = journal.record_change(  # what a killed process leaves behind
            chan_id=ch.chan_id, channel_point=ch.channel_point, origin=ChangeOrigin.SERVICE,
            mode=Mode.LIVE, state=ChangeState.INTENT, old_policy=ch.our_policy,
            new_policy=policy(fee_rate_ppm=550), reasons=["r"], detail="about to write",
        )
    node.set_by_hand(ch.chan_id, msgspec.structs.replace(ch.our_policy, fee_rate_ppm=on_node))
    with Journal.open(tmp_path) as journal:
        act = Actuator(journal, node, POLICY, tmp_path, environ={})
        [rec] = act.reconcile()
        assert rec.change_id == cid and rec.state is expected
        assert "interruption" in rec.events[-1].detail
        assert journal.known_policy(ch.chan_id).policy.fee_rate_ppm == on_node
        assert [c.kind for c in act.open_crashes()] == [CrashKind.INTERRUPTED_WRITE]
        assert act.reconcile() == []
        act.close()


def test_one_writer_per_data_dir(rig, tmp_path):
    act, node, _ = rig
    with pytest.raises(WriterBusy, match="control socket"):
        Actuator(act.journal, node, POLICY, tmp_path, environ={})


def test_concurrent_writers_and_readers_in_one_process(tmp_path):
    import threading

    node = MemoryNode(make_channels(4))
    clock = Clock()
    env = {"MCP_MAX_CHANGES_PER_HOUR": "1000", "MCP_MAX_CHANGES_PER_DAY": "1000"}
    policy = load_policy(environ={"MCP_POLICY__COOLDOWN_S": "0"})
    with Journal.open(tmp_path, clock) as journal:
        act = Actuator(journal, node, policy, tmp_path, environ=env)
        act.set_mode(Mode.LIVE, by="test")
        act.observe(node.list_channels())
        errors = []

        def writer(i):
            try:
                for k in range(15):
                    ch = node.list_channels()[i]
                    rate = 510 if k % 2 else 490
                    act.apply_decision(decision(ch, rate), ch.channel_point)
            except Exception as exc:  # noqa: BLE001
                errors.append(exc)

        def reader():
            try:
                for _ in range(30):
                    journal.changes()
                    journal.crashes()
                    act.pause_state()
            except Exception as exc:  # noqa: BLE001
                errors.append(exc)

        threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
        threads += [threading.Thread(target=reader) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert errors == []
        recs = journal.changes()
        assert len(recs) == 60 and all(r.state is ChangeState.VERIFIED for r in recs)
        assert len(node.writes) == 60
        for k in journal.known_policies():
            assert k.policy == node.get_policy(k.chan_id)
        act.close()
