"""A cycle's channel list is read before the actuator observes it: a rollback sent through the
control socket in between must not be journaled as someone else's change. Against the
simulator over gRPC."""

from __future__ import annotations

from journal_sim import SimNode, key
from journal_support import decision

from mcp_optimizer.journal import Journal
from mcp_optimizer.messages import ChangeOrigin, ChangeState, Mode
from mcp_optimizer.policies.config import load_policy
from mcp_optimizer.safety.actuator import Actuator

POLICY = load_policy(environ={"MCP_POLICY__COOLDOWN_S": "0"})


def test_observe_with_a_list_read_before_a_rollback_records_no_external_change(tmp_path):
    sim = SimNode(tmp_path / "sim")
    journal = Journal.open(tmp_path / "data")
    act = Actuator(journal, sim.client, POLICY, tmp_path / "data", environ={})
    try:
        act.set_mode(Mode.LIVE, by="test")
        ch = sim.client.list_channels()[0]
        act.observe(sim.client.list_channels())
        before = ch.our_policy
        change = act.apply_decision(
            decision(ch, ch.our_policy.fee_rate_ppm + 100), ch.channel_point
        )
        assert change.state is ChangeState.VERIFIED
        # the next cycle's ingestion reads the channels ...
        listed = sim.client.list_channels()
        # ... the operator's rollback lands meanwhile ...
        rb = act.rollback(change.change_id)
        assert rb.state is ChangeState.VERIFIED
        # ... then the cycle asks the actuator to observe what ingestion read
        external = act.observe(listed)
        assert external == []
        assert [
            c.change_id for c in journal.changes() if c.origin is ChangeOrigin.EXTERNAL
        ] == []
        node_now = sim.client.get_policy(ch.chan_id)
        assert key(node_now) == key(before)
        assert key(journal.known_policy(ch.chan_id).policy) == key(node_now)
    finally:
        act.close()
        journal.close()
        sim.close()
