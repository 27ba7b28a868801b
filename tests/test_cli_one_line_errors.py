"""Every operator error is ONE line on stderr, ``mcp-optimizer VERB: ...`` naming what was
wrong, with a non-zero status and no traceback: bad arguments, bad settings, a missing
scenario, an unusable data directory, the node settings incomplete; and a reader closing the
pipe early is not an error at all. Through the real command, in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

import pytest
from service_support import cli


def _env(tmp_path, **extra):
    env = {
        k: v for k, v in os.environ.items()
        if not k.startswith(("MCP_LND_", "MCP_CONTROL_SOCKET", "MCP_PAUSED", "MCP_DATA_DIR"))
    }
    env["MCP_DATA_DIR"] = str(tmp_path / "data")
    env.update(extra)
    return env


def _one_line(result, verb: str) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    lines = [x for x in result.stderr.splitlines() if x.startswith("mcp-optimizer")]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"mcp-optimizer {verb}: "), result.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["mode", "banana"], "'banana'"),
        (["history", "--channel", "foo"], "'foo' is not a channel id"),
        (["history", "--since", "yesterday"], "'yesterday'"),
        (["decisions", "--limit", "x"], "--limit"),
        (["evaluate-now", "--timeout", "-1"], "'-1' is not a number of seconds above 0"),
        (["rollback", "abc"], "'abc'"),
        (["rollback", "--since", "yesterday"], "'yesterday'"),
        (["shadow-report", "--days", "x"], "--days"),
        (["shadow-report", "--days", "inf"], "'inf' is not a number of days above 0"),
        (["shadow-report", "--days", "nan"], "'nan'"),
        (["shadow-report", "--days", "1e300"], "at most 3650"),
        (["decisions", "--limit", "99999999999999999999"], "from 1 to 1,000,000"),
    ],
)
def test_a_bad_argument_is_one_line_naming_it(tmp_path, args, named):
    r = cli(_env(tmp_path), *args, timeout=60)
    assert r.returncode == 2
    line = _one_line(r, args[0])
    assert named in line and "usage:" not in r.stderr
    assert r.stdout == ""


def test_start_failures_of_cycle_and_run_are_one_line(tmp_path):
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    cases = [
        ({}, ["cycle", "--scenario", "banana"], "unknown scenario 'banana'"),
        ({"MCP_PAUSED": "maybe"}, ["cycle"], "MCP_PAUSED='maybe'"),
        ({"MCP_LND_HOST": "127.0.0.1:1"}, ["cycle"], "MCP_LND_TLS_CERT"),
        ({}, ["cycle", "--data-dir", str(not_a_dir / "x")], f"{not_a_dir / 'x'}: "),
        ({"MCP_DATA_DIR": str(not_a_dir / "x")}, ["run"], f"{not_a_dir / 'x'}"),
        ({"MCP_CYCLE_INTERVAL_S": "abc"}, ["run"], "MCP_CYCLE_INTERVAL_S='abc'"),
        ({"MCP_PAUSED": "maybe"}, ["run"], "MCP_PAUSED='maybe'"),
        ({"MCP_MAX_CHANGES_PER_DAY": "x"}, ["cycle"], "MCP_MAX_CHANGES_PER_DAY='x'"),
    ]
    for extra, args, named in cases:
        r = cli(_env(tmp_path, **extra), *args, timeout=120)
        assert r.returncode == 2, (args, r.stderr)
        assert named in _one_line(r, args[0]), (args, r.stderr)
        # told before anything starts: no simulator warning or log line ahead of it
        assert r.stderr.count("\n") == 1, (args, r.stderr)


def test_a_reader_closing_the_pipe_early_is_not_an_error(tmp_path):
    env = _env(tmp_path)
    data = tmp_path / "data"
    assert cli(env, "cycle", "--data-dir", str(data)).returncode == 0  # a journal with changes
    proc = subprocess.Popen(
        [sys.executable, "-m", "mcp_optimizer", "history", "--data-dir", str(data)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    proc.stdout.close()  # as `| head` does, before the command writes anything
    _, err = proc.communicate(timeout=60)
    assert err.decode() == ""
    assert proc.returncode == 141  # as a tool killed by SIGPIPE


def test_an_unexpected_error_is_one_line_naming_its_traceback_file(monkeypatch, capsys, tmp_path):
    """A bug still ends in one line (status 70), and its traceback is kept in a file."""
    from mcp_optimizer.cli import control
    from mcp_optimizer.cli.main import main

    def broken(args):
        raise KeyError("boom")

    monkeypatch.setattr(control, "cmd_status", broken)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    assert main(["status"]) == 70
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("mcp-optimizer status: unexpected error KeyError: 'boom' (a bug; ")
    path = err.rsplit("traceback in ", 1)[1].rstrip(")\n")
    assert "Traceback" in open(path).read() and path.startswith(str(tmp_path))
