"""End to end: `mcp-optimizer run` in a subprocess (embedded simulator over gRPC, real journal),
driven by the CLI verbs in other subprocesses through the control socket, stopped by SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import stat
import time

import pytest
from service_support import cli, running_service

from mcp_optimizer.scid import scid_text


def ok_json(env, *args):
    r = cli(env, *args, "--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@pytest.fixture
def running(tmp_path):
    with running_service(tmp_path, "0") as (env, proc):
        yield env, proc, tmp_path


def test_run_status_control_verbs_and_clean_sigterm(running):
    env, proc, tmp = running
    sock = tmp / "data" / "control.sock"
    assert stat.S_IMODE(os.stat(sock).st_mode) == 0o600

    # the first cycle runs at start; wait for it through status
    deadline = time.monotonic() + 60
    while True:
        status = ok_json(env, "status")
        if status["last_cycle"]["type"] == "CycleDone":
            break
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert status["type"] == "StatusReply"
    assert status["node"].startswith("embedded simulator (scenario demo)")
    assert status["mode"] == "shadow"  # a fresh install starts in shadow mode
    assert status["pause"] == {"paused": False, "sources": [], "reason": ""}
    assert status["safe_mode"] == {"type": "SafeModeOff"}
    names = [a["name"] for a in status["actors"]]
    assert names == ["lnd", "local_graph", "facts", "ingestion", "preprocessing", "scorer",
                     "decider", "actuator"]
    assert all(a["state"] == "running" and a["crashes"] == 0 for a in status["actors"])
    assert status["last_cycle"]["outcome"] == "ok", status["last_cycle"]
    assert status["next_cycle"]["type"] == "NextCycleAt"
    assert status["next_cycle"]["trigger"] == "schedule"

    human = cli(env, "status")
    assert human.returncode == 0
    # the data directory given as history and rollback take it, instead of MCP_DATA_DIR
    elsewhere = {k: v for k, v in env.items() if k != "MCP_DATA_DIR"}
    by_dir = cli(elsewhere, "status", "--data-dir", str(tmp / "data"))
    assert by_dir.returncode == 0 and "mode:       shadow" in by_dir.stdout, by_dir.stderr
    assert "mode:       shadow" in human.stdout and "actuator" in human.stdout

    # a second service on the same data dir is refused at once, in one line
    second = cli(env, "run", timeout=60)
    assert second.returncode == 2
    assert second.stderr.strip().splitlines()[-1] == (
        f"mcp-optimizer run: cannot run: another service is already listening on {sock}"
    )

    # evaluate-now waits for its own cycle
    finished = ok_json(env, "evaluate-now", "--wait")
    assert finished["type"] == "CycleFinished"
    assert finished["cycle"]["trigger"] == "evaluate-now"
    assert finished["cycle"]["outcome"] == "ok"
    n = finished["cycle"]["decisions"]
    assert n > 0

    decisions = ok_json(env, "decisions", "--limit", "5")
    assert len(decisions["decisions"]) == 5
    assert all(d["decision"]["reasons"] for d in decisions["decisions"])
    human_decisions = cli(env, "decisions", "--limit", "5").stdout
    first = decisions["decisions"][0]["decision"]["chan_id"]
    assert f"channel {scid_text(first)} " in human_decisions, human_decisions
    bad_limit = cli(env, "decisions", "--limit", "0")  # told before asking the service
    assert bad_limit.returncode == 2 and len(bad_limit.stderr.strip().splitlines()) == 1
    assert "--limit: '0' is not a whole number from 1 to 1,000,000" in bad_limit.stderr

    # pause / resume / mode
    assert "paused" in cli(env, "pause", "--reason", "maintenance").stdout
    st = ok_json(env, "status")
    assert st["pause"] == {
        "paused": True, "sources": ["api"], "reason": "by control-socket: maintenance"
    }
    assert st["next_cycle"] == {"type": "NoCycleDue", "reason": "paused"}
    assert cli(env, "resume").stdout.strip() == "resumed"
    assert cli(env, "mode", "dry-run").stdout.strip() == "mode shadow -> dry-run"
    assert ok_json(env, "mode") == {"mode": "dry-run"}
    # the journal verbs reach the same service through the socket: live changes, then undo one
    assert cli(env, "mode", "live").stdout.strip() == "mode dry-run -> live"
    live = ok_json(env, "evaluate-now", "--wait")
    assert live["cycle"]["outcome"] == "ok" and live["cycle"]["actions"] > 0
    undo = cli(env, "rollback", "--last")
    assert undo.returncode == 0, undo.stderr
    assert "rollback of change" in undo.stdout and "verified" in undo.stdout
    assert max(len(x) for x in undo.stdout.splitlines()) <= 100, undo.stdout
    ack = cli(env, "ack-crash")
    assert ack.returncode == 0, ack.stderr

    # SIGTERM: clean stop, socket removed, logs flushed
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0
    assert not sock.exists()
    log = (tmp / "data" / "service.log").read_text()
    assert "EMBEDDED SIMULATOR" in log
    assert "signal 15 received: stopping" in log
    assert log.rstrip().endswith("service stopped")
    stderr = (tmp / "stderr.txt").read_text()
    # the first warning, before the service says it started (the socket opened before it)
    warnings = [x for x in stderr.splitlines() if " WARNING " in x]
    assert "running against the EMBEDDED SIMULATOR" in warnings[0]
    assert stderr.index("EMBEDDED SIMULATOR") < stderr.index("service started")
    # after the stop, the verbs say so in one line
    gone = cli(env, "status")
    assert gone.returncode == 1 and "no service is running" in gone.stderr
