"""Reconciliation tells the truth about what it found: a write left APPLIED (the node accepted
it) whose channel still shows the old policy is MISMATCHED, and its detail says the node shows
the old policy (not "neither the old nor the new"). Against the simulator over gRPC."""

from __future__ import annotations

import msgspec
from journal_sim import SimNode, key

from mcp_optimizer.journal import Journal
from mcp_optimizer.messages import ChangeOrigin, ChangeState, Mode
from mcp_optimizer.policies.config import load_policy
from mcp_optimizer.safety.actuator import Actuator

POLICY = load_policy(environ={"MCP_POLICY__COOLDOWN_S": "0"})


def test_applied_write_found_with_the_old_policy_is_described_as_such(tmp_path):
    sim = SimNode(tmp_path / "sim")
    data = tmp_path / "data"
    journal = Journal.open(data)
    act = Actuator(journal, sim.client, POLICY, data, environ={})
    try:
        act.set_mode(Mode.LIVE, by="test")
        ch = sim.client.list_channels()[0]
        act.observe(sim.client.list_channels())
        old = ch.our_policy
        new = msgspec.structs.replace(old, fee_rate_ppm=old.fee_rate_ppm + 100)
        # a process died after the node accepted the write: the journal says APPLIED
        cid = journal.record_change(
            chan_id=ch.chan_id, channel_point=ch.channel_point, origin=ChangeOrigin.SERVICE,
            mode=Mode.LIVE, state=ChangeState.INTENT, old_policy=old, new_policy=new,
            reasons=["test"], detail="about to write",
        )
        journal.transition(cid, ChangeState.APPLIED, "the node accepted the write")
        [rec] = act.reconcile()
        assert rec.change_id == cid and rec.state is ChangeState.MISMATCHED
        detail = rec.events[-1].detail
        assert "neither" not in detail and "old policy" in detail
        assert key(journal.known_policy(ch.chan_id).policy) == key(old)
    finally:
        act.close()
        journal.close()
        sim.close()
