"""The new operator's small CLI findings (issue 15 item 10), each through the command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from mcp_optimizer.cli.main import main

ROOT = Path(__file__).resolve().parents[1]


def _run(*args, env=None, timeout=240):
    base = {k: v for k, v in os.environ.items() if not k.startswith("MCP_")}
    base.update(env or {})
    return subprocess.run([sys.executable, "-m", "mcp_optimizer", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout, env=base)


def test_rollback_of_a_negative_id_is_bad_input(tmp_path, capsys):
    assert main(["rollback", "-1", "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'-1' is not a whole number" in err[0]


def test_version(capsys):
    assert main(["--version"]) == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith("mcp-optimizer ") and out.split()[-1][0].isdigit()


def test_cycle_tells_its_progress_explains_the_clock_and_saves_snapshots(tmp_path):
    snaps = tmp_path / "snaps"
    done = _run("cycle", "--progress", "--verbose", "--save-snapshots", str(snaps))
    assert done.returncode == 0, done.stderr
    err = done.stderr
    assert "starting the embedded simulator (scenario demo)" in err
    for stage in ("ingestion", "preprocessing", "decider"):
        assert f"] {stage} done in " in err, err
    assert "clock x0" not in err and "its clock stands still (MCP_SIM_SPEED=0)" in err
    files = sorted(snaps.glob("*.json"))
    assert len(files) == 21
    # a saved snapshot is a ready input for `evaluate`
    evaluated = _run("evaluate", "--snapshot", str(files[0]))
    assert evaluated.returncode == 0, evaluated.stderr
    assert json.loads(evaluated.stdout)["chan_id"] == json.loads(files[0].read_text())[
        "channel"]["chan_id"]
