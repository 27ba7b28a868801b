"""Compaction of routine records (journal/compaction.py): past the retention window, NO_ACTION
decisions and proposals stopped only by routine gates become daily summaries; every change
that changed (or would have changed) the node, every non-routine stop, every rollback and the
decisions behind them are kept whole; the compaction is journaled; decisions, history and
rollback keep working on the compacted journal, reopened."""

from __future__ import annotations

import msgspec
import pytest
from journal_support import Clock, MemoryNode, decision, make_channels

from mcp_optimizer.journal import Journal
from mcp_optimizer.journal.compaction import ROUTINE_GATES, CompactionSettings
from mcp_optimizer.journal.states import EFFECTIVE_STATES
from mcp_optimizer.messages import (
    ChangeOrigin,
    ChangeState,
    DecisionKind,
    FromDecision,
    Mode,
)
from mcp_optimizer.policies.config import load_policy
from mcp_optimizer.safety.actuator import Actuator

POLICY = load_policy(environ={})
DAY = 86_400


def _run_days(act, node, clock, days: int) -> None:
    """Four cycles a day: channel 0 idle (NO_ACTION), channel 1 proposed a change every cycle
    (changed once, then held by the cooldown), channel 2 proposed far outside the bounds
    (refused: kept), channel 3 changed by hand once a week (EXTERNAL: kept)."""
    chans = node.list_channels()
    points = {c.chan_id: c.channel_point for c in chans}
    cycle = 0
    for day in range(days):
        for _ in range(4):
            cycle += 1
            now = node.list_channels()
            if day % 7 == 3 and cycle % 4 == 1:
                ch3 = now[3]
                node.set_by_hand(ch3.chan_id, msgspec.structs.replace(
                    ch3.our_policy, fee_rate_ppm=ch3.our_policy.fee_rate_ppm + 1))
                now = node.list_channels()
            act.observe(now)
            ds = [
                decision(now[0], now[0].our_policy.fee_rate_ppm, kind=DecisionKind.NO_ACTION),
                decision(now[1], now[1].our_policy.fee_rate_ppm + 20 + cycle % 3),
                decision(now[2], 90_000),
            ]
            act.act_on(ds, points, cycle_id=cycle)
            clock.advance(6 * 3600)


@pytest.fixture
def rig(tmp_path):
    clock = Clock()
    node = MemoryNode(make_channels(4))
    journal = Journal.open(tmp_path, clock)
    act = Actuator(journal, node, POLICY, tmp_path, environ={})
    act.set_mode(Mode.DRY_RUN, by="test")
    yield act, node, clock, journal, tmp_path
    act.close()
    journal.close()


def _kept(rec) -> bool:
    if rec.state not in (ChangeState.HELD, ChangeState.REFUSED):
        return True
    if rec.origin is not ChangeOrigin.SERVICE:
        return True
    routine = ROUTINE_GATES
    return not rec.stopped_by or any(s.gate not in routine for s in rec.stopped_by)


def test_compaction_keeps_every_change_and_its_reasons(rig):
    act, node, clock, journal, tmp_path = rig
    _run_days(act, node, clock, 30)
    changes_before = journal.changes()
    decisions_before = {i: d for i, _, d in journal.decisions(limit=10**6)}
    before_s = journal.now_s() - 14 * DAY
    record = journal.compact(before_s, by="test")

    after = {c.change_id: c for c in journal.changes()}
    kept = [c for c in changes_before if _kept(c) or c.requested_at_s >= before_s]
    gone = [c for c in changes_before if c not in kept]
    assert gone and all(c.state is ChangeState.HELD for c in gone)
    # every kept change is exactly as it was, events and reasons included
    assert [after[c.change_id] for c in kept] == kept
    assert set(after) == {c.change_id for c in kept}
    assert {c.state for c in kept} >= {
        ChangeState.NOT_EXECUTED, ChangeState.REFUSED, ChangeState.EXTERNAL, ChangeState.HELD
    }
    # and so is every decision that led to one of them
    decisions_after = {i: d for i, _, d in journal.decisions(limit=10**6)}
    for c in kept:
        if isinstance(c.decision, FromDecision):
            assert decisions_after[c.decision.decision_id] == decisions_before[
                c.decision.decision_id
            ]
    # routine decisions before the window are gone, those after it kept
    removed = set(decisions_before) - set(decisions_after)
    assert len(removed) == record.decisions_removed > 0
    assert len(gone) == record.changes_removed
    assert all(decisions_before[i].kind is DecisionKind.NO_ACTION or any(
        g.decision.decision_id == i for g in gone) for i in removed)
    # the summaries account for every record removed, per channel and day
    days = journal.routine_days()
    assert sum(r[4] for r in days) == record.decisions_removed
    assert {r[3] for r in days} == {"no action", "held"}
    assert all(r[1] % DAY == 0 and r[1] < before_s for r in days)
    held = [r for r in days if r[3] == "held"]
    assert held and all(r[7] == "cooldown" for r in held)
    assert all(r[7] == "" for r in days if r[3] == "no action")
    # journaled; a second run finds nothing more
    again = journal.compact(before_s, by="test")
    assert (again.decisions_removed, again.changes_removed) == (0, 0)
    assert [c.compaction_id for c in journal.compactions()] == [
        record.compaction_id, again.compaction_id
    ]


def test_history_decisions_and_rollback_work_on_the_compacted_journal_reopened(rig):
    act, node, clock, journal, tmp_path = rig
    _run_days(act, node, clock, 20)
    done = journal.compact_if_due(CompactionSettings(keep_s=7 * DAY, every_s=DAY))
    assert done is not None and done.decisions_removed > 0
    assert journal.compact_if_due(CompactionSettings(keep_s=7 * DAY, every_s=DAY)) is None
    assert journal.compact_if_due(CompactionSettings(keep_s=0)) is None
    act.close()
    journal.close()
    with Journal.open(tmp_path, clock) as reopened, Actuator(
        reopened, node, POLICY, tmp_path, environ={}
    ) as act2:
        assert reopened.decisions(limit=5)
        effective = reopened.changes(states_in=EFFECTIVE_STATES)
        assert effective and effective[-1].origin is ChangeOrigin.EXTERNAL
        act2.set_mode(Mode.LIVE, by="test")
        undone = act2.rollback_last()
        assert undone.state is ChangeState.VERIFIED
        assert undone.rolls_back == [effective[-1].change_id]


def test_settings_from_the_environment():
    assert CompactionSettings.from_env({}) == CompactionSettings(3 * DAY, DAY)
    assert CompactionSettings.from_env({"MCP_JOURNAL_KEEP_DAYS": "3"}).keep_s == 3 * DAY
    with pytest.raises(Exception, match="MCP_JOURNAL_KEEP_DAYS='x'"):
        CompactionSettings.from_env({"MCP_JOURNAL_KEEP_DAYS": "x"})
