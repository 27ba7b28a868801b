"""Who may use the page: loopback by default; bound elsewhere only with an access token (or
behind a declared authenticating proxy), refused at start otherwise; POSTs need the CSRF token,
a JSON body and no foreign Origin."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry
from service_support import cli
from starlette.testclient import TestClient

from mcp_optimizer.http.app import build_app
from mcp_optimizer.http.context import HttpContext
from mcp_optimizer.web.security import COOKIE, ExposureRefused, check_exposure, is_loopback

TOKEN = "s3cret-token-for-the-page"


def test_loopback_needs_nothing_elsewhere_a_token_or_a_proxy():
    for host in ("127.0.0.1", "::1", "localhost", "127.0.0.53"):
        assert is_loopback(host)
        check_exposure(host, {})
    for host in ("0.0.0.0", "192.168.1.5", "::"):
        with pytest.raises(ExposureRefused) as exc:
            check_exposure(host, {})
        assert "MCP_WEB_TOKEN" in str(exc.value) and "\n" not in str(exc.value)
        check_exposure(host, {"MCP_WEB_TOKEN": TOKEN})
        check_exposure(host, {"MCP_WEB_AUTH": "proxy"})
    with pytest.raises(ExposureRefused, match="at least 16"):
        check_exposure("0.0.0.0", {"MCP_WEB_TOKEN": "short"})
    with pytest.raises(ExposureRefused, match="MCP_WEB_AUTH"):
        check_exposure("0.0.0.0", {"MCP_WEB_AUTH": "none"})


def test_run_bound_elsewhere_without_a_token_stops_with_one_line(tmp_path):
    import os

    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MCP_LND_", "MCP_WEB_", "MCP_CONTROL_SOCKET"))}
    env.update(MCP_DATA_DIR=str(tmp_path / "data"), MCP_HTTP_HOST="0.0.0.0", MCP_HTTP_PORT="0")
    r = cli(env, "run", timeout=120)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "MCP_WEB_TOKEN" in lines[0], r.stderr
    assert not (tmp_path / "data" / "http-address").exists()


def _client(monkeypatch, token: str | None) -> TestClient:
    if token is None:
        monkeypatch.delenv("MCP_WEB_TOKEN", raising=False)
    else:
        monkeypatch.setenv("MCP_WEB_TOKEN", token)

    async def control(request, by="web"):
        raise AssertionError("no act may reach the service in these tests")

    def status():
        raise AssertionError("not used")

    ctx = HttpContext(control_handler=control, status_fn=status, journal_path=None,
                      registry=CollectorRegistry())
    return TestClient(build_app(ctx), backend="trio")


def test_with_a_token_every_page_and_api_call_needs_it(monkeypatch):
    c = _client(monkeypatch, TOKEN)
    assert c.get("/api/v1/csrf").status_code == 401
    page = c.get("/")
    assert page.status_code == 401 and "Access token" in page.text
    ok = c.get("/api/v1/csrf", headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 200 and ok.json()["token"]
    assert c.get("/api/v1/csrf", headers={"Authorization": "Bearer wrong"}).status_code == 401
    bad = c.post("/signin", content="token=nope",
                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert bad.status_code == 401
    good = c.post("/signin", content=f"token={TOKEN}", follow_redirects=False,
                  headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert good.status_code == 303 and COOKIE in good.headers["set-cookie"]
    assert "httponly" in good.headers["set-cookie"].lower()
    assert c.get("/api/v1/csrf").status_code == 200  # the cookie now signs the browser in
    assert c.get("/healthz").status_code != 401  # health stays open for the orchestrator


def test_posts_need_the_csrf_token_json_and_no_foreign_origin(monkeypatch):
    c = _client(monkeypatch, None)
    csrf = c.get("/api/v1/csrf").json()["token"]
    assert c.post("/api/v1/pause", json={}).status_code == 403
    assert c.post("/api/v1/pause", json={}, headers={"X-CSRF-Token": "x" * 64}).status_code == 403
    r = c.post("/api/v1/pause", json={}, headers={"X-CSRF-Token": csrf,
                                                  "Origin": "http://evil.example"})
    assert r.status_code == 403 and "another site" in r.json()["error"]
    r = c.post("/api/v1/pause", content=b"reason=x", headers={
        "X-CSRF-Token": csrf, "Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 415
    r = c.post("/api/v1/pause", content=b"{not json", headers={
        "X-CSRF-Token": csrf, "Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error"].startswith("the body is not valid JSON")
    r = c.post("/api/v1/pause", json={"reason": "x" * 501}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 400 and "\n" not in r.json()["error"]
    r = c.post("/api/v1/pause", content=b"{" + b" " * 70_000 + b"}", headers={
        "X-CSRF-Token": csrf, "Content-Type": "application/json"})
    assert r.status_code == 413
    page = c.get("/static/app.js")
    assert page.status_code == 200 and "X-CSRF-Token" in page.text
    assert c.get("/static/../routes.py").status_code == 404
