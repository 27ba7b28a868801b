"""``/mcp``: the MCP tools over the streamable HTTP transport, on the service's HTTP port.

Joined to the HTTP app by ``mcp_optimizer.http.app`` (``routes(ctx)``). Every request must
carry ``Authorization: Bearer <token>``, the MCP server's own token (``settings.py``): without
it, or with another, the answer is 401 and nothing is read. That holds on loopback too, and
behind Umbrel's app proxy, which lets ``/mcp`` through without a login (an assistant carries
none): the token is the only key. Bound to a loopback address, the SDK's DNS-rebinding check
(``Host`` and ``Origin`` must name loopback) applies as well.

The transport runs stateless, answering JSON: each request stands alone, so a service restart
costs a client nothing but a retry. Its session manager is started for as long as the app
serves (``McpEndpoint.running``, entered by the app's lifespan at each start of the server).
"""

from __future__ import annotations

import hmac
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import msgspec
import trio
from loguru import logger
from mcp.server import Server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.routing import BaseRoute, Route

from mcp_optimizer.http.context import HttpContext

from .server import build_server
from .settings import McpSettings, load_mcp_settings, service_token, token_path
from .tools import Backend

PATH = "/mcp"
UNAUTHORIZED = msgspec.json.encode({"jsonrpc": "2.0", "id": None, "error": {
    "code": -32001, "message": "unauthorized: /mcp needs the MCP server's bearer token "
    "(Authorization: Bearer <token>; MCP_MCP_TOKEN, else <data dir>/mcp-token)"}})
"""A JSON-RPC error, so that an MCP client shows its sentence rather than a bare status."""
STARTING = msgspec.json.encode({"jsonrpc": "2.0", "id": None, "error": {
    "code": -32002, "message": "the MCP server is starting or stopping: try again"}})
SETTINGS_EXTRA = "mcp_settings"
"""``ctx.extras`` key of the :class:`McpSettings` the service started with (``http/wiring``)."""


def backend(ctx: HttpContext) -> Backend:
    """The tools' view of the service behind ``ctx``."""
    runner = ctx.extras.get("runner")
    desk = ctx.extras.get("policy")

    def snapshots() -> list[Any]:
        return list(getattr(runner, "last_snapshots", []) or [])

    what_next: Callable[[], Any] | None = None
    if desk is not None:
        async def what_next() -> Any:
            from mcp_optimizer.web.api import next_cycle

            decisions = await trio.to_thread.run_sync(desk.what_next)
            return next_cycle(snapshots(), decisions)

    assert ctx.settings is not None
    return Backend(
        read=ctx.read, control=lambda request: ctx.control(request, by="mcp"),
        status=ctx.status, data_dir=ctx.settings.data_dir, snapshots=snapshots,
        what_next=what_next,
    )


def _loopback_security(host: str) -> TransportSecuritySettings | None:
    from mcp_optimizer.web.security import is_loopback

    if not is_loopback(host):
        return None  # reachable from elsewhere: the bearer token is the check
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=["127.0.0.1:*", "localhost:*", "[::1]:*"],
        allowed_origins=["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"],
    )


class McpEndpoint:
    """The ASGI app at ``/mcp``: the bearer check, then the SDK's transport."""

    def __init__(self, server: Server[Any], token: str,
                 security: TransportSecuritySettings | None) -> None:
        self.server = server
        self._token = token.encode()
        self.security = security
        self.manager: StreamableHTTPSessionManager | None = None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Serve for the duration (a new session manager each time: one runs only once)."""
        manager = StreamableHTTPSessionManager(
            app=self.server, stateless=True, json_response=True,
            security_settings=self.security,
        )
        async with manager.run():
            self.manager = manager
            try:
                yield
            finally:
                self.manager = None

    def authorized(self, scope: dict[str, Any]) -> bool:
        for key, value in scope.get("headers", []):
            if key == b"authorization":
                scheme, _, given = value.partition(b" ")
                return scheme.lower() == b"bearer" and hmac.compare_digest(
                    given.strip(), self._token)
        return False

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if not self.authorized(scope):
            await _reply(send, 401, UNAUTHORIZED, [(b"www-authenticate", b'Bearer realm="mcp"')])
            return
        if self.manager is None:
            await _reply(send, 503, STARTING)
            return
        await self.manager.handle_request(scope, receive, send)


async def _reply(send: Any, status: int, body: bytes,
                 headers: list[tuple[bytes, bytes]] | None = None) -> None:
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"cache-control", b"no-store"),
        (b"content-length", str(len(body)).encode()), *(headers or [])]})
    await send({"type": "http.response.body", "body": body})


def routes(ctx: HttpContext) -> list[BaseRoute]:
    """``/mcp`` (every method: POST carries the calls). None for a context without a data
    directory (a bare test context: there is no token to keep)."""
    if ctx.settings is None:
        return []
    settings: McpSettings = ctx.extras.get(SETTINGS_EXTRA) or load_mcp_settings(os.environ)
    token = service_token(settings, ctx.settings.data_dir)
    endpoint = McpEndpoint(build_server(backend(ctx), settings.actions), token,
                           _loopback_security(ctx.settings.http_host))
    where = "MCP_MCP_TOKEN" if settings.token else str(token_path(ctx.settings.data_dir))
    logger.info("MCP tool server at {} (bearer token: {}; acting tools {})", PATH, where,
                "offered (MCP_MCP_ACTIONS=true)" if settings.actions else "not offered")
    return [Route(PATH, endpoint=endpoint)]
