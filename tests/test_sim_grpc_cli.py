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
