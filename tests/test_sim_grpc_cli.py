"""``mcp-optimizer simulate`` as an operator runs it: a child process, stopped by a signal."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mcp_optimizer.providers.lnd.client import LndClient
from mcp_optimizer.providers.lnd.settings import LndSettings

ROOT = Path(__file__).resolve().parents[1]


def _start(tmp_path: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "mcp_optimizer", "simulate", "--scenario", "demo",
         "--listen", "127.0.0.1:0", "--state-dir", str(tmp_path / "state"), *extra],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def _header(proc: subprocess.Popen) -> tuple[str, list[str]]:
    """The listening address and the lines printed up to ``clock speed`` (read line by line:
    ``communicate`` reads the pipe's file descriptor and would miss buffered lines)."""
    lines = []
    while not lines or not lines[-1].startswith("clock speed"):
        line = proc.stdout.readline()
        assert line, f"simulator exited early: {lines} {proc.stderr.read()}"
        lines.append(line.strip())
    match = re.search(r" on (127\.0\.0\.1:\d+)$", lines[0])
    assert match, f"unexpected first line: {lines[0]!r}"
    return match.group(1), lines


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_simulate_serves_advances_the_clock_and_stops_on_signal(tmp_path, sig):
    proc = _start(tmp_path, "--speed", "7200")
    try:
        address, header = _header(proc)
        state = tmp_path / "state"
        settings = LndSettings(
            host=address,
            tls_cert_path=state / "tls.cert",
            macaroon_path=state / "admin.macaroon",
            timeout_s=20,
        )
        with LndClient(settings) as client:
            info = client.get_info()
            assert info.alias == "sim-demo" and info.supports_inbound_fees
            first = client.node_time_s()
            deadline = time.monotonic() + 20
            while client.node_time_s() <= first and time.monotonic() < deadline:
                time.sleep(0.1)
            assert client.node_time_s() > first
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert "simulator stopped" in out
        env_line = next(line for line in header if line.startswith("client env"))
        assert f"MCP_LND_HOST={address}" in env_line
        assert f"MCP_LND_MACAROON={state / 'admin.macaroon'}" in env_line
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_simulate_refuses_an_unknown_scenario_in_one_line(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "mcp_optimizer", "simulate", "--scenario", "no-such-scenario",
         "--state-dir", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "unknown scenario 'no-such-scenario'" in lines[0]
    assert "Traceback" not in proc.stderr


def test_simulate_refuses_a_bad_listen_address(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "mcp_optimizer", "simulate", "--scenario", "demo",
         "--listen", "localhost", "--state-dir", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 2
    assert "not HOST:PORT" in proc.stderr and "Traceback" not in proc.stderr


def _cycle_against(address: str, state: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MCP_")}
    env.update(
        MCP_LND_HOST=address,
        MCP_LND_TLS_CERT=str(state / "tls.cert"),
        MCP_LND_MACAROON=str(state / "admin.macaroon"),
        MCP_MEMPOOL_URL="off",
    )
    return subprocess.run(
        [sys.executable, "-m", "mcp_optimizer", "cycle", "--json", "--data-dir",
         str(tmp_path / "client")],
        cwd=ROOT, capture_output=True, text=True, timeout=240, env=env,
    )


def test_a_client_of_simulate_decides_on_the_served_history(tmp_path):
    """`simulate` serves "now" by default: a separate client (wall clock) finds the scenario's
    forwards (it proposed closing 16 of 21 channels on an empty history)."""
    import json

    proc = _start(tmp_path, "--speed", "0")
    try:
        address, header = _header(proc)
        assert "started now" in header[-1]
        done = _cycle_against(address, tmp_path / "state", tmp_path)
        assert done.returncode == 0, done.stderr
        out = json.loads(done.stdout)
        kinds = [d["kind"] for d in out["decisions"]]
        assert len(kinds) == 21, kinds
        assert kinds.count("CLOSE_CHANNEL") <= 3, kinds  # was 16 of 21 on an empty history
    finally:
        proc.kill()
        proc.communicate()


def test_a_client_whose_node_clock_disagrees_says_so_instead_of_deciding(tmp_path):
    proc = _start(tmp_path, "--speed", "0", "--start", "scenario")
    try:
        address, header = _header(proc)
        assert "started at the scenario's date" in header[-1]
        done = _cycle_against(address, tmp_path / "state", tmp_path)
        assert done.returncode == 1, (done.stdout, done.stderr)
        assert "the node's clock" in done.stdout and "behind this machine's" in done.stdout
    finally:
        proc.kill()
        proc.communicate()
