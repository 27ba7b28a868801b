"""What the operator sees of modes, pauses and repeats (new-operator issue items 6 and 9):
going live and pausing are journaled with who and why and shown by `history --modes`; the
pause's reason is in `status`; `decisions` reads the journal without a service; `history`
filters by state and origin and folds the same stopped proposal repeated every cycle."""

from __future__ import annotations

import json
import time

from journal_support import Clock, MemoryNode, decision, make_channels
from service_support import cli, running_service

from mcp_optimizer.cli.main import main
from mcp_optimizer.journal import Journal
from mcp_optimizer.messages import ChangeState, Mode
from mcp_optimizer.policies.config import load_policy
from mcp_optimizer.safety.actuator import Actuator

POLICY = load_policy(environ={})


def test_mode_and_pause_with_reasons_through_a_running_service(tmp_path):
    with running_service(tmp_path, sim_speed="0") as (env, _proc):
        r = cli(env, "mode", "live", "--reason", "shadow report looked right")
        assert r.returncode == 0, r.stderr
        r = cli(env, "pause", "--reason", "upgrading LND")
        assert r.returncode == 0, r.stderr
        status = cli(env, "status")
        want = "paused:     YES (api, by control-socket: upgrading LND)"
        assert want in status.stdout, status.stdout
        r = cli(env, "resume", "--reason", "LND is back")
        assert r.returncode == 0, r.stderr
        history = cli(env, "history", "--modes")
        assert history.returncode == 0, history.stderr
        as_json = json.loads(cli(env, "history", "--modes", "--json").stdout)
    lines = history.stdout.splitlines()
    assert any("shadow -> live" in x and "shadow report looked right" in x for x in lines)
    assert any("paused" in x and "upgrading LND" in x for x in lines)
    assert any("resumed" in x and "LND is back" in x for x in lines)
    assert [(e["what"], e["by"]) for e in as_json] == [
        ("mode", "control-socket"), ("pause", "control-socket"), ("pause", "control-socket")
    ]
    log = (tmp_path / "data" / "service.log").read_text()
    assert ("mode shadow -> live (writes to the node are ON) by control-socket: shadow report "
            "looked right") in log
    assert "paused by control-socket: upgrading LND" in log


def _repeated_held(tmp_path):
    clock = Clock(time.time() - 86400)
    node = MemoryNode(make_channels(2))
    with Journal.open(tmp_path, clock) as journal:
        act = Actuator(journal, node, POLICY, tmp_path, environ={})
        act.observe(node.list_channels())
        act.set_mode(Mode.LIVE, by="test")  # the kill switch holds live writes
        act.pause(by="test", reason="watching")
        a, b = node.list_channels()
        for _ in range(5):  # the same proposal, held by the pause, cycle after cycle
            assert act.apply_decision(decision(a, 650), a.channel_point).state is ChangeState.HELD
            clock.advance(6 * 3600)
        act.resume(by="test")
        assert act.apply_decision(decision(b, 5000), b.channel_point).state is (
            ChangeState.REFUSED
        )
        act.close()


def test_history_filters_by_state_and_origin_and_folds_repeats(tmp_path, capsys):
    _repeated_held(tmp_path)
    assert main(["history", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.count(" held ") == 1 and "... and 4 more like it" in out
    assert main(["history", "--data-dir", str(tmp_path), "--all"]) == 0
    assert capsys.readouterr().out.count(" held ") == 5
    assert main(["history", "--data-dir", str(tmp_path), "--state", "refused"]) == 0
    out = capsys.readouterr().out
    assert " refused " in out and " held " not in out
    assert main(["history", "--data-dir", str(tmp_path), "--origin", "rollback"]) == 0
    assert "no change in the journal" in capsys.readouterr().out
    assert main(["history", "--data-dir", str(tmp_path), "--state", "helt"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--state 'helt' is not one of" in err[0]


def test_decisions_read_the_journal_without_a_service(tmp_path, capsys):
    with running_service(tmp_path, sim_speed="0") as (env, _proc):
        deadline = time.monotonic() + 120
        while "last cycle: none yet" in cli(env, "status").stdout:
            assert time.monotonic() < deadline, "no cycle ran"
            time.sleep(0.2)
    # the service is stopped: decisions still answer from the journal
    assert main(["decisions", "--data-dir", str(tmp_path / "data"), "--limit", "3"]) == 0
    out = capsys.readouterr().out
    assert out.count("#") == 3 and "channel " in out
