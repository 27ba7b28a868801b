"""``/mcp`` after the HTTP server crashed and was served again: its session manager is started
anew with the app (one runs only once), and the SDK's client is answered as before."""

from __future__ import annotations

import time

import httpx
import httpx2
import trio
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from mcp_optimizer.actors.faults import FAULTS
from mcp_optimizer.http.server import bind
from mcp_optimizer.http.wiring import attach_http
from mcp_optimizer.mcp.settings import read_token
from mcp_optimizer.runtime.run import open_service
from mcp_optimizer.runtime.settings import ServiceSettings


async def _tools(url: str, token: str) -> set[str]:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60)
    async with Client(streamable_http_client(url + "/mcp", http_client=http), cache=None) as c:
        names = {t.name for t in (await c.list_tools()).tools}
        result = await c.call_tool("status", {})
        assert not result.is_error and result.structured_content["type"] == "StatusReply"
        return names


async def _until_ok(client: httpx.AsyncClient) -> None:
    end = time.monotonic() + 60
    while True:
        try:
            if (await client.get("/healthz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < end, "the HTTP server did not come back"
        await trio.sleep(0.05)


def test_mcp_answers_again_after_the_http_server_is_served_again(tmp_path):
    env = {"MCP_DATA_DIR": str(tmp_path / "data"), "MCP_CONTROL_SOCKET": str(tmp_path / "c.sock"),
           "MCP_SIM_SPEED": "0", "MCP_CYCLE_INTERVAL_S": "86400", "MCP_MCP_ACTIONS": "true"}
    settings = ServiceSettings.from_env(env)
    sock = bind("127.0.0.1", 0)
    FAULTS.disarm()
    try:
        with open_service(settings, env) as service:
            server = attach_http(service, settings, sock, env)
            token = read_token(settings.data_dir)
            assert len(token) >= 32

            async def scenario() -> tuple[set[str], set[str]]:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(service.main)
                    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
                        await _until_ok(client)
                        first = await _tools(server.url, token)
                        FAULTS.arm("http")
                        assert (await client.get("/healthz")).status_code == 503
                        await _until_ok(client)
                        again = await _tools(server.url, token)
                    nursery.cancel_scope.cancel()
                return first, again

            first, again = trio.run(scenario)
            assert server.restarts == 1
            assert first == again and {"pause", "rollback", "status"} <= first
    finally:
        FAULTS.disarm()
        sock.close()
