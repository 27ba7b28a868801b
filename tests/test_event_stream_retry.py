"""The running service against a node that does not answer keeps running, and reopens its
event streams after a growing pause (5 s, then 10 s, ... up to 60 s), so that a node down for
a day does not fill the log. `mcp-optimizer run` in a subprocess, its log file read."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from lnd_sim_support import serve

from mcp_optimizer.simulator.model import SimulatedNode


def test_event_streams_back_off_while_the_node_is_down(tmp_path):
    server = serve(SimulatedNode.from_scenario("demo"), tmp_path / "state")
    address = server.address
    server.stop()  # its certificate and macaroon stay: the node is just gone
    data = tmp_path / "data"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MCP_")},
        "MCP_DATA_DIR": str(data), "MCP_LND_HOST": address, "MCP_HTTP_PORT": "0",
        "MCP_LND_TLS_CERT": str(server.tls_cert_path),
        "MCP_LND_MACAROON": str(server.admin_macaroon_path),
        "MCP_LND_TIMEOUT_S": "3", "MCP_MEMPOOL_URL": "off",
    }
    proc = subprocess.Popen([sys.executable, "-m", "mcp_optimizer", "run"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    log = data / "service.log"
    try:
        deadline = time.monotonic() + 30
        while True:
            text = log.read_text() if log.exists() else ""
            if text.count("channel event stream failed") >= 2:
                break
            assert proc.poll() is None, text
            assert time.monotonic() < deadline, text
            time.sleep(0.2)
    finally:
        proc.terminate()
        proc.wait(30)
    lines = [x for x in text.splitlines() if "channel event stream failed" in x]
    assert "not reachable" in lines[0]
    assert lines[0].endswith("retrying in 5 s") and lines[1].endswith("retrying in 10 s")
    assert proc.returncode == 0  # it ran until told to stop
