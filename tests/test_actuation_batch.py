"""A cycle's decisions through the batched write path (``Actuator.act_on``): what writes
nothing to the node is journaled in one transaction, the gates' counters are read once and
counted on, and a live write still commits its INTENT (and the decisions before it) before
the node is called, then stops the batch (the cycle sends the rest again)."""

from __future__ import annotations

import sqlite3

import pytest
from journal_support import Clock, MemoryNode, decision, make_channels

from mcp_optimizer.journal import Journal, journal_path
from mcp_optimizer.messages import ChangeState, DecisionKind, Gate, Mode
from mcp_optimizer.policies.config import load_policy
from mcp_optimizer.safety.actuator import Actuator, NodeUnavailable

POLICY = load_policy(environ={})


class CountingNode(MemoryNode):
    """A MemoryNode that also offers one read of many policies, and counts the reads."""

    def __init__(self, channels):
        super().__init__(channels)
        self.single_reads = 0
        self.batch_reads = 0

    def get_policy(self, chan_id):
        self.single_reads += 1
        return super().get_policy(chan_id)

    def get_policies(self, chan_ids):
        self._check_up()
        self.batch_reads += 1
        with self._lock:
            return {c: self.channels[c].our_policy for c in chan_ids if c in self.channels}


@pytest.fixture
def rig(tmp_path):
    clock = Clock()
    node = CountingNode(make_channels(8))
    journal = Journal.open(tmp_path, clock)
    act = Actuator(journal, node, POLICY, tmp_path, environ={"MCP_MAX_CHANGES_PER_HOUR": "3"})
    act.observe(node.list_channels())
    yield act, node, journal, tmp_path
    act.close()
    journal.close()


def _commits(journal: Journal) -> list[str]:
    seen: list[str] = []
    journal._con.set_trace_callback(
        lambda sql: seen.append(sql) if sql.strip().upper() == "COMMIT" else None
    )
    return seen


def _decisions(node, rates):
    chans = node.list_channels()
    out = []
    for ch, rate in zip(chans, rates, strict=False):
        if rate is None:
            out.append(decision(ch, ch.our_policy.fee_rate_ppm, kind=DecisionKind.NO_ACTION))
        else:
            out.append(decision(ch, rate))
    return out, {c.chan_id: c.channel_point for c in chans}


def test_dry_run_cycle_is_one_transaction_and_counts_caps_as_it_goes(rig):
    act, node, journal, _ = rig
    act.set_mode(Mode.DRY_RUN, by="test")
    decisions, points = _decisions(node, [550, None, 560, 570, None, 580, 590, 5000])
    commits = _commits(journal)
    acted = act.act_on(decisions, points, cycle_id=7)
    journal._con.set_trace_callback(None)
    assert len(commits) == 1
    assert [d.chan_id for d, _ in acted] == [d.chan_id for d in decisions]
    states = [None if r is None else r.state for _, r in acted]
    # the hourly cap (3) counts the NOT_EXECUTED changes recorded earlier in the same batch
    assert states == [
        ChangeState.NOT_EXECUTED, None, ChangeState.NOT_EXECUTED, ChangeState.NOT_EXECUTED,
        None, ChangeState.HELD, ChangeState.HELD, ChangeState.REFUSED,
    ]
    assert Gate.HOURLY_CAP in {s.gate for s in acted[5][1].stopped_by}
    assert node.writes == [] and node.batch_reads == 1 and node.single_reads == 0
    assert len(journal.decisions(cycle_id=7)) == 8
    # every change keeps its decision and reasons
    for d, rec in acted:
        if rec is not None:
            assert rec.decision.decision_id > 0 and rec.reasons == list(d.reasons)


def test_a_changed_node_is_seen_by_the_batched_read(rig):
    act, node, journal, _ = rig
    act.set_mode(Mode.DRY_RUN, by="test")
    decisions, points = _decisions(node, [550])
    ch = node.list_channels()[0]
    node.set_by_hand(ch.chan_id, ch.our_policy.__class__(
        **{**{f: getattr(ch.our_policy, f) for f in ch.our_policy.__struct_fields__},
           "fee_rate_ppm": 777}))
    [(_, rec)] = act.act_on(decisions, points)
    assert rec.state is ChangeState.REFUSED
    assert Gate.STALE_DECISION in {s.gate for s in rec.stopped_by}
    assert [c.state for c in journal.changes(chan_id=ch.chan_id)] == [
        ChangeState.EXTERNAL, ChangeState.REFUSED
    ]


def test_live_write_commits_intent_and_earlier_decisions_before_the_node_call(rig):
    act, node, journal, tmp_path = rig
    act.set_mode(Mode.LIVE, by="test")
    decisions, points = _decisions(node, [None, None, 550, 560])
    seen_at_write = {}
    orig = node.update_policy

    def checking_update(point, new):
        # another connection sees only what is committed (on disk)
        other = sqlite3.connect(f"file:{journal_path(tmp_path)}?mode=ro", uri=True)
        try:
            seen_at_write["decisions"] = other.execute(
                "SELECT count(*) FROM decisions WHERE cycle_id=3").fetchone()[0]
            seen_at_write["states"] = [r[0] for r in other.execute(
                "SELECT state FROM changes WHERE origin='service' ORDER BY id")]
        finally:
            other.close()
        return orig(point, new)

    node.update_policy = checking_update
    first = act.act_on(decisions, points, cycle_id=3)
    # the batch stops after the first live write: the 4th decision is left for the next call
    assert [d.chan_id for d, _ in first] == [d.chan_id for d in decisions[:3]]
    assert seen_at_write == {"decisions": 3, "states": ["intent"]}
    rec = first[2][1]
    assert [e.state for e in rec.events] == [
        ChangeState.INTENT, ChangeState.APPLIED, ChangeState.VERIFIED
    ]
    rest = act.act_on(decisions[3:], points, cycle_id=3)
    assert len(rest) == 1 and rest[0][1].state is ChangeState.VERIFIED
    assert len(node.writes) == 2


def test_safe_mode_holds_all_in_one_transaction(rig):
    act, node, journal, _ = rig
    decisions, points = _decisions(node, [550, None, 560])
    commits = _commits(journal)
    acted = act.act_on(decisions, points, held_reason="test escalation")
    journal._con.set_trace_callback(None)
    assert len(commits) == 1
    assert [None if r is None else r.state for _, r in acted] == [
        ChangeState.HELD, None, ChangeState.HELD
    ]
    assert node.writes == [] and node.batch_reads == 0 and node.single_reads == 0


def test_node_down_fails_the_actions_and_keeps_the_decisions(rig):
    act, node, journal, _ = rig
    act.set_mode(Mode.DRY_RUN, by="test")
    decisions, points = _decisions(node, [550, None])
    node.down = True
    acted = act.act_on(decisions, points, cycle_id=9)
    assert isinstance(acted[0][1], NodeUnavailable) and acted[1][1] is None
    assert len(journal.decisions(cycle_id=9)) == 2
    assert journal.changes() == []


def test_observe_records_baselines_in_one_transaction(tmp_path):
    node = CountingNode(make_channels(20))
    with Journal.open(tmp_path, Clock()) as journal, Actuator(
        journal, node, POLICY, tmp_path, environ={}
    ) as act:
        commits = _commits(journal)
        assert act.observe(node.list_channels()) == []
        journal._con.set_trace_callback(None)
        assert len(commits) == 1
        assert len(journal.known_policies()) == 20


def test_routine_holds_are_one_log_line_each_other_change_its_own(rig):
    from loguru import logger

    act, node, journal, _ = rig
    act.set_mode(Mode.DRY_RUN, by="test")
    decisions, points = _decisions(node, [550, None, 560, 570, None, 580, 590, 5000])
    lines: list[tuple[str, str]] = []
    sink = logger.add(lambda m: lines.append((m.record["level"].name, m.record["message"])),
                      level="DEBUG")
    try:
        acted = act.act_on(decisions, points, cycle_id=7)
    finally:
        logger.remove(sink)
    held = [r for _, r in acted if r is not None and r.state is ChangeState.HELD]
    assert len(held) == 2  # by the hourly cap: routine, journaled each
    assert all(journal.change(r.change_id).state is ChangeState.HELD for r in held)
    changes = [msg for _, msg in lines if msg.startswith("change ")]
    assert len(changes) == 4 and not any(": held:" in m for m in changes), changes
    assert sum(": not_executed:" in m for m in changes) == 3
    assert sum(": refused:" in m for m in changes) == 1  # a bound: not routine, its own line
    [summary] = [(lvl, m) for lvl, m in lines if "routine change" in m]
    assert summary == ("INFO", "2 routine change(s) journaled, none written to the node: "
                       "2 held (hourly_cap 2) (each in `history`)")
    # a hold that is not the operator's own setting (safe mode) keeps its own line
    lines.clear()
    sink = logger.add(lambda m: lines.append((m.record["level"].name, m.record["message"])),
                      level="DEBUG")
    try:
        act.act_on(decisions[:1], points, held_reason="test escalation")
    finally:
        logger.remove(sink)
    assert len([m for _, m in lines if ": held: the service is in safe mode" in m]) == 1
    assert not any("routine change" in m for _, m in lines)
