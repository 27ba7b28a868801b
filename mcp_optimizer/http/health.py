"""``/healthz`` (the process is up and its control loop answers) and ``/readyz`` (it can do its
work: the last cycle did not fail, the journal is writable, LND answers), as JSON.

Both answer 200 when fine and 503 otherwise, with a body naming each check:
``{"status": "ok"|"failing", "checks": {"<name>": {"ok": bool, "detail": str}}}``.
Docker's HEALTHCHECK and Umbrel use ``/healthz``; a load balancer or an operator ``/readyz``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import trio
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from .context import HttpContext

CONTROL_TIMEOUT_S = 5.0
"""Longest wait for the control loop's answer before /healthz says it is stuck."""
CHECK_TIMEOUT_S = 10.0
"""Longest wait for one /readyz check (LND's answer included)."""
READY_CACHE_S = 2.0
"""A /readyz result is reused this long: probes in a loop do not hammer LND or the journal."""


def _body(checks: dict[str, tuple[bool, str]]) -> JSONResponse:
    ok = all(good for good, _ in checks.values())
    return JSONResponse(
        {
            "status": "ok" if ok else "failing",
            "checks": {k: {"ok": good, "detail": d} for k, (good, d) in checks.items()},
        },
        status_code=200 if ok else 503,
        headers={"Cache-Control": "no-store"},
    )


async def _run_check(fn: Callable[[], str | None]) -> tuple[bool, str]:
    with trio.move_on_after(CHECK_TIMEOUT_S) as scope:
        try:
            problem = await trio.to_thread.run_sync(fn, abandon_on_cancel=True)
        except Exception as exc:  # noqa: BLE001 - a failing check is a finding, not a crash
            problem = f"{type(exc).__name__}: {exc}"
    if scope.cancelled_caught:
        return False, f"no answer within {CHECK_TIMEOUT_S:g} s"
    return (problem is None), (problem or "ok")


def routes(ctx: HttpContext) -> list[Route]:
    cache: dict[str, tuple[float, JSONResponse]] = {}

    async def healthz(request: Request) -> JSONResponse:
        checks: dict[str, tuple[bool, str]] = {"process": (True, "up")}
        with trio.move_on_after(CONTROL_TIMEOUT_S) as scope:
            try:
                status = await ctx.status()
                checks["control_loop"] = (True, f"answering; mode {status.mode.value}")
            except Exception as exc:  # noqa: BLE001
                checks["control_loop"] = (False, f"status failed: {type(exc).__name__}: {exc}")
        if scope.cancelled_caught:
            checks["control_loop"] = (False, f"no answer within {CONTROL_TIMEOUT_S:g} s")
        return _body(checks)

    async def readyz(request: Request) -> JSONResponse:
        hit = cache.get("ready")
        now = time.monotonic()
        if hit is not None and now - hit[0] < READY_CACHE_S:
            return hit[1]
        checks: dict[str, tuple[bool, str]] = {}
        r = ctx.readiness
        for name, fn in (
            ("last_cycle", r.last_cycle),
            ("journal_writable", r.journal_writable),
            ("lnd_reachable", r.lnd_reachable),
        ):
            if fn is not None:
                checks[name] = await _run_check(fn)
        response = _body(checks)
        cache["ready"] = (time.monotonic(), response)
        return response

    return [
        Route("/healthz", healthz, methods=["GET", "HEAD"]),
        Route("/readyz", readyz, methods=["GET", "HEAD"]),
    ]
