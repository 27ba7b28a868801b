"""``mcp-optimizer mcp``: the service's MCP tools over stdio, for an assistant that starts a
local command.

It relays each request to the running service's ``/mcp`` (its address from
``<data dir>/http-address``, or ``--url``; its bearer token from ``MCP_MCP_TOKEN``, else
``<data dir>/mcp-token``), so the tools, their checks and their journaling are the service's
own: an act is journaled ``by: mcp`` by the service, and the acting tools are listed only when
the service offers them. Each request stands alone (the service's transport is stateless): a
service restart costs one failed call, answered as a tool error naming the cause.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import anyio
import httpx2
import mcp_types as types
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.server import Server
from mcp.server.context import ServerRequestContext
from mcp.server.stdio import stdio_server
from mcp.shared.exceptions import MCPError

from mcp_optimizer.http.server import ADDRESS_FILE

from .http import PATH
from .server import INSTRUCTIONS, NAME
from .settings import TOKEN_VAR, read_token, token_path

TIMEOUT_S = 600.0
"""A tool call may wait for a whole cycle (evaluate_now with wait)."""


class RelayError(RuntimeError):
    """The service cannot be reached, or refused the token (one sentence)."""


def service_url(data_dir: Path, url: str | None) -> str:
    """``--url`` (its ``/mcp`` added when missing), else the address the running service
    wrote in its data directory."""
    if url:
        base = url.rstrip("/")
        return base if base.endswith(PATH) else base + PATH
    path = data_dir / ADDRESS_FILE
    try:
        address = path.read_text().strip()
    except FileNotFoundError:
        raise RelayError(f"no service is running with an HTTP server: {path} does not exist "
                         "(start `mcp-optimizer run`, with MCP_HTTP_PORT not off, or give "
                         "--url)") from None
    if not address:
        raise RelayError(f"{path} is empty: is the service starting?")
    return f"http://{address}{PATH}"


def client_token(data_dir: Path, env: Mapping[str, str]) -> str:
    token = env.get(TOKEN_VAR, "").strip() or read_token(data_dir)
    if not token:
        raise RelayError(f"no MCP token: set {TOKEN_VAR}, or start the service once so that it "
                         f"writes {token_path(data_dir)}")
    return token


class Relay:
    """Opens a client of the service's ``/mcp`` for each request."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self._headers = {"Authorization": f"Bearer {token}"}

    def client(self) -> Client:
        http = httpx2.AsyncClient(headers=self._headers, timeout=TIMEOUT_S)
        return Client(streamable_http_client(self.url, http_client=http), cache=None)

    async def list_tools(self) -> types.ListToolsResult:
        try:
            async with self.client() as c:
                return await c.list_tools()
        except MCPError:
            raise
        except Exception as exc:  # noqa: BLE001 - told to the assistant, in one sentence
            raise RelayError(self._why(exc)) from None

    async def call_tool(self, name: str, arguments: dict[str, Any] | None
                        ) -> types.CallToolResult:
        try:
            async with self.client() as c:
                return await c.call_tool(name, arguments or {})
        except Exception as exc:  # noqa: BLE001 - a tool error, never a crash of the relay
            return types.CallToolResult(
                content=[types.TextContent(type="text", text=self._why(exc))], is_error=True)

    def _why(self, exc: BaseException) -> str:
        inner = exc
        while isinstance(inner, BaseExceptionGroup) and inner.exceptions:
            inner = inner.exceptions[0]
        if isinstance(inner, MCPError):
            return f"the service at {self.url} answered: {inner.message}"
        text = " ".join(str(inner).split())[:300]
        return (f"the service at {self.url} did not answer: {type(inner).__name__}"
                + (f": {text}" if text else ""))


def build_relay_server(relay: Relay) -> Server[Any]:
    async def on_list_tools(ctx: ServerRequestContext[Any],
                            params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
        try:
            return await relay.list_tools()
        except RelayError as exc:
            raise MCPError(code=types.INTERNAL_ERROR, message=str(exc)) from None

    async def on_call_tool(ctx: ServerRequestContext[Any],
                           params: types.CallToolRequestParams) -> types.CallToolResult:
        return await relay.call_tool(params.name, params.arguments)

    return Server(NAME, instructions=INSTRUCTIONS, on_list_tools=on_list_tools,
                  on_call_tool=on_call_tool)


def serve_stdio(data_dir: Path, url: str | None = None,
                env: Mapping[str, str] | None = None) -> None:
    """Check the service answers (:class:`RelayError` otherwise), then serve stdio until the
    assistant closes it."""
    relay = Relay(service_url(data_dir, url), client_token(data_dir, os.environ if env is None
                                                            else env))
    server = build_relay_server(relay)

    async def main() -> None:
        await relay.list_tools()  # the service answers, and takes the token: else one line
        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())

    anyio.run(main, backend="trio")
