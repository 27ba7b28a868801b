"""A rollback request the service received but did not answer (it was killed after the write,
or its reply timed out) must not be repeated by the CLI directly on the node: a second
`rollback --last` undoes the first. Against the simulator over gRPC, through the CLI."""

from __future__ import annotations

import socket
import threading

from journal_sim import SimNode, key
from journal_support import decision

from mcp_optimizer.cli.main import main
from mcp_optimizer.journal import Journal
from mcp_optimizer.messages import ChangeOrigin, ChangeState, Mode
from mcp_optimizer.policies.config import load_policy
from mcp_optimizer.runtime.frames import HEADER
from mcp_optimizer.safety.actuator import Actuator

POLICY = load_policy(environ={"MCP_POLICY__COOLDOWN_S": "0"})


def _recv(conn: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        assert chunk
        buf += chunk
    return buf


def test_rollback_received_without_reply_is_not_redone_directly(tmp_path, monkeypatch, capsys):
    sim = SimNode(tmp_path / "sim")
    data = tmp_path / "data"
    sock_path = tmp_path / "c.sock"
    try:
        journal = Journal.open(data)
        act = Actuator(journal, sim.client, POLICY, data, environ={})
        act.set_mode(Mode.LIVE, by="test")
        ch = sim.client.list_channels()[0]
        act.observe(sim.client.list_channels())
        change = act.apply_decision(
            decision(ch, ch.our_policy.fee_rate_ppm + 100), ch.channel_point
        )
        assert change.state is ChangeState.VERIFIED

        # a "service" that performs the rollback it is asked for, then dies before replying
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(str(sock_path))
        server.listen(1)

        def serve_once() -> None:
            conn, _ = server.accept()
            with conn:
                (length,) = HEADER.unpack(_recv(conn, HEADER.size))
                _recv(conn, length)
                act.rollback_last()
                act.close()  # the writer lock goes with the dead process

        t = threading.Thread(target=serve_once)
        t.start()
        for k, v in sim.env().items():
            monkeypatch.setenv(k, v)
        status = main(
            ["rollback", "--last", "--data-dir", str(data), "--socket", str(sock_path)]
        )
        t.join(10)
        server.close()
        err = capsys.readouterr().err.strip()
        assert status == 1
        assert "\n" not in err and "no reply" in err and "history" in err
        # the one rollback stands: the node shows the policy from before the change
        assert key(sim.client.get_policy(ch.chan_id)) == key(ch.our_policy)
        rollbacks = [c for c in journal.changes() if c.origin is ChangeOrigin.ROLLBACK]
        assert len(rollbacks) == 1
        journal.close()
    finally:
        sim.close()
