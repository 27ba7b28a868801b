"""A cycle's outcome and counts say what became of each action (the new operator saw "ok ...
10 actions" while 1 write failed and 17 were held, and the demo's "10 actions" were 6 shadowed,
3 held and 1 refused)."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

from lnd_sim_support import serve

from mcp_optimizer.messages import CycleOutcome, Mode
from mcp_optimizer.messages.actors import ActuationOutcome
from mcp_optimizer.messages.decision import DecisionKind
from mcp_optimizer.runtime.cycle_summary import action_counts, counts_text, write_problems
from mcp_optimizer.runtime.run import open_service
from mcp_optimizer.runtime.settings import ServiceSettings
from mcp_optimizer.simulator.model import SimulatedNode
from mcp_optimizer.simulator.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]


def _o(outcome: str, kind=DecisionKind.INCREASE_FEES) -> ActuationOutcome:
    return ActuationOutcome(chan_id=1, kind=kind, outcome=outcome, detail="")


def test_counts_apart_and_write_problems():
    outs = [_o("shadowed")] * 6 + [_o("held")] * 3 + [_o("refused")]
    outs += [_o("no action", DecisionKind.NO_ACTION)] * 4
    counts = action_counts(outs)
    assert counts == {"shadowed": 6, "held": 3, "refused": 1}
    assert counts_text(counts) == "6 shadowed, 3 held, 1 refused"
    assert write_problems(counts) == ""
    bad = action_counts([_o("failed"), _o("held"), _o("verified"), _o("mismatched")])
    assert list(bad) == ["verified", "held", "mismatched", "failed"]
    assert write_problems(bad) == "write problems: 1 failed, 1 mismatched (see history)"


def test_a_live_cycle_with_a_read_only_macaroon_is_not_ok(tmp_path):
    import dataclasses

    scenario = dataclasses.replace(load_scenario("demo"), start_s=int(time.time()))
    node = SimulatedNode.from_config(scenario)
    server = serve(node, tmp_path / "sim")
    try:
        env = {
            "MCP_DATA_DIR": str(tmp_path / "data"),
            "MCP_CONTROL_SOCKET": str(tmp_path / "c.sock"),
            "MCP_LND_HOST": server.address,
            "MCP_LND_TLS_CERT": str(server.tls_cert_path),
            "MCP_LND_MACAROON": str(server.readonly_macaroon_path),
            "MCP_MEMPOOL_URL": "off",
        }
        with open_service(ServiceSettings.from_env(env), env) as service:
            service.actuator.set_mode(Mode.LIVE, by="test")
            done = service.runner.run("test")
    finally:
        server.stop()
    assert done.actions > 0
    assert sum(done.actions_by_outcome.values()) == done.actions
    assert done.actions_by_outcome.get("failed", 0) >= 1, done.detail
    assert done.outcome is CycleOutcome.PARTIAL, done.detail
    assert "write problems: " in done.detail and "failed" in done.detail


def test_cycle_table_shows_each_decisions_outcome_and_counts_them_apart(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "mcp_optimizer", "cycle", "--data-dir", str(tmp_path / "d")],
        cwd=ROOT, capture_output=True, text=True, timeout=240,
        env={k: v for k, v in __import__("os").environ.items() if not k.startswith("MCP_")},
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    head = next(line for line in lines if line.startswith("channel"))
    assert " outcome " in head
    rows = [line for line in lines if re.match(r"^\d+x\d+x\d+ ", line)]
    assert rows
    last = next(line for line in lines if line.startswith("cycle "))
    m = re.search(r"(\d+) actions \(([^)]*)\)", last)
    assert m, last
    parts = dict((w, int(n)) for n, w in re.findall(r"(\d+) (\w+)", m.group(2)))
    assert sum(parts.values()) == int(m.group(1))
    outcome_col = head.index("outcome")
    shown = [row[outcome_col:].split()[0] for row in rows]
    for what, n in parts.items():
        assert shown.count(what) == n, (what, n, shown)
