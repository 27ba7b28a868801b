"""The page's "Connect an assistant": the MCP server's URL and bearer token for an assistant's
configuration, through the HTTP API of a running service on the embedded simulator. The token
is read only by ``GET /api/v1/mcp-connection`` (never in the page's HTML), is not cached, is
refused to requests the page's security rules refuse (no access token, no CSRF header, a
foreign Origin, a non-loopback Host while bound to loopback), works against ``/mcp``, and
reaches no log, ``/metrics`` nor file of the data directory but its own."""

from __future__ import annotations

import json
import os
from pathlib import Path
from unittest import mock
from urllib.parse import urlsplit

import httpx
from mcp_support import Live, http_client, run
from service_support import http_url, running_service

API = "/api/v1/mcp-connection"
MCP_TOKEN = "mcp-token-for-the-assistant-5e6f7a8b"
WEB_TOKEN = "web-token-for-the-page-1a2b3c4d"


def _nowhere_else(token: str, data: Path, stderr: Path, url: str, headers: dict) -> None:
    """The token in no file of the data directory but ``mcp-token``, not in stderr, not in
    /metrics (which counts the route's requests)."""
    metrics = httpx.get(f"{url}/metrics", headers=headers, timeout=30).text
    assert 'route="/api/v1/mcp-connection"' in metrics
    assert token not in metrics
    assert token not in stderr.read_text()
    for path in data.rglob("*"):
        if path.is_file() and path.name != "mcp-token" and not path.is_socket():
            assert token.encode() not in path.read_bytes(), path


def test_the_page_shows_where_and_the_api_gives_the_token_only_to_the_page(tmp_path):
    with mock.patch.dict(os.environ, {"MCP_MCP_ACTIONS": "false"}), \
            running_service(tmp_path) as (env, proc):
        url = http_url(env)
        data = Path(env["MCP_DATA_DIR"])
        token = (data / "mcp-token").read_text().strip()
        c = httpx.Client(base_url=url, timeout=60)

        page = c.get("/")
        assert page.status_code == 200
        assert "Connect an assistant" in page.text and f"{url}/mcp" in page.text
        assert str(data / "mcp-token") in page.text  # where the token comes from
        assert "not offered: read tools only" in page.text
        assert token not in page.text  # hidden: the page does not hold it

        # without the CSRF header (a plain navigation, a <script src>): refused, no token
        r = c.get(API)
        assert r.status_code == 403 and "X-CSRF-Token" in r.json()["error"]
        assert token not in r.text
        csrf = c.get("/api/v1/csrf").json()["token"]
        r = c.get(API, headers={"X-CSRF-Token": "0" * 64})
        assert r.status_code == 403 and token not in r.text
        r = c.get(API, headers={"X-CSRF-Token": csrf, "Origin": "http://evil.example"})
        assert r.status_code == 403 and "another site" in r.json()["error"]
        assert token not in r.text
        # DNS rebinding: another site's name resolved to 127.0.0.1, same origin to the browser
        port = urlsplit(url).port
        r = c.get(API, headers={"X-CSRF-Token": csrf, "Host": f"evil.example:{port}",
                                "Origin": f"http://evil.example:{port}"})
        assert r.status_code == 403 and "loopback" in r.json()["error"]
        assert token not in r.text

        r = c.get(API, headers={"X-CSRF-Token": csrf})
        assert r.status_code == 200, r.text
        assert r.headers["cache-control"] == "no-store"
        got = r.json()
        assert got["token"] == token and got["url"] == f"{url}/mcp"
        assert got["actions"] is False and got["token_source"] == str(data / "mcp-token")
        entry = json.loads(got["config"])["mcpServers"]["lightning-fees"]
        assert entry == {"type": "http", "url": f"{url}/mcp",
                         "headers": {"Authorization": f"Bearer {token}"}}
        for host in (f"localhost:{port}", f"[::1]:{port}"):  # other loopback names: served
            r = c.get(API, headers={"X-CSRF-Token": csrf, "Host": host})
            assert r.status_code == 200 and r.json()["url"] == f"http://{host}/mcp", host

        # what the page gives is what /mcp takes: the assistant lists the read tools only
        live = Live(env=env, url=url, data_dir=data, tmp=tmp_path, pid=proc.pid)

        async def tools() -> set[str]:
            async with http_client(live, got["token"]) as client:
                return {t.name for t in (await client.list_tools()).tools}

        names = run(tools)
        assert "status" in names and "pause" not in names
        _nowhere_else(token, data, tmp_path / "stderr.txt", url, {})


def test_reachable_from_elsewhere_the_token_needs_the_pages_access_token(tmp_path):
    extra = {"MCP_HTTP_HOST": "0.0.0.0", "MCP_WEB_TOKEN": WEB_TOKEN,
             "MCP_MCP_TOKEN": MCP_TOKEN, "MCP_MCP_ACTIONS": "true"}
    with mock.patch.dict(os.environ, extra), running_service(tmp_path) as (env, _proc):
        port = urlsplit(http_url(env)).port
        url = f"http://127.0.0.1:{port}"
        data = Path(env["MCP_DATA_DIR"])
        c = httpx.Client(base_url=url, timeout=60)
        auth = {"Authorization": f"Bearer {WEB_TOKEN}"}

        page = c.get("/")
        assert page.status_code == 401 and "Connect an assistant" not in page.text
        r = c.get(API, headers={"X-CSRF-Token": "0" * 64})
        assert r.status_code == 401 and MCP_TOKEN not in r.text
        csrf = c.get("/api/v1/csrf", headers=auth).json()["token"]
        r = c.get(API, headers={"X-CSRF-Token": csrf})  # the CSRF token alone is not enough
        assert r.status_code == 401 and MCP_TOKEN not in r.text
        r = c.get(API, headers={"X-CSRF-Token": csrf, "Authorization": "Bearer wrong"})
        assert r.status_code == 401 and MCP_TOKEN not in r.text

        page = c.get("/", headers=auth)
        assert page.status_code == 200 and "Connect an assistant" in page.text
        assert "offered (<code>MCP_MCP_ACTIONS=true</code>)" in page.text
        assert MCP_TOKEN not in page.text and "from MCP_MCP_TOKEN" in page.text

        # as behind Umbrel's proxy, which forwards the browser's Host: the URL is that address
        r = c.get(API, headers={**auth, "X-CSRF-Token": csrf, "Host": "umbrel.local:2110"})
        assert r.status_code == 200, r.text
        assert r.headers["cache-control"] == "no-store"
        got = r.json()
        assert got["token"] == MCP_TOKEN and got["token_source"] == "MCP_MCP_TOKEN"
        assert got["actions"] is True and got["url"] == "http://umbrel.local:2110/mcp"
        assert not (data / "mcp-token").exists()  # MCP_MCP_TOKEN set: no file is made
        _nowhere_else(MCP_TOKEN, data, tmp_path / "stderr.txt", url, auth)
