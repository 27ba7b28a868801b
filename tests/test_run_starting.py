"""`mcp-optimizer run` answers `status` while it is still being built, honestly.

The build is held at its reconciliation stage: the journal holds a write left without outcome
(a killed process's INTENT) and the node is a TCP listener that accepts and never answers, so
the read-back blocks until the test closes the listener. Meanwhile the control socket says
which stage the start is in, refuses every act (nothing journaled), and, once the listener is
gone, the same socket answers the built service. A SIGTERM during the build abandons it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
from builders import policy
from journal_support import make_channels
from lnd_sim_support import serve
from service_support import cli

from mcp_optimizer.journal import Journal
from mcp_optimizer.messages import ChangeOrigin, ChangeState, Mode
from mcp_optimizer.simulator.model import SimulatedNode

STAGE = "reconciling interrupted writes with the node"


class SilentNode:
    """Accepts TCP connections and never answers, until closed."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self) -> None:
        self.sock.close()
        for c in self.held:
            c.close()


@pytest.fixture
def held_start(tmp_path):
    server = serve(SimulatedNode.from_scenario("demo"), tmp_path / "state")
    server.stop()  # its certificate and macaroon stay
    data = tmp_path / "data"
    ch = make_channels(1)[0]
    with Journal.open(data) as journal:  # what a process killed mid-write leaves behind
        journal.set_baseline(ch.chan_id, ch.channel_point, ch.our_policy)
        journal.record_change(
            chan_id=ch.chan_id, channel_point=ch.channel_point, origin=ChangeOrigin.SERVICE,
            mode=Mode.LIVE, state=ChangeState.INTENT, old_policy=ch.our_policy,
            new_policy=policy(fee_rate_ppm=550), reasons=["r"], detail="about to write",
        )
    node = SilentNode()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MCP_")},
        "MCP_DATA_DIR": str(data), "MCP_HTTP_PORT": "0", "MCP_LND_HOST": node.address,
        "MCP_LND_TLS_CERT": str(server.tls_cert_path),
        "MCP_LND_MACAROON": str(server.admin_macaroon_path),
        "MCP_LND_TIMEOUT_S": "600", "MCP_MEMPOOL_URL": "off",
    }
    err = open(tmp_path / "stderr.txt", "w")
    proc = subprocess.Popen([sys.executable, "-m", "mcp_optimizer", "run"], env=env,
                            stdout=subprocess.DEVNULL, stderr=err)
    try:
        yield env, proc, node, data
    finally:
        node.close()
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        err.close()


def status_json(env) -> dict | None:
    r = cli(env, "status", "--json")
    return json.loads(r.stdout) if r.returncode == 0 else None


def until(what, fn, proc, limit_s=120.0):
    deadline = time.monotonic() + limit_s
    while True:
        value = fn()
        if value:
            return value
        assert proc.poll() is None, f"the service stopped while waiting for {what}"
        assert time.monotonic() < deadline, f"no {what} within {limit_s:g} s"
        time.sleep(0.2)


def test_status_answers_the_stage_while_the_build_is_held(held_start):
    env, proc, node, data = held_start
    starting = until("a starting status", lambda: (s := status_json(env)) and
                     s["type"] == "StartingReply" and s["stage"] == STAGE and s, proc)
    assert starting["started_at_s"] <= time.time()
    human = cli(env, "status")
    assert human.returncode == 0 and human.stdout.startswith(f"starting: {STAGE} (since ")
    # no act reaches a service that does not exist yet; each is refused in one line
    for verb in (["pause", "--reason", "early"], ["mode", "live"], ["evaluate-now"]):
        r = cli(env, *verb)
        assert r.returncode == 1, (verb, r.stdout, r.stderr)
        [line] = r.stderr.strip().splitlines()
        assert "still starting" in line and STAGE in line and "nothing was done" in line
    assert status_json(env)["type"] == "StartingReply"  # still held: the build is blocked

    node.close()  # the read-back fails: reconciliation postponed, the start goes on
    built = until("the built service's status", lambda: (s := status_json(env)) and
                  s["type"] == "StatusReply" and s, proc)
    assert built["node"] == f"LND at {env['MCP_LND_HOST']}"
    assert built["pause"]["paused"] is False and built["mode"] == "shadow"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(60) == 0
    assert not (data / "control.sock").exists()
    with Journal.open(data, readonly=True) as journal:
        assert not journal.api_paused()  # the refused pause left nothing
        [pending] = journal.pending_changes()  # the node never answered: still unresolved
        assert pending.state is ChangeState.INTENT
    log = (data / "service.log").read_text()
    assert "reconciliation at start postponed" in log
    assert log.index(f"starting: {STAGE}") < log.index("service started")


def test_sigterm_during_the_build_abandons_it(held_start):
    env, proc, node, data = held_start
    until("a starting status", lambda: (s := status_json(env)) and
          s["type"] == "StartingReply" and s["stage"] == STAGE, proc)
    proc.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    assert proc.poll() is None  # the build's node call is still blocked
    node.close()
    assert proc.wait(60) == 0
    assert not (data / "control.sock").exists()
    log = (data / "service.log").read_text()
    assert "signal 15 received: stopping" in log
    assert f"service not started: stopped while {STAGE}" in log
    assert "service started" not in log
    assert log.rstrip().endswith("service stopped")
