"""``/mcp``: the MCP tools over the streamable HTTP transport, on the service's HTTP port.

Joined to the HTTP app by ``mcp_optimizer.http.app`` (``routes(ctx)``). Every request must
carry ``Authorization: Bearer <token>``, the MCP server's own token (``settings.py``): without
it, or with another, the answer is 401 and nothing is read. That holds on loopback too, and
behind Umbrel's app proxy, which lets ``/mcp`` through without a login (an assistant carries
none): the token is the only key. Bound to a loopback address, the SDK's DNS-rebinding check
(``Host`` and ``Origin`` must name loopback) applies as well.

The transport runs stateless, answering JSON: each request stands alone, so a service restart
costs a client nothing but a retry. The SDK is imported, and its session manager started, at
the first authorised request, not with the service: the SDK and pydantic hold ~30 MiB
resident, which a node whose operator never connects an assistant should not carry
(docs/benchmarks.md, issue 16). The manager then runs for as long as the app serves
(``McpEndpoint.running``, entered by the app's lifespan at each start of the server).
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
from starlette.routing import BaseRoute, Route

from mcp_optimizer.http.context import HttpContext

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


def _loopback_security(host: str) -> Any:
    """The SDK's DNS-rebinding settings for a loopback bind, None elsewhere (imports the SDK)."""
    from mcp.server.transport_security import TransportSecuritySettings

    from mcp_optimizer.web.security import is_loopback

    if not is_loopback(host):
        return None  # reachable from elsewhere: the bearer token is the check
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=["127.0.0.1:*", "localhost:*", "[::1]:*"],
        allowed_origins=["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"],
    )


class McpEndpoint:
    """The ASGI app at ``/mcp``: the bearer check, then the SDK's transport, loaded by the
    first authorised request (``load`` imports the SDK and builds the server and its
    transport security settings; run in a worker thread so the page is not held meanwhile)."""

    def __init__(self, load: Callable[[], tuple[Any, Any]], token: str) -> None:
        self._load = load
        self._token = token.encode()
        self._loaded: tuple[Any, Any] | None = None
        self._lock = trio.Lock()
        self._nursery: trio.Nursery | None = None
        self.manager: Any = None
        self.load_error: str | None = None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Serve for the duration; the session manager is started in here on first use (a new
        one each time the app serves again: a manager runs only once)."""
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            try:
                yield
            finally:
                self._nursery = None
                self.manager = None
                nursery.cancel_scope.cancel()

    async def _serve_manager(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

        assert self._loaded is not None
        server, security = self._loaded
        manager = StreamableHTTPSessionManager(
            app=server, stateless=True, json_response=True, security_settings=security,
        )
        async with manager.run():
            self.manager = manager
            task_status.started()
            try:
                await trio.sleep_forever()
            finally:
                self.manager = None

    async def _ready(self) -> bool:
        """The session manager, started if need be; False while the app is not serving or
        when the SDK could not be loaded (``load_error`` says why, logged once)."""
        async with self._lock:
            if self.manager is not None:
                return True
            if self._nursery is None or self.load_error is not None:
                return False
            if self._loaded is None:
                try:
                    self._loaded = await trio.to_thread.run_sync(self._load)
                except Exception as exc:  # noqa: BLE001 - /mcp answers 503 and says why
                    self.load_error = f"{type(exc).__name__}: {exc}"
                    logger.error("the MCP tool server could not start: {}", self.load_error)
                    return False
            nursery = self._nursery
            if nursery is None:
                return False
            await nursery.start(self._serve_manager)
            return self.manager is not None

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
        if not await self._ready():
            await _reply(send, 503, STARTING if self.load_error is None else
                         _unavailable(self.load_error))
            return
        await self.manager.handle_request(scope, receive, send)


def _unavailable(why: str) -> bytes:
    return msgspec.json.encode({"jsonrpc": "2.0", "id": None, "error": {
        "code": -32003, "message": f"the MCP tool server could not start: {why}"}})


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
    tools, host = backend(ctx), ctx.settings.http_host

    def load() -> tuple[Any, Any]:
        from .server import build_server

        return build_server(tools, settings.actions), _loopback_security(host)

    endpoint = McpEndpoint(load, token)
    where = "MCP_MCP_TOKEN" if settings.token else str(token_path(ctx.settings.data_dir))
    logger.info("MCP tool server at {} (bearer token: {}; acting tools {})", PATH, where,
                "offered (MCP_MCP_ACTIONS=true)" if settings.actions else "not offered")
    return [Route(PATH, endpoint=endpoint)]
