"""The README's main job: `mcp-optimizer cycle` against the embedded simulator over gRPC."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def run(*args: str, **env: str) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if not k.startswith("MCP_")}
    full.update(env)
    return subprocess.run([sys.executable, "-m", "mcp_optimizer", "cycle", *args],
                          capture_output=True, text=True, check=False, env=full, timeout=120)


def test_cycle_runs_the_pipeline_against_the_simulator_in_shadow_mode(tmp_path):
    r = run("--json", "--data-dir", str(tmp_path / "data"))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["cycle"]["outcome"] in ("ok", "partial")
    decisions = out["decisions"]
    assert len(decisions) == out["cycle"]["channels"] >= 10
    kinds = {d["kind"] for d in decisions}
    assert "NO_ACTION" in kinds and kinds - {"NO_ACTION"}, kinds
    assert all(d["reasons"] for d in decisions)
    assert "EMBEDDED SIMULATOR" in r.stderr
    assert (tmp_path / "data" / "journal.sqlite3").exists()


def test_cycle_prints_a_table_and_says_nothing_was_written():
    r = run()
    assert r.returncode == 0, r.stderr
    assert "One evaluation cycle against embedded simulator" in r.stdout
    assert "decision" in r.stdout and "reasons" in r.stdout
    assert "shadow mode: nothing was written" in r.stdout


def test_cycle_bad_policy_is_one_line(tmp_path):
    pol = tmp_path / "p.yml"
    pol.write_text("factors:\n  volume:\n    weight: -2\n")
    r = run("--policy", str(pol))
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "factors.volume.weight" in r.stderr
