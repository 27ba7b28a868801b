"""The service's HTTP application: one Starlette app, served by hypercorn on the service's trio
loop (``mcp_optimizer.http.server``).

Contract (stable; the web page, the Umbrel widget and the MCP server build on it)
----------------------------------------------------------------------------------

``build_app(ctx: HttpContext) -> Starlette``

``ctx`` (:class:`mcp_optimizer.http.context.HttpContext`) is all a route may use of the service:

- ``await ctx.control(request: ControlRequest, *, by: str = "web") -> ControlReply``: the very
  handler the control socket uses (``Service.handle``); the act is journaled as done by ``by``
  (``"web"``, ``"mcp"``, ...). Every operator act goes through it.
- ``await ctx.status() -> StatusReply``: the service's status, as ``mcp-optimizer status``.
- ``ctx.journal() -> Journal``: a read-only connection to the journal (blocking: call it in a
  worker thread), or ``await ctx.read(lambda j: j.changes(...))`` which does; ``ctx.journal_path``.
- ``ctx.registry``: the service's prometheus-client registry (``/metrics`` serves it).
- ``ctx.settings``: the service's ``ServiceSettings`` (``http_host``, ``http_port``, data dir).
- ``ctx.extras``: named parts a feature needs beyond these, put there by ``runtime/run.py``.

Routes: ``/healthz`` and ``/readyz`` (JSON, see ``health.py``), ``/metrics`` (a plain route:
Prometheus's text format, or OpenMetrics when asked), then the routes of
``mcp_optimizer.web.routes.routes(ctx)`` and of ``mcp_optimizer.umbrel.widget.routes(ctx)``
and of ``mcp_optimizer.mcp.http.routes(ctx)`` (``/mcp``, the MCP tool server) when those
modules exist (each returns a list of Starlette routes; it may mount sub-apps). A route whose
endpoint has a ``running()`` async context manager (``/mcp``'s session manager) has it entered
for as long as the app serves (the app's lifespan, entered anew when the server is served again
after a crash). Nothing else couples them to this module.

Every response is counted in ``mcp_http_requests_total{route,method,status}`` and timed in
``mcp_http_request_duration_seconds{route}``, the route being the matched template
(``unmatched`` when none matched). An exception escaping a route is a 500 with a one-line JSON
body and an ERROR log line; the server goes on.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import trio
from loguru import logger
from prometheus_client.exposition import choose_encoder
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from mcp_optimizer.metrics.http import http_metrics

from . import health
from .context import HttpContext

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

FEATURE_MODULES = ("mcp_optimizer.web.routes", "mcp_optimizer.umbrel.widget",
                   "mcp_optimizer.mcp.http")
"""Modules whose ``routes(ctx)`` join the app when they exist."""


def feature_routes(ctx: HttpContext, modules: tuple[str, ...] = FEATURE_MODULES) -> list[BaseRoute]:
    found: list[BaseRoute] = []
    for name in modules:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and name.startswith(exc.name):
                continue  # the feature is not there (yet): nothing to add
            raise
        found.extend(module.routes(ctx))
    return found


def metrics_route(ctx: HttpContext) -> Route:
    async def metrics(request: Request) -> Response:
        encoder, content_type = choose_encoder(request.headers.get("accept", ""))
        body = await trio.to_thread.run_sync(encoder, ctx.registry)
        return Response(body, media_type=content_type, headers={"Cache-Control": "no-store"})

    return Route("/metrics", metrics, methods=["GET"])


class Instrumented:
    """ASGI middleware: counts and times every HTTP response by its route template."""

    def __init__(self, app: Any, ctx: HttpContext) -> None:
        self.app = app
        self.metrics = http_metrics(ctx.registry)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}

        async def sending(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status["code"] = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self.metrics.requests.labels(route, scope.get("method", ""), str(status["code"])).inc()
            self.metrics.latency.labels(route).observe(time.perf_counter() - started)


async def _server_error(request: Request, exc: Exception) -> JSONResponse:
    logger.opt(exception=exc).error(
        "HTTP {} {} failed: {}: {}", request.method, request.url.path, type(exc).__name__, exc
    )
    return JSONResponse({"error": f"internal error: {type(exc).__name__}"}, status_code=500)


def lifespan(routes: Sequence[BaseRoute]) -> Callable[[Any], Any]:
    """The app's lifespan: every route endpoint's ``running()`` entered while it serves."""

    @asynccontextmanager
    async def serving(app: Any) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            for route in routes:
                running = getattr(getattr(route, "endpoint", None), "running", None)
                if callable(running):
                    await stack.enter_async_context(running())
            yield

    return serving


def build_app(ctx: HttpContext, modules: tuple[str, ...] = FEATURE_MODULES) -> Starlette:
    routes: list[BaseRoute] = [
        *health.routes(ctx), metrics_route(ctx), *feature_routes(ctx, modules)
    ]
    app = Starlette(routes=routes, exception_handlers={Exception: _server_error},
                    lifespan=lifespan(routes))
    app.state.ctx = ctx
    app.add_middleware(Instrumented, ctx=ctx)
    return app
