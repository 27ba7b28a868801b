"""Properties of the write path, driven by hypothesis through the actuator against the real
simulator over gRPC: every change applied on the node is in the journal; after each cycle's
observation the journal agrees with the node; every applied change can be rolled back (the
node then shows the old policy); no change made by the service breaks a gate."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from journal_sim import SimNode, key
from journal_support import Clock, decision

from mcp_optimizer.journal import Journal, RollbackRefused
from mcp_optimizer.messages import ChangeOrigin, ChangeState, Gate, Mode
from mcp_optimizer.policies.config import load_policy
from mcp_optimizer.safety import gates
from mcp_optimizer.safety.actuator import Actuator

POLICY = load_policy(environ={"MCP_POLICY__COOLDOWN_S": "600"})
SAFETY_ENV = {"MCP_MAX_CHANGES_PER_HOUR": "4", "MCP_MAX_CHANGES_PER_DAY": "10"}
APPLIED = (ChangeState.VERIFIED, ChangeState.MISMATCHED)


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    node = SimNode(tmp_path_factory.mktemp("sim"))
    yield node
    node.close()


DECIDE = st.tuples(st.just("decide"), st.integers(0, 20), st.integers(-400, 400))
ops = st.lists(
    st.one_of(
        DECIDE,
        DECIDE,
        DECIDE,
        st.tuples(st.just("external"), st.integers(0, 20), st.integers(1, 3000)),
        st.tuples(st.just("rollback_last")),
        st.tuples(st.just("rollback_one"), st.integers(0, 60)),
        st.tuples(st.just("advance"), st.sampled_from([1, 60, 600, 3600, 86400])),
        st.tuples(st.just("advance"), st.sampled_from([600, 3600])),
        st.tuples(st.just("mode"), st.sampled_from(list(Mode))),
        st.tuples(st.just("observe")),
    ),
    min_size=3,
    max_size=24,
)


def _check_journal_matches_node_writes(j: Journal, sim: SimNode, start: int) -> None:
    written = [
        (c.channel_point, key(c.new_policy))
        for c in j.changes()
        if c.origin is not ChangeOrigin.EXTERNAL and c.state in APPLIED
    ]
    assert written == sim.writes[start:]


def _check_gates(j: Journal) -> None:
    changes = j.changes()
    service = [c for c in changes if c.origin is ChangeOrigin.SERVICE and c.state in APPLIED]
    for w in service:
        assert gates.check_bounds(w.new_policy, POLICY) == []
        assert gates.check_step(w.old_policy, w.new_policy, POLICY) == []
        assert gates.check_min_change(w.old_policy, w.new_policy, POLICY) == []
        earlier = [
            c for c in changes
            if c.chan_id == w.chan_id and c.change_id < w.change_id
            and c.state in (*APPLIED, ChangeState.EXTERNAL)
        ]
        if earlier:
            assert w.requested_at_s - earlier[-1].requested_at_s >= POLICY.cooldown_s
        in_hour = [s for s in service if 0 <= w.requested_at_s - s.requested_at_s < 3600]
        assert len(in_hour) <= 4
        in_day = [s for s in service if 0 <= w.requested_at_s - s.requested_at_s < 86400]
        assert len(in_day) <= 10
        assert w.mode is Mode.LIVE


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=ops)
def test_write_path_properties_against_the_simulator(sim, steps):
    data = Path(tempfile.mkdtemp(prefix="journal-prop-"))
    clock = Clock()
    journal = Journal.open(data, clock)
    act = Actuator(journal, sim.client, POLICY, data, environ=SAFETY_ENV)
    start = len(sim.writes)
    initial = sim.policies()
    try:
        act.set_mode(Mode.LIVE, by="test")
        act.observe(sim.client.list_channels())
        began = journal.now_s()
        chans = sim.client.list_channels()
        for op in steps:
            name = op[0]
            if name == "decide":
                ch = chans[op[1] % len(chans)]
                now = sim.client.get_policy(ch.chan_id)
                ch = msgspec.structs.replace(ch, our_policy=now)
                act.apply_decision(decision(ch, now.fee_rate_ppm + op[2]), ch.channel_point)
            elif name == "external":
                sim.by_hand(chans[op[1] % len(chans)].channel_point, op[2])
            elif name in ("rollback_last", "rollback_one"):
                try:
                    if name == "rollback_last":
                        rec = act.rollback_last()
                    else:
                        all_changes = journal.changes()
                        if not all_changes:
                            continue
                        rec = act.rollback(all_changes[op[1] % len(all_changes)].change_id)
                except RollbackRefused:
                    continue
                if rec.state is ChangeState.REFUSED:  # the old policy fails today's bounds:
                    assert {s.gate for s in rec.stopped_by} == {Gate.FEE_BOUNDS}  # not written
                    assert gates.check_bounds(journal.change(rec.rolls_back[0]).old_policy,
                                              POLICY)
                    continue
                assert rec.state is ChangeState.VERIFIED
                target = journal.change(rec.rolls_back[0])
                assert sim.policies()[rec.chan_id] == key(target.old_policy)
            elif name == "advance":
                clock.advance(op[1])
            elif name == "mode":
                act.set_mode(op[1], by="test")
            elif name == "observe":
                act.observe(sim.client.list_channels())
            _check_journal_matches_node_writes(journal, sim, start)
        act.observe(sim.client.list_channels())
        assert {k.chan_id: key(k.policy) for k in journal.known_policies()} == sim.policies()
        _check_gates(journal)
        # everything since the start can be undone: the node is back where it was
        clock.advance(1)
        try:
            done, refused, _skipped = act.rollback_since(began)
        except RollbackRefused:
            done, refused = [], []
        assert refused == []
        assert all(r.state is ChangeState.VERIFIED for r in done)
        assert sim.policies() == initial
        _check_journal_matches_node_writes(journal, sim, start)
    finally:
        act.close()
        journal.close()
        shutil.rmtree(data, ignore_errors=True)
