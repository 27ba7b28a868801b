"""``mcp-optimizer run``'s start: the control socket first, then the service built behind it.

Building the service (the node connection, the embedded simulator, the journal and its
integrity check, reconciliation, the actors) takes seconds on a large node. The control
socket is bound as soon as the settings are checked, before any of it and before the heavy
modules are imported: meanwhile ``status`` answers :class:`StartingReply` with the stage the
build is in, and every other request a ``starting`` error (nothing is done: no pause, mode
or cycle can be asked of a service that does not exist yet, and nothing is written). Once
built, the same socket hands its requests to the service. SIGTERM or SIGINT during the build
abandon it at the next stage (what was built is torn down); after it, they stop the service
as before. Only this module's imports are paid before the socket opens (``runtime/run.py``
is imported by the build).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Mapping
from contextlib import ExitStack
from typing import Any

import trio
from loguru import logger

from mcp_optimizer.logs import LogSettings, configure_service_logging, register_env_secrets
from mcp_optimizer.messages.control import (
    ControlError,
    ControlReply,
    ControlRequest,
    StartingReply,
    StatusRequest,
)

from .control_server import ControlServer, prepare_path
from .settings import ServiceSettings, check_start

SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StartAbandoned(Exception):
    """A stop signal arrived while the service was being built."""


class Startup:
    """What the control socket answers until the service is built, then the service itself.

    ``progress`` is called by the build (a worker thread) at each stage; ``handle`` by the
    control server (the trio thread)."""

    def __init__(self, started_at_s: int) -> None:
        self.started_at_s = started_at_s
        self.stage = "loading the service"
        self.service: Any = None
        self._stop = threading.Event()

    def progress(self, stage: str) -> None:
        if self._stop.is_set():
            raise StartAbandoned(f"stopped while {self.stage}")
        self.stage = stage
        logger.info("starting: {}", stage)

    def stop(self) -> None:
        """A stop signal: abandon the build at its next stage, or stop the built service."""
        self._stop.set()
        if self.service is not None:
            self.service.stop()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    async def handle(self, request: ControlRequest) -> ControlReply:
        service = self.service
        if service is not None:
            return await service.handle(request)
        if isinstance(request, StatusRequest):
            return StartingReply(stage=self.stage, started_at_s=self.started_at_s)
        return ControlError(
            code="starting",
            message=f"the service is still starting ({self.stage}): nothing was done; "
            "ask again once `status` shows it running",
        )


def run_service(settings: ServiceSettings, environ: Mapping[str, str] | None = None) -> int:
    """Run until SIGTERM/SIGINT. Errors that stop the start carry one sentence.

    Every setting is checked, and a service already running on the socket refused, before
    anything starts or is written: a refused start leaves no trace (not a line in the running
    service's log)."""
    from mcp_optimizer.mcp.settings import load_mcp_settings
    from mcp_optimizer.notify.settings import load_notify_settings
    from mcp_optimizer.web.security import check_exposure

    from .memory import limit_arenas

    limit_arenas()  # before any thread: they share malloc arenas (runtime/memory.py)
    env = os.environ if environ is None else environ
    started_at_s = int(time.time())
    check_start(settings, environ)
    load_notify_settings(env)  # a bad URL: refused
    load_mcp_settings(env)  # /mcp's token and switch
    prepare_path(settings.socket_path)  # another service listening there: refused here
    # bound here: a port already taken stops the start with one line, before anything runs
    http_sock = None
    if settings.http_port is not None:  # the page: loopback, a token, or a declared proxy
        from mcp_optimizer.http.server import bind

        check_exposure(settings.http_host, env)
        http_sock = bind(settings.http_host, settings.http_port)
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    register_env_secrets(env)  # never in a log line
    configure_service_logging(settings.data_dir, settings.log or LogSettings(level="INFO"))
    startup = Startup(started_at_s)
    with ExitStack() as built:  # torn down here, in the main thread, after the trio run
        if http_sock is not None:
            built.callback(http_sock.close)
        failure = trio.run(_main, settings, environ, http_sock, startup, built)
        if failure is not None:
            raise failure
    logger.info("service stopped")
    logger.complete()
    return 0


async def _main(
    settings: ServiceSettings,
    environ: Mapping[str, str] | None,
    http_sock: Any,
    startup: Startup,
    built: ExitStack,
) -> BaseException | None:
    """The trio side of ``run``: the control socket, the build, then the service. Returns
    the build's error (raised by the caller, outside the trio run), None otherwise."""
    failure: BaseException | None = None

    def build() -> Any:
        from mcp_optimizer.http.wiring import attach_http

        from .run import open_service

        service = built.enter_context(open_service(
            settings, environ, progress=startup.progress, socket_served=True))
        startup.progress("starting the web page" if http_sock is not None else "ready")
        if http_sock is not None:
            attach_http(service, settings, http_sock, environ)
        return service

    with trio.open_signal_receiver(*SIGNALS) as receiver:
        async with trio.open_nursery() as nursery:
            server = ControlServer(settings.socket_path, startup.handle)
            await nursery.start(server.serve)
            nursery.start_soon(_stop_on_signal, receiver, startup, nursery.cancel_scope)
            try:
                service = await trio.to_thread.run_sync(build)
            except StartAbandoned as exc:
                logger.warning("service not started: {}", exc)
                service = None
            except Exception as exc:  # noqa: BLE001 - raised again outside the trio run
                failure = exc
                service = None
            if service is not None and not startup.stopping:
                logger.info(
                    "service started: mode {}, control socket {}, data dir {}",
                    service.actuator.mode().value, settings.socket_path, settings.data_dir,
                )
                startup.service = service
                await service.main(serve_control=False)
            nursery.cancel_scope.cancel()
    logger.info("service stopping")
    return failure


async def _stop_on_signal(
    receiver: Any, startup: Startup, scope: trio.CancelScope
) -> None:
    async for signum in receiver:
        logger.warning("signal {} received: stopping", signum)
        startup.stop()
        scope.cancel()
        return
