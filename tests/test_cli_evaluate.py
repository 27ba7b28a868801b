"""`mcp-optimizer evaluate` and `cycle` through the real command line."""

from __future__ import annotations

import json
import subprocess
import sys

import msgspec
from builders import snapshot


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    import os

    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "mcp_optimizer", *args],
        capture_output=True, text=True, check=False, env=full_env,
    )


def test_evaluate_prints_decision_json(tmp_path):
    f = tmp_path / "snap.json"
    f.write_bytes(msgspec.json.encode(snapshot()))
    r = run("evaluate", "--snapshot", str(f))
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    # the kind is the engine's to choose (the price learner may try a move); the command's
    # promise is a complete Decision for the snapshot's channel
    assert d["chan_id"] == snapshot().channel.chan_id
    assert d["kind"] in {"NO_ACTION", "INCREASE_FEES", "LOWER_FEES", "CLOSE_CHANNEL"}
    assert d["reasons"] and len(d["factors"]) == 5


def test_evaluate_with_policy_file(tmp_path):
    f = tmp_path / "snap.json"
    f.write_bytes(msgspec.json.encode(snapshot()))
    pol = tmp_path / "p.yml"
    pol.write_text("factors:\n  volume:\n    enabled: false\n")
    d = json.loads(run("evaluate", "--snapshot", str(f), "--policy", str(pol)).stdout)
    vol = next(x for x in d["factors"] if x["name"] == "volume")
    assert vol == {"type": "DisabledFactor", "name": "volume", "detail": "disabled by the policy"}


def one_line_error(r: subprocess.CompletedProcess, status: int, needle: str) -> None:
    assert r.returncode == status, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert needle in lines[0] and "Traceback" not in r.stderr


def test_malformed_snapshot_exits_2_with_one_line(tmp_path):
    f = tmp_path / "bad.json"
    f.write_text("{not json")
    one_line_error(run("evaluate", "--snapshot", str(f)), 2, "not valid JSON")
    data = json.loads(msgspec.json.encode(snapshot()))
    data["channel"]["capacity_sat"] = "lots"
    f.write_text(json.dumps(data))
    one_line_error(run("evaluate", "--snapshot", str(f)), 2, "$.channel.capacity_sat")
    data["channel"]["capacity_sat"] = 5_000_000
    del data["recent"]
    f.write_text(json.dumps(data))
    one_line_error(run("evaluate", "--snapshot", str(f)), 2, "recent")
    one_line_error(run("evaluate", "--snapshot", str(tmp_path / "none.json")), 2, "cannot read")


def test_a_snapshot_saved_before_fee_failures_were_counted_apart_is_still_read(tmp_path):
    """Snapshots saved by ``cycle --save-snapshots`` before ``failed_fee`` existed: read with
    none of their failures an insufficient fee (they were counted among the others)."""
    from mcp_optimizer.cli.evaluate import read_snapshot

    now = snapshot(recent_kw={"failed_htlcs": 5, "failed_fee": 2})
    data = json.loads(msgspec.json.encode(now))
    for window in ("recent", "history"):
        del data[window]["failed_fee"]
    f = tmp_path / "old.json"
    f.write_text(json.dumps(data))
    old = read_snapshot(str(f))
    assert old.recent.failed_fee == old.history.failed_fee == 0
    assert old.recent.failed_htlcs == 5
    assert msgspec.structs.replace(
        old, recent=msgspec.structs.replace(old.recent, failed_fee=2)
    ) == now
    r = run("evaluate", "--snapshot", str(f))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["chan_id"] == now.channel.chan_id
    # still strict: the other fields stay required, unknown ones refused
    del data["history"]["failed_balance"]
    f.write_text(json.dumps(data))
    one_line_error(run("evaluate", "--snapshot", str(f)), 2, "failed_balance")
    data["history"]["failed_balance"] = 0
    data["recent"]["failed_surprise"] = 1
    f.write_text(json.dumps(data))
    one_line_error(run("evaluate", "--snapshot", str(f)), 2, "failed_surprise")


def test_a_snapshot_saved_before_centrality_was_ever_estimated_is_still_read(tmp_path):
    """A peer's CentralityKnown saved before ``estimated`` existed: read as exact."""
    from mcp_optimizer.cli.evaluate import read_snapshot

    now = snapshot()
    data = json.loads(msgspec.json.encode(now))
    assert data["channel"]["peer"]["centrality"].pop("estimated") is False
    f = tmp_path / "old.json"
    f.write_text(json.dumps(data))
    assert read_snapshot(str(f)) == now


def test_bad_policy_stops_with_one_line(tmp_path):
    f = tmp_path / "snap.json"
    f.write_bytes(msgspec.json.encode(snapshot()))
    pol = tmp_path / "p.yml"
    pol.write_text("bounds:\n  max_fee_rate_ppm: -3\n")
    one_line_error(run("evaluate", "--snapshot", str(f), "--policy", str(pol)), 2,
                   "bounds.max_fee_rate_ppm")
    one_line_error(
        run("evaluate", "--snapshot", str(f), env={"MCP_POLICY__FACTORS__X__WEIGHT": "1"}), 2,
        "MCP_POLICY__FACTORS__X__WEIGHT",
    )
