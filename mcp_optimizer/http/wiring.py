"""Connect the HTTP server to a running :class:`~mcp_optimizer.runtime.service.Service`: its
control handler, status, journal, metrics registry and the readiness checks."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mcp_optimizer.messages import CycleOutcome
from mcp_optimizer.messages.journal import CycleEnded

from .app import build_app
from .context import HttpContext, Readiness
from .server import ADDRESS_FILE, HttpServer

if TYPE_CHECKING:  # pragma: no cover
    from mcp_optimizer.runtime.service import Service
    from mcp_optimizer.runtime.settings import ServiceSettings


def readiness(service: Service) -> Readiness:
    journal = service.actuator.journal

    def last_cycle() -> str | None:
        done = service.last_cycle
        if done is None:
            rows = journal.cycles(limit=1)
            if not rows:
                return None  # no cycle yet: nothing has failed
            last = rows[0]
            end = last.end
            if isinstance(end, CycleEnded) and end.outcome is CycleOutcome.FAILED:
                return f"the last cycle ({last.cycle_id}) failed: {last.detail}"
            return None
        if done.outcome is CycleOutcome.FAILED:
            return f"the last cycle ({done.cycle_id}) failed: {done.detail}"
        return None

    def journal_writable() -> str | None:
        if journal.write_failure:  # the last real write failed (disk full, read-only file)
            return journal.write_failure
        with journal._tx():  # BEGIN IMMEDIATE + COMMIT: takes the write lock, writes nothing
            pass
        return None

    def lnd_reachable() -> str | None:
        client: Any = service.client
        if client is None:
            return "no node client"
        client.get_info()
        return None

    return Readiness(last_cycle=last_cycle, journal_writable=journal_writable,
                     lnd_reachable=lnd_reachable)


def http_context(service: Service, settings: ServiceSettings,
                 environ: Mapping[str, str] | None = None) -> HttpContext:
    from mcp_optimizer.mcp.http import SETTINGS_EXTRA
    from mcp_optimizer.mcp.settings import load_mcp_settings

    journal = service.actuator.journal
    mcp = load_mcp_settings(os.environ if environ is None else environ)
    return HttpContext(
        control_handler=service.handle,
        status_fn=service.status,
        journal_path=journal.path,
        registry=service.metrics_registry,
        settings=settings,
        readiness=readiness(service),
        journal_clock=journal.now_s,
        # the web page (mcp_optimizer/web): the policy desk, the cycle runner (latest
        # snapshots), the node client (forwarding history); the MCP server's settings
        extras={k: v for k, v in (("policy", getattr(service, "policy_desk", None)),
                                  ("runner", service.runner), ("node", service.client),
                                  (SETTINGS_EXTRA, mcp))
                if v is not None},
    )


def attach_http(service: Service, settings: ServiceSettings, sock: socket.socket,
                environ: Mapping[str, str] | None = None) -> HttpServer:
    """Give ``service`` its HTTP server on the bound ``sock`` (``Service.main`` runs it);
    ``environ`` holds the MCP server's settings (``MCP_MCP_*``, default ``os.environ``)."""
    ctx = http_context(service, settings, environ)
    server = HttpServer(sock, build_app(ctx), ctx, settings.data_dir / ADDRESS_FILE)
    service.http = server
    return server
