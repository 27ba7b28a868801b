"""A real Prometheus (Debian's package, with promtool) scrapes a running service that drives a
simulated node over gRPC (live mode, mempool unreachable so that fallbacks happen); its HTTP
API must show the decisions, changes and cycle durations the journal holds, every expr of the
shipped Grafana dashboard must return data, and promtool must accept the shipped configs and a
live scrape. Without Prometheus installed the test fails with one line (never a skip)."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml
from lnd_sim_support import serve
from service_support import http_url

from mcp_optimizer.journal import Journal
from mcp_optimizer.messages import ChangeState
from mcp_optimizer.simulator.model import SimulatedNode
from mcp_optimizer.simulator.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent
KIT = ROOT / "umbrel" / "monitoring"
DASHBOARD = KIT / "grafana-dashboard.json"
GRAFANA_VARS = {"$__rate_interval": "1m", "$__interval": "15s", "$__range": "10m",
                "$job": ".*"}


def _tool(name: str) -> str:
    path = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists()
                                  else None)
    if path is None:
        pytest.fail(f"{name} is not installed: the Debian package 'prometheus' provides it "
                    "(scripts/apt-packages.txt; run `bash scripts/system-deps`)", pytrace=False)
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cli(env, *args):
    r = subprocess.run([sys.executable, "-m", "mcp_optimizer", *args], env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, (args, r.stderr)
    return r.stdout


def exprs() -> list[tuple[str, str]]:
    board = json.loads(DASHBOARD.read_text())
    return [(p["title"], t["expr"]) for p in board["panels"] for t in p["targets"]]


def grafana_expanded(expr: str) -> str:
    for var, value in GRAFANA_VARS.items():
        expr = expr.replace(var, value)
    assert "$" not in expr, f"an unknown Grafana variable is left in {expr!r}"
    return expr


class Prom:
    def __init__(self, base: str) -> None:
        self.base = base
        self.client = httpx.Client(base_url=base, timeout=30)

    def query(self, expr: str) -> list[dict]:
        r = self.client.get("/api/v1/query", params={"query": expr})
        body = r.json()
        assert body["status"] == "success", (expr, body)
        return body["data"]["result"]

    def value(self, expr: str) -> float | None:
        result = self.query(expr)
        return float(result[0]["value"][1]) if result else None

    def until(self, what: str, check, deadline_s: float = 120.0):
        end = time.monotonic() + deadline_s
        last = None
        while time.monotonic() < end:
            try:
                last = check()
                if last:
                    return last
            except (httpx.TransportError, ValueError) as exc:
                last = exc
            time.sleep(0.5)
        raise AssertionError(f"Prometheus: {what} not seen within {deadline_s:g} s ({last!r})")


def test_the_dashboard_is_well_formed():
    board = json.loads(DASHBOARD.read_text())
    assert board["title"] == "MCP Lightning Optimizer"
    assert board["schemaVersion"] == 41 and "Grafana 13" in board["description"]
    titles = [p["title"] for p in board["panels"]]
    for wanted in ("Error rate", "Request latency", "Decisions by kind", "Fee updates per hour",
                   "Last critical error", "Uptime", "Actor restarts", "Provider fallbacks",
                   "Cycle duration", "Routing revenue"):
        assert wanted in titles
    ids = [p["id"] for p in board["panels"]]
    assert len(set(ids)) == len(ids)
    for p in board["panels"]:
        assert p["title"] and p["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert p["targets"], p["title"]
        for t in p["targets"]:
            assert t["expr"].strip() and t["refId"], p["title"]
            assert t["datasource"] == p["datasource"]
        g = p["gridPos"]
        assert 0 <= g["x"] and g["x"] + g["w"] <= 24 and g["h"] > 0
    names = {v["name"] for v in board["templating"]["list"]}
    assert names == {"datasource", "job"}


def test_promtool_accepts_the_shipped_prometheus_configs():
    promtool = _tool("promtool")
    for path in (KIT / "prometheus.yml",
                 ROOT / "umbrel" / "mcp-lightning-optimizer" / "prometheus.yml"):
        if path.exists():
            r = subprocess.run([promtool, "check", "config", str(path)], capture_output=True,
                               text=True, timeout=60)
            assert r.returncode == 0, r.stdout + r.stderr
    conf = yaml.safe_load((KIT / "prometheus.yml").read_text())
    assert conf["global"]["scrape_interval"] == "15s"
    job = conf["scrape_configs"][0]
    assert job["metrics_path"] == "/metrics"
    assert job["static_configs"][0]["targets"] == ["127.0.0.1:8731"]


def test_a_real_prometheus_scrapes_the_service_and_every_dashboard_expr_has_data(tmp_path):
    prometheus, promtool = _tool("prometheus"), _tool("promtool")
    scenario = dataclasses.replace(load_scenario("demo"), start_s=int(time.time()))
    node = serve(SimulatedNode.from_config(scenario), tmp_path / "node")
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MCP_")}
    env.update({
        "MCP_DATA_DIR": str(data), "MCP_HTTP_PORT": "0",
        "MCP_LND_HOST": node.address, "MCP_LND_TLS_CERT": str(node.tls_cert_path),
        "MCP_LND_MACAROON": str(node.admin_macaroon_path),
        "MCP_MEMPOOL_URL": f"http://127.0.0.1:{_free_port()}/api",  # nobody: LND falls back
        "MCP_PROVIDER_MAX_ATTEMPTS": "1", "MCP_PROVIDER_TOTAL_BUDGET_S": "2",
    })
    procs: list[subprocess.Popen] = []
    try:
        with open(tmp_path / "service.err", "w") as err:
            procs.append(subprocess.Popen([sys.executable, "-m", "mcp_optimizer", "run"],
                                          env=env, stdout=subprocess.DEVNULL, stderr=err))
        base = http_url(env, timeout_s=120)
        target = base.removeprefix("http://")

        conf = yaml.safe_load((KIT / "prometheus.yml").read_text())
        conf["global"]["scrape_interval"] = "1s"
        conf["global"]["scrape_timeout"] = "1s"
        conf["global"]["evaluation_interval"] = "1s"
        conf["scrape_configs"][0]["static_configs"][0]["targets"] = [target]
        (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(conf))
        port = _free_port()
        with open(tmp_path / "prometheus.log", "w") as log:
            procs.append(subprocess.Popen(
                [prometheus, f"--config.file={tmp_path / 'prometheus.yml'}",
                 f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                 f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
                stdout=log, stderr=log))
        prom = Prom(f"http://127.0.0.1:{port}")
        prom.until("ready", lambda: prom.client.get("/-/ready").status_code == 200)
        prom.until("the service's target up",
                   lambda: prom.value('up{job="mcp-lightning-optimizer"}') == 1.0)

        # work for it to see, after its first scrapes: live cycles, a rollback, requests
        _cli(env, "mode", "live")
        _cli(env, "evaluate-now")
        _wait_cycles(data, 2)
        _cli(env, "rollback", "--last")
        _cli(env, "evaluate-now")
        _wait_cycles(data, 3)
        for _ in range(5):
            httpx.get(base + "/healthz", timeout=30)

        with Journal.open(data, readonly=True) as j:
            decisions = len(j.decisions(limit=10**6))
            verified = sum(1 for c in j.changes() for e in c.events
                           if e.state is ChangeState.VERIFIED)
            cycles = len([c for c in j.cycles(limit=10**6) if hasattr(c.end, "outcome")])
        assert decisions and verified and cycles >= 3
        prom.until(f"{decisions} decisions",
                   lambda: prom.value("sum(mcp_decisions_total)") == decisions)
        prom.until(f"{verified} verified changes", lambda: prom.value(
            'sum(mcp_policy_changes_total{state="verified"})') == verified)
        prom.until("a rolled back change", lambda: (prom.value(
            'sum(mcp_policy_changes_total{state="rolled_back"})') or 0) >= 1)
        prom.until(f"{cycles} cycles ended", lambda: prom.value(
            "sum(mcp_cycles_total)") == cycles)
        prom.until("cycle durations", lambda: (prom.value(
            "mcp_cycle_duration_seconds_count") or 0) >= 3 and prom.value(
            "mcp_cycle_duration_seconds_sum") > 0)
        prom.until("stage durations", lambda: len(prom.query(
            'mcp_cycle_stage_duration_seconds_count > 0')) >= 5)
        prom.until("a provider fallback", lambda: (prom.value(
            "sum(mcp_fact_fallbacks_total)") or 0) > 0)

        missing = []
        for title, expr in exprs():
            query = grafana_expanded(expr)

            def has_data(q=query):
                return any(not math.isnan(float(r["value"][1])) for r in prom.query(q))

            try:
                prom.until(f"data for {title!r}", has_data, deadline_s=60)
            except AssertionError:
                missing.append(f"{title}: {query}")
        assert not missing, "dashboard exprs without data:\n" + "\n".join(missing)

        scrape = httpx.get(base + "/metrics", timeout=30)
        r = subprocess.run([promtool, "check", "metrics"], input=scrape.text,
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(10)
        node.stop()


def _wait_cycles(data: Path, n: int, deadline_s: float = 180.0) -> None:
    end = time.monotonic() + deadline_s
    while True:
        with Journal.open(data, readonly=True) as j:
            done = [c for c in j.cycles(limit=10**6) if hasattr(c.end, "outcome")]
        if len(done) >= n:
            return
        assert time.monotonic() < end, f"only {len(done)} of {n} cycles ended"
        time.sleep(0.2)
