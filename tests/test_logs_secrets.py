"""Secrets never reach anything the program writes: with a macaroon, an Amboss API key,
credentials in the mempool URL and a notification URL configured, the service runs a live
cycle against a node over gRPC (providers failing on closed loopback ports, so their errors
are logged), answers status, history, logs, /metrics and /healthz, a verb fails on a setting
that echoes the secret, and then every file in the data directory, every crash file and every
output is searched for each secret in every form it could take."""

from __future__ import annotations

import base64
import dataclasses
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from lnd_sim_support import serve
from service_support import http_url

from mcp_optimizer.simulator.model import SimulatedNode
from mcp_optimizer.simulator.scenario import load_scenario

AMBOSS_KEY = "amboss-key-5c1d0e9f7a"
MEMPOOL_PASS = "mempool-pass-31f0c"
NOTIFY_PASS = "notify-pass-77aa1"
HTTP_TOKEN = "bearer-token-0f9e8d7c6b5a"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cli(env, *args, timeout=120):
    return subprocess.run([sys.executable, "-m", "mcp_optimizer", *args], env=env,
                          capture_output=True, text=True, timeout=timeout)


def _forms(macaroon: bytes) -> dict[str, bytes]:
    forms = {
        "amboss key": AMBOSS_KEY.encode(), "mempool password": MEMPOOL_PASS.encode(),
        "notify password": NOTIFY_PASS.encode(), "http token": HTTP_TOKEN.encode(),
        "macaroon hex": macaroon.hex().encode(), "macaroon HEX": macaroon.hex().upper().encode(),
        "macaroon base64": base64.b64encode(macaroon),
        "macaroon bytes": macaroon,
    }
    return forms


def test_no_secret_reaches_a_log_an_output_a_crash_file_or_the_data_dir(tmp_path):
    scenario = dataclasses.replace(load_scenario("demo"), start_s=int(time.time()))
    server = serve(SimulatedNode.from_config(scenario), tmp_path / "node")
    macaroon = server.admin_macaroon_path.read_bytes()
    dead = _closed_port()
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MCP_")}
    env.update({
        "MCP_DATA_DIR": str(data), "MCP_HTTP_PORT": "0",
        "MCP_LND_HOST": server.address, "MCP_LND_TLS_CERT": str(server.tls_cert_path),
        "MCP_LND_MACAROON": str(server.admin_macaroon_path),
        "MCP_AMBOSS_API_KEY": AMBOSS_KEY,
        "MCP_AMBOSS_URL": f"http://127.0.0.1:{dead}/graphql",
        "MCP_MEMPOOL_URL": f"http://mempool-user:{MEMPOOL_PASS}@127.0.0.1:{dead}/api",
        "MCP_NOTIFY_URLS": f"json://hook:{NOTIFY_PASS}@127.0.0.1:{dead}/x",
        "MCP_MCP_TOKEN": HTTP_TOKEN,
        "MCP_PROVIDER_MAX_ATTEMPTS": "1", "MCP_PROVIDER_TOTAL_BUDGET_S": "2",
        "TMPDIR": str(tmp_path / "tmp"),
    })
    (tmp_path / "tmp").mkdir()
    outputs: list[str] = []
    before_crash_files = set(Path(tempfile.gettempdir()).glob("mcp-optimizer-error-*"))
    err_path = tmp_path / "stderr.txt"
    try:
        with open(err_path, "w") as err:
            proc = subprocess.Popen([sys.executable, "-m", "mcp_optimizer", "run"], env=env,
                                    stdout=subprocess.DEVNULL, stderr=err)
        try:
            base = http_url(env, timeout_s=120)
            for verb in (["mode", "live"], ["evaluate-now"], ["status", "--json"],
                         ["history", "--json"], ["logs", "--json"], ["providers", "--json"]):
                r = _cli(env, *verb)
                assert r.returncode in (0, 1), (verb, r.stderr)
                outputs += [r.stdout, r.stderr]
            for path in ("/metrics", "/healthz", "/readyz"):
                outputs.append(httpx.get(base + path, timeout=30).text)
            # a setting that the error message echoes back
            bad = dict(env, MCP_MEMPOOL_URL=f"http://u:{MEMPOOL_PASS}@127.0.0.1:1/api?x=1")
            r = _cli(bad, "providers")
            assert r.returncode == 2 and "MCP_MEMPOOL_URL" in r.stderr
            outputs += [r.stdout, r.stderr]
        finally:
            proc.terminate()
            proc.wait(30)
    finally:
        server.stop()
    written = [p for p in data.rglob("*") if p.is_file()]
    written += [p for p in (tmp_path / "tmp").rglob("*") if p.is_file()]
    written += list(set(Path(tempfile.gettempdir()).glob("mcp-optimizer-error-*"))
                    - before_crash_files)
    written.append(err_path)
    blobs = {str(p): p.read_bytes() for p in written}
    blobs.update({f"output {i}": o.encode() for i, o in enumerate(outputs)})
    log = (data / "service.log").read_text()
    # the paths that would have carried a secret were taken, and redacted
    assert "mempool at http://[secret]@127.0.0.1" in log, log[:3000]
    assert any(b"[secret]" in b for k, b in blobs.items() if k.startswith("output")), \
        "the echoed setting was not redacted"
    assert "live" in log and " ACTION " in log
    for where, blob in blobs.items():
        for name, form in _forms(macaroon).items():
            assert form not in blob, f"{name} found in {where}"


def test_the_web_auth_mode_is_not_taken_for_a_secret():
    """MCP_WEB_AUTH=proxy names a mode: masking it hid the word "proxy" in every log line."""
    from mcp_optimizer import logs

    logs.register_env_secrets({"MCP_WEB_AUTH": "proxy", "MCP_WEB_TOKEN": "s3cr3t-token-abcdef"})
    assert logs.redact("behind the proxy") == "behind the proxy"
    assert "s3cr3t-token-abcdef" not in logs.redact("token s3cr3t-token-abcdef here")
