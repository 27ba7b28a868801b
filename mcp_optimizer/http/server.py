"""The HTTP server: hypercorn's trio worker serving :func:`mcp_optimizer.http.app.build_app`
inside the service's own trio loop, supervised.

The listening socket is bound once, at start (:func:`bind`): a port already taken stops
``mcp-optimizer run`` with one line naming it, before anything else starts. The server then
serves a duplicate of that socket; if it crashes it is served again on the same socket after a
pause (1 s, doubling up to 30 s while it keeps crashing), counted in
``mcp_http_server_restarts_total``, and the actors and the scheduler go on untouched.
The bound address is written to ``<data dir>/http-address`` (``host:port`` or ``[v6]:port``;
useful with ``MCP_HTTP_PORT=0``) and removed at stop.
"""

from __future__ import annotations

import errno
import os
import socket
from pathlib import Path
from typing import Any

import trio
from hypercorn.config import Config
from hypercorn.trio import serve
from loguru import logger

from mcp_optimizer.actors.faults import FAULTS
from mcp_optimizer.metrics.http import http_metrics

from .context import HttpContext

ADDRESS_FILE = "http-address"
RESTART_FIRST_S = 1.0
RESTART_MAX_S = 30.0
STABLE_S = 60.0
"""A server that ran this long before crashing is restarted after the first pause again."""


class PortTaken(OSError):
    """The HTTP port cannot be bound; the message names it and the setting."""


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (0: a free port), or :class:`PortTaken`."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise PortTaken(f"MCP_HTTP_HOST={host!r} cannot be resolved ({exc.strerror})") from None
    family, type_, proto, _, addr = infos[0]
    sock = socket.socket(family, type_, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(addr)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise PortTaken(
                f"HTTP port {port} on {host} is already in use (MCP_HTTP_PORT; another "
                "service running?)"
            ) from None
        raise PortTaken(
            f"cannot listen on {host}:{port} for HTTP ({exc.strerror or exc}; MCP_HTTP_HOST, "
            "MCP_HTTP_PORT)"
        ) from None
    return sock


class HttpServer:
    """Serves ``app`` on ``sock`` until cancelled, restarting it after a crash."""

    def __init__(self, sock: socket.socket, app: Any, ctx: HttpContext,
                 address_file: Path | None = None) -> None:
        self.sock = sock
        self.app = app
        self.ctx = ctx
        self.address_file = address_file
        self.restarts = 0
        self.serving = False
        """True once the first server is up."""
        self._crash = trio.Event()
        self._metrics = http_metrics(ctx.registry)
        # test-only hook, inert unless a test arms FAULTS("http")
        app.add_middleware(_FaultTrigger, server=self)

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.sock.getsockname()[:2]
        return host, port

    @property
    def url(self) -> str:
        host, port = self.address
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def _config(self) -> Config:
        config = Config()
        config.bind = [f"fd://{self.sock.dup().detach()}"]
        config.accesslog = None
        config.errorlog = None  # failures are logged by the app and by this module (loguru)
        config.graceful_timeout = 2.0
        config.keep_alive_timeout = 30.0
        config.include_server_header = False
        return config

    def _write_address(self) -> None:
        if self.address_file is None:
            return
        tmp = self.address_file.with_name(self.address_file.name + ".tmp")
        tmp.write_text(self.url.removeprefix("http://") + "\n")  # host:port, [v6]:port
        os.replace(tmp, self.address_file)

    def _remove_address(self) -> None:
        if self.address_file is not None:
            self.address_file.unlink(missing_ok=True)

    async def _serve_once(self, task_status: Any) -> None:
        self._crash = trio.Event()
        async with trio.open_nursery() as nursery:
            await nursery.start(lambda task_status: serve(
                self.app, self._config(), task_status=task_status))
            self.serving = True
            task_status.started()
            await self._crash.wait()
            raise _InjectedCrash("HTTP server crash injected (test fault)")

    async def run(self, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Serve until cancelled; ``task_status.started()`` once the first server is up."""
        self._write_address()
        logger.info("HTTP server listening on {} (/healthz, /readyz, /metrics)", self.url)
        pause = RESTART_FIRST_S
        status = task_status
        try:
            while True:
                started = trio.current_time()
                try:
                    await self._serve_once(status)
                    return  # hypercorn returned by itself: only on shutdown
                except Exception as exc:  # noqa: BLE001 - restarted, the service goes on
                    if not self.serving:
                        raise  # it never served: a start-up failure, not a crash
                    if trio.current_time() - started >= STABLE_S:
                        pause = RESTART_FIRST_S
                    self.restarts += 1
                    self._metrics.server_restarts.inc()
                    logger.error("HTTP server crashed ({}: {}); serving again in {:g} s",
                                 type(exc).__name__, exc, pause)
                    status = trio.TASK_STATUS_IGNORED
                    await trio.sleep(pause)
                    pause = min(2 * pause, RESTART_MAX_S)
        finally:
            self._remove_address()


class _InjectedCrash(RuntimeError):
    pass


class _FaultTrigger:
    """Test-only ASGI middleware: while ``FAULTS.arm("http")`` is armed, a request makes the
    whole server crash (as a bug in it would), after answering 503."""

    def __init__(self, app: Any, server: HttpServer) -> None:
        self.app = app
        self.server = server

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            try:
                FAULTS.check("http", scope.get("path", ""))
            except Exception:  # noqa: BLE001 - the injected fault
                await send({"type": "http.response.start", "status": 503, "headers": []})
                await send({"type": "http.response.body", "body": b"fault injected"})
                self.server._crash.set()
                return
        await self.app(scope, receive, send)
