"""The Umbrel home-screen widget (``four-stats``): mode, routing revenue over 24 h, fee changes
over 24 h, last cycle.

umbreld fetches ``GET /umbrel/widgets/overview`` directly from the ``web`` container (the
manifest's ``endpoint: web:8731/umbrel/widgets/overview``) and shows the JSON it gets:
``{"type": "four-stats", "refresh": "30s", "link": "", "items": [{"title", "text",
"subtext"} x 4]}``. It only reads: the service's status, the journal, and the node's
forwarding history over the last 24 h (kept for a minute, so a refresh every 30 s asks LND at
most once a minute). A part that cannot answer shows "n/a" instead of failing the widget.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import trio
from loguru import logger
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mcp_optimizer.messages import ChangeState, Mode
from mcp_optimizer.messages.control import CycleDone, SafeModeOn, StatusReply

PATH = "/umbrel/widgets/overview"
"""The manifest's widget endpoint path (umbrel/<app id>/umbrel-app.yml)."""
REFRESH = "30s"
"""How often Umbrel asks (echoed in the body, as umbreld expects)."""
DAY_S = 86_400
REVENUE_CACHE_S = 60.0
WRITTEN = (ChangeState.APPLIED, ChangeState.VERIFIED, ChangeState.MISMATCHED)
"""Changes that reached the node (live mode)."""
WOULD_BE = (ChangeState.SHADOWED, ChangeState.NOT_EXECUTED)
"""What shadow and dry-run record instead of writing."""
UNKNOWN = "n/a"


def _ago(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 2 * DAY_S:
        return f"{seconds // 3600} h ago"
    return f"{seconds // DAY_S} d ago"


def _item(title: str, text: str, subtext: str) -> dict[str, str]:
    return {"title": title, "text": text, "subtext": subtext}


def widget_body(
    status: StatusReply | None,
    now_s: float,
    revenue_msat: int | None,
    changes_24h: int | None,
) -> dict[str, Any]:
    """The widget's JSON from what the service knows (pure; None: that part is unknown)."""
    if status is None:
        mode = _item("Mode", UNKNOWN, "not answering")
        last = _item("Last cycle", UNKNOWN, "")
        live = False
    else:
        live = status.mode is Mode.LIVE
        if status.pause.paused:
            mode = _item("Mode", "paused", status.mode.value)
        elif isinstance(status.safe_mode, SafeModeOn):
            mode = _item("Mode", "safe mode", status.mode.value)
        else:
            mode = _item("Mode", status.mode.value, "writes fees" if live else "writes nothing")
        cycle = status.last_cycle
        if isinstance(cycle, CycleDone):
            last = _item("Last cycle", cycle.outcome.value, _ago(now_s - cycle.finished_at_s))
        else:
            last = _item("Last cycle", "none yet", "starting")
    revenue = _item(
        "Revenue 24 h",
        UNKNOWN if revenue_msat is None else f"{revenue_msat // 1000:,}",
        "sats" if revenue_msat is not None else "node not answering",
    )
    changes = _item(
        "Changes 24 h",
        UNKNOWN if changes_24h is None else f"{changes_24h:,}",
        "fees set" if live else "would-be",
    )
    return {"type": "four-stats", "refresh": REFRESH, "link": "",
            "items": [mode, revenue, changes, last]}


class _RevenueCache:
    """Fees earned over the last 24 h, from the node's forwarding history, for a minute."""

    def __init__(self, node: Any, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.node = node
        self.monotonic = monotonic
        self.value: tuple[float, int] | None = None

    def get(self) -> int | None:
        if self.node is None:
            return None
        now = self.monotonic()
        if self.value is not None and now - self.value[0] < REVENUE_CACHE_S:
            return self.value[1]
        end = int(self.node.now_s()) + 1
        total = 0
        for page in self.node.forwarding_event_pages(end - DAY_S, end):
            total += sum(e.fee_msat for e in page)
        self.value = (now, total)
        return total


def routes(ctx: Any) -> list[Route]:
    """The widget's route (``mcp_optimizer.http.app`` adds it to the service's app)."""
    revenue = _RevenueCache(ctx.extras.get("node"))
    clock = ctx.journal_clock or time.time

    async def overview(request: Request) -> JSONResponse:
        try:
            status: StatusReply | None = await ctx.status()
        except Exception as exc:  # noqa: BLE001 - the widget shows what it can
            logger.warning("Umbrel widget: no status: {}", exc)
            status = None
        counted = WRITTEN if status is not None and status.mode is Mode.LIVE else WOULD_BE
        now_s = clock()
        try:
            changes = await ctx.read(
                lambda j: j.count_service_changes(int(now_s) - DAY_S, counted))
        except Exception as exc:  # noqa: BLE001
            logger.warning("Umbrel widget: no journal count: {}", exc)
            changes = None
        try:
            earned = await trio.to_thread.run_sync(revenue.get, abandon_on_cancel=True)
        except Exception as exc:  # noqa: BLE001
            logger.warning("Umbrel widget: no forwarding history: {}", exc)
            earned = None
        return JSONResponse(widget_body(status, now_s, earned, changes),
                            headers={"Cache-Control": "no-store"})

    return [Route(PATH, overview, methods=["GET"])]
