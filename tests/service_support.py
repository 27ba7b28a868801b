"""``mcp-optimizer run`` in a subprocess on the embedded simulator, and the CLI next to it."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path


def cli(env, *args, timeout=120):
    return subprocess.run([sys.executable, "-m", "mcp_optimizer", *args], env=env,
                          capture_output=True, text=True, timeout=timeout)


@contextlib.contextmanager
def running_service(
    tmp_path: Path, sim_speed: str | None = None
) -> Iterator[tuple[dict[str, str], subprocess.Popen]]:
    """The service with its data under ``tmp_path / "data"``, the embedded simulator at
    ``sim_speed`` simulated seconds a second (when given), no ``MCP_LND_*``,
    ``MCP_CONTROL_SOCKET`` nor ``MCP_PAUSED`` from outside; yields (its environment, its
    process) once it is built (its control socket answers ``status`` while it is starting:
    waited past that), stops it (SIGTERM, then kill) after."""
    env = {
        k: v for k, v in os.environ.items()
        if not k.startswith(("MCP_LND_", "MCP_CONTROL_SOCKET", "MCP_PAUSED"))
    }
    env["MCP_DATA_DIR"] = str(tmp_path / "data")
    env["MCP_HTTP_PORT"] = "0"  # a free port (tests run side by side); see http_url
    if sim_speed is not None:
        env["MCP_SIM_SPEED"] = sim_speed
    with open(tmp_path / "stderr.txt", "w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "mcp_optimizer", "run"], env=env,
                                stdout=subprocess.DEVNULL, stderr=err)
        try:
            sock = tmp_path / "data" / "control.sock"
            deadline = time.monotonic() + 60
            while not sock.exists():
                assert proc.poll() is None, (tmp_path / "stderr.txt").read_text()
                assert time.monotonic() < deadline, "service did not open its socket"
                time.sleep(0.1)
            wait_started(sock, proc, deadline + 60, tmp_path / "stderr.txt")
            yield env, proc
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(10)


def wait_started(sock: Path, proc: subprocess.Popen, deadline: float, err: Path) -> None:
    """Until ``status`` on ``sock`` answers the built service (not ``StartingReply``)."""
    from mcp_optimizer.messages.control import StartingReply, StatusRequest
    from mcp_optimizer.runtime.control_client import ControlUnavailable, request

    while True:
        assert proc.poll() is None, err.read_text()
        try:
            if not isinstance(request(sock, StatusRequest(), timeout_s=30.0), StartingReply):
                return
        except ControlUnavailable:
            pass
        assert time.monotonic() < deadline, "service did not finish starting"
        time.sleep(0.1)


def http_url(env: dict[str, str], timeout_s: float = 60.0) -> str:
    """The running service's HTTP base URL (``http://host:port``), read from the address file
    it writes in its data directory once its HTTP server is up."""
    path = Path(env["MCP_DATA_DIR"]) / "http-address"
    deadline = time.monotonic() + timeout_s
    while True:
        text = path.read_text().strip() if path.exists() else ""
        if text:  # written whole (renamed into place)
            return f"http://{text}"
        assert time.monotonic() < deadline, f"no HTTP address in {path}"
        time.sleep(0.05)
