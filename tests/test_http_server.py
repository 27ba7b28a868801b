"""The service's HTTP server: health and readiness JSON, /metrics as a plain route, a port taken
stops ``run`` with one line, a crashed server is served again while the actors go on, and the
feature modules' routes join the app."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap
import time

import httpx
import pytest
import trio
from prometheus_client import CollectorRegistry
from service_support import http_url, running_service
from starlette.testclient import TestClient

from mcp_optimizer.actors.faults import FAULTS
from mcp_optimizer.http.app import build_app
from mcp_optimizer.http.context import HttpContext, Readiness
from mcp_optimizer.http.server import bind
from mcp_optimizer.http.wiring import attach_http
from mcp_optimizer.messages.control import StatusReply, StatusRequest
from mcp_optimizer.runtime.run import open_service
from mcp_optimizer.runtime.settings import ServiceSettings, SettingsError


def bare_context(**kw) -> HttpContext:
    async def control(request, by="web"):
        raise AssertionError("not used")

    def status():
        raise RuntimeError("status exploded")

    defaults = dict(control_handler=control, status_fn=status, journal_path=None,
                    registry=CollectorRegistry())
    defaults.update(kw)
    return HttpContext(**defaults)


def test_a_running_service_answers_health_readiness_and_metrics(tmp_path):
    with running_service(tmp_path) as (env, _proc):
        base = http_url(env)
        health = httpx.get(f"{base}/healthz", timeout=30)
        assert health.status_code == 200
        body = health.json()
        assert body["status"] == "ok"
        assert body["checks"]["process"]["ok"] and body["checks"]["control_loop"]["ok"]
        ready = httpx.get(f"{base}/readyz", timeout=30)
        assert ready.status_code == 200, ready.text
        assert set(ready.json()["checks"]) == {"last_cycle", "journal_writable", "lnd_reachable"}
        metrics = httpx.get(f"{base}/metrics", timeout=30)  # a plain route: no redirect
        assert metrics.status_code == 200
        assert metrics.headers["content-type"].startswith("text/plain")
        assert 'mcp_http_requests_total{method="GET",route="/healthz",status="200"}' in \
            metrics.text
        assert "process_resident_memory_bytes" in metrics.text
        om = httpx.get(f"{base}/metrics", headers={"Accept": "application/openmetrics-text"})
        assert om.headers["content-type"].startswith("application/openmetrics-text")
        assert om.text.rstrip().endswith("# EOF")
        assert httpx.get(f"{base}/nothing-here").status_code == 404


def test_a_port_already_taken_stops_run_with_one_line_naming_it(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        env = {"PATH": "/usr/bin:/bin", "MCP_DATA_DIR": str(tmp_path / "d"),
               "MCP_HTTP_PORT": str(port)}
        proc = subprocess.run([sys.executable, "-m", "mcp_optimizer", "run"], env=env,
                              capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert f"HTTP port {port} on 127.0.0.1 is already in use" in lines[0]
    assert "MCP_HTTP_PORT" in lines[0]
    assert not (tmp_path / "d" / "simulator").exists()  # stopped before anything started


@pytest.mark.parametrize("value", ["http", "-1", "70000", "80 80"])
def test_a_bad_http_port_is_one_sentence(value):
    with pytest.raises(SettingsError, match="MCP_HTTP_PORT"):
        ServiceSettings.from_env({"MCP_HTTP_PORT": value})


def test_http_settings_default_and_off():
    s = ServiceSettings.from_env({})
    assert (s.http_host, s.http_port) == ("127.0.0.1", 8731)
    assert ServiceSettings.from_env({"MCP_HTTP_PORT": "off"}).http_port is None
    assert ServiceSettings.from_env({"MCP_HTTP_PORT": "0", "MCP_HTTP_HOST": "::1"}).http_host \
        == "::1"


def test_health_fails_when_the_control_loop_does_not_answer_and_readiness_names_checks():
    def lnd_down():
        raise ConnectionError("connection refused")

    ctx = bare_context(readiness=Readiness(
        last_cycle=lambda: "the last cycle (7) failed: ingestion failed",
        journal_writable=lambda: None,
        lnd_reachable=lnd_down,
    ))
    with TestClient(build_app(ctx, modules=()), backend="trio") as client:
        health = client.get("/healthz")
        assert health.status_code == 503
        assert health.json()["checks"]["control_loop"] == {
            "ok": False, "detail": "status failed: RuntimeError: status exploded"}
        ready = client.get("/readyz")
        assert ready.status_code == 503
        checks = ready.json()["checks"]
        assert checks["journal_writable"] == {"ok": True, "detail": "ok"}
        assert checks["last_cycle"]["detail"].startswith("the last cycle (7) failed")
        assert checks["lnd_reachable"] == {
            "ok": False, "detail": "ConnectionError: connection refused"}


def test_a_route_that_raises_is_a_500_with_one_line_and_is_counted(tmp_path, monkeypatch):
    (tmp_path / "boom_feature.py").write_text(textwrap.dedent("""
        from starlette.routing import Route

        async def boom(request):
            raise ValueError("kaput")

        def routes(ctx):
            return [Route("/boom/{n}", boom)]
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    ctx = bare_context()
    with TestClient(build_app(ctx, modules=("boom_feature",)), backend="trio",
                    raise_server_exceptions=False) as client:
        r = client.get("/boom/3")
        assert r.status_code == 500
        assert r.json() == {"error": "internal error: ValueError"}
        text = client.get("/metrics").text
    assert 'mcp_http_requests_total{method="GET",route="/boom/{n}",status="500"} 1.0' in text


def test_feature_modules_join_the_app_and_missing_ones_are_skipped(tmp_path, monkeypatch):
    (tmp_path / "feat_a.py").write_text(textwrap.dedent("""
        from starlette.responses import PlainTextResponse
        from starlette.routing import Route

        def routes(ctx):
            async def hello(request):
                return PlainTextResponse("hello " + type(ctx).__name__)
            return [Route("/hello", hello)]
    """))
    (tmp_path / "feat_broken.py").write_text("import no_such_dependency_xyz\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    ctx = bare_context()
    app = build_app(ctx, modules=("feat_a", "feat_missing_entirely"))
    with TestClient(app, backend="trio") as client:
        assert client.get("/hello").text == "hello HttpContext"
    # a feature that exists but cannot be imported is a bug, not a missing feature
    with pytest.raises(ModuleNotFoundError, match="no_such_dependency_xyz"):
        build_app(ctx, modules=("feat_broken",))


def test_a_crashed_http_server_is_served_again_and_the_actors_go_on(tmp_path):
    env = {"MCP_DATA_DIR": str(tmp_path / "data"), "MCP_CONTROL_SOCKET": str(tmp_path / "c.sock"),
           "MCP_SIM_SPEED": "0", "MCP_CYCLE_INTERVAL_S": "86400"}
    settings = ServiceSettings.from_env(env)
    sock = bind("127.0.0.1", 0)
    FAULTS.disarm()
    try:
        with open_service(settings, env) as service:
            server = attach_http(service, settings, sock)
            before = {r.spec.name: r.generation for r in service.supervisor.snapshot()}

            async def scenario() -> None:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(service.main)
                    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
                        assert (await _until_ok(client)).status_code == 200
                        FAULTS.arm("http")
                        crashed = await client.get("/healthz")
                        assert crashed.status_code == 503
                        assert (await _until_ok(client)).status_code == 200
                        reply = await service.http.ctx.control(StatusRequest(), by="test")
                        assert isinstance(reply, StatusReply)
                        text = (await client.get("/metrics")).text
                        assert "mcp_http_server_restarts_total 1.0" in text
                    nursery.cancel_scope.cancel()

            trio.run(scenario)
            assert server.restarts == 1
            after = {r.spec.name: r.generation for r in service.supervisor.snapshot()}
            assert after == before  # no actor was restarted
            assert all(r.state.value == "running" for r in service.supervisor.snapshot())
    finally:
        FAULTS.disarm()
        sock.close()
    assert not (tmp_path / "data" / "http-address").exists()


async def _until_ok(client: httpx.AsyncClient, deadline_s: float = 60.0) -> httpx.Response:
    end = time.monotonic() + deadline_s
    while True:
        try:
            r = await client.get("/healthz")
            if r.status_code == 200:
                return r
        except httpx.TransportError:
            pass
        assert time.monotonic() < end, "the HTTP server did not come back"
        await trio.sleep(0.05)


def test_health_answers_head_and_a_failing_body_is_still_json():
    ctx = bare_context(status_fn=lambda: (_ for _ in ()).throw(RuntimeError("x")))
    with TestClient(build_app(ctx, modules=()), backend="trio") as client:
        assert json.loads(client.get("/healthz").text)["status"] == "failing"
        assert client.head("/healthz").status_code == 503

