"""The control room's routes, joined to the service's HTTP app by ``mcp_optimizer.http.app``:
the pages (``/``, ``/channels``, ``/channels/{scid}``, ``/journal``, ``/cycles``,
``/policy``), their static files, and the JSON API under ``/api/v1/`` (``OPS``, described by
``/api/v1/openapi.json``).

Every act goes through ``ctx.control`` (the control socket's handler, journaled ``by: web``)
or, for the policy, the service's ``PolicyDesk``; each answers with the journaled record.
"""

from __future__ import annotations

import calendar
import json
import os
import re
import time
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any
from urllib.parse import parse_qs

import msgspec
import trio
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from mcp_optimizer.http.context import HttpContext
from mcp_optimizer.messages.control import (
    AckCrashReply,
    AckCrashRequest,
    CloseChannelRequest,
    CloseReply,
    ControlError,
    CycleFinished,
    CycleQueued,
    EvaluateNowRequest,
    PauseRequest,
    ResumeRequest,
    RollbackChange,
    RollbackLast,
    RollbackReply,
    RollbackRequest,
    RollbackSince,
    SetModeRequest,
    ShadowReportReply,
    ShadowReportRequest,
)
from mcp_optimizer.messages.journal import ChangeOrigin, ChangeState, Mode, ShadowReport
from mcp_optimizer.policies.desk import PolicyRefused
from mcp_optimizer.policies.overrides import parse_chan_key
from mcp_optimizer.scid import scid_text

from . import api, views
from . import models as m
from .balances import FILE_NAME as BALANCES_FILE
from .balances import BalanceLog
from .history import DAY_S, ForwardHistory
from .openapi import Op, Param, document
from .security import COOKIE, Guard, loopback_host_ok

MAX_BODY = 64 * 1024
PER_DAY_CACHE_S = 60.0
"""The overview's fee updates per day (a count over 30 days of the journal) is reused this long
(a 100,000-change journal takes tens of ms to count)."""
_enc = msgspec.json.Encoder()
STATIC = {"app.css": "text/css; charset=utf-8", "app.js": "text/javascript; charset=utf-8"}
HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' "
                               "'unsafe-inline'; script-src 'self'; frame-ancestors 'none'",
}


class HttpError(Exception):
    def __init__(self, status: int, message: str, field: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.field = field


def _json(obj: Any, status: int = 200) -> Response:
    return Response(_enc.encode(obj), status_code=status, media_type="application/json",
                    headers=HEADERS)


def _error(status: int, message: str, field: str = "") -> Response:
    return _json(m.ApiError(error=message.splitlines()[0][:2000] if message else "error",
                            field=field), status)


def _int(request: Request, name: str, default: int, lo: int, hi: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not re.fullmatch(r"-?\d{1,19}", raw.strip()):
        raise HttpError(400, f"query parameter {name}={raw[:40]!r}: expected an integer")
    v = int(raw)
    if not lo <= v <= hi:
        raise HttpError(400, f"query parameter {name}={v}: expected {lo} to {hi}")
    return v


def parse_since(text: str, now_s: int, name: str = "since") -> int:
    """``6h``, ``2d``, ``30m``, ``YYYY-MM-DD[ HH:MM]`` (UTC) or Unix seconds -> Unix seconds."""
    t = text.strip()
    if re.fullmatch(SINCE_PATTERN, t):
        m_ = re.fullmatch(r"(\d{1,7})([mhd])", t)
        if m_:
            return now_s - int(m_.group(1)) * {"m": 60, "h": 3600, "d": DAY_S}[m_.group(2)]
        if re.fullmatch(r"\d{1,12}", t):
            return int(t)
        parts = [int(x) for x in re.split(r"[-T: ]", t)]
        y, mo, d, hh, mm = (parts + [0, 0])[:5]
        return calendar.timegm((y, mo, d, hh, mm, 0, 0, 0, 0))  # 02-31 rolls into March
    raise HttpError(400, f"{name}={text[:40]!r}: expected 6h, 2d, YYYY-MM-DD[ HH:MM] (UTC) or "
                         "Unix seconds")


CHAN_PATTERN = r"^([0-9]{1,20}|[0-9]{1,8}x[0-9]{1,8}x[0-9]{1,5})$"
SINCE_PATTERN = (r"^([0-9]{1,7}[mhd]|[0-9]{1,12}|[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
                 r"([ T]([01][0-9]|2[0-3]):[0-5][0-9])?)$")


def _chan(text: str, name: str = "channel") -> int | None:
    """A channel id; None for one of the right form that names no channel."""
    if not re.fullmatch(CHAN_PATTERN, text.strip()):
        raise HttpError(400, f"{name}={text[:40]!r} is not a channel id: give BLOCKxTXxOUTPUT "
                             "or LND's integer chan_id")
    return parse_chan_key(text)


class Web:
    def __init__(self, ctx: HttpContext, env: dict[str, str] | None = None) -> None:
        self.ctx = ctx
        self.guard = Guard(os.environ if env is None else env)
        self.desk = ctx.extras.get("policy")
        self.runner = ctx.extras.get("runner")
        node = ctx.extras.get("node")
        self.forwards = ForwardHistory(
            getattr(node, "forwarding_event_pages", None),
            lambda: self.ctx.journal().now_s(),
        )
        data_dir = ctx.settings.data_dir if ctx.settings is not None else None
        self.balances = BalanceLog(data_dir / BALANCES_FILE if data_dir is not None else None)
        self._per_day: tuple[float, dict[int, int]] | None = None
        if self.runner is not None:
            self.balances.add(self.runner.last_snapshots)
            self.runner.snapshot_listeners.append(self.balances.add)

    # ----------------------------------------------------------------------------- helpers
    def snapshots(self) -> list[Any]:
        return list(self.runner.last_snapshots) if self.runner is not None else []

    def overrides(self) -> dict:
        return dict(self.desk.current().channels) if self.desk is not None else {}

    async def _overview(self) -> m.Overview:
        status = await self.ctx.status()
        summary = await trio.to_thread.run_sync(self.forwards.get)
        count = len(self.snapshots())
        hit = self._per_day
        if hit is None or time.monotonic() - hit[0] > PER_DAY_CACHE_S:
            per_day = await self.ctx.read(api.updates_per_day)
            self._per_day = hit = (time.monotonic(), per_day)
        return await self.ctx.read(lambda j: api.overview(j, status, summary, count, hit[1]))

    def _need_desk(self) -> Any:
        if self.desk is None:
            raise HttpError(503, "policy editing needs the running service's policy desk")
        return self.desk

    async def _body(self, request: Request, typ: type) -> Any:
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "application/json":
            raise HttpError(415, "expected a JSON body (Content-Type: application/json); "
                                 "nothing was changed")
        raw = b""
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > MAX_BODY:
                raise HttpError(413, f"body larger than {MAX_BODY} bytes; nothing was changed")
        try:
            data = msgspec.json.decode(raw or b"{}")
        except msgspec.DecodeError:
            raise HttpError(400, "the body is not valid JSON; nothing was changed") from None
        try:
            return msgspec.convert(_integral(data), typ)
        except msgspec.ValidationError as exc:
            raise HttpError(400, f"bad request body: {exc}; nothing was changed") from None

    def wrap(self, fn: Callable[[Request], Awaitable[Response]], kind: str) -> Callable:
        """``kind``: page (HTML), api (JSON read), act (JSON POST, CSRF-checked) or secret
        (a JSON read of a secret: CSRF-checked as a POST, and bound to loopback only for a
        loopback ``Host``; see ``security.py``)."""
        guard = self.guard
        bound = self.ctx.settings.http_host if self.ctx.settings is not None else "127.0.0.1"

        async def handler(request: Request) -> Response:
            if not guard.authorized(request.headers, request.cookies):
                if kind == "page":
                    return HTMLResponse(views.signin(), status_code=401, headers=HEADERS)
                return _error(401, "an access token is required: Authorization: Bearer "
                                   "<MCP_WEB_TOKEN>")
            if kind in ("act", "secret"):
                why = guard.csrf_ok(request.headers)
                if why is not None:
                    return _error(403, why)
            if kind == "secret":
                why = loopback_host_ok(bound, request.headers.get("host", ""))
                if why is not None:
                    return _error(403, why)
            try:
                return await fn(request)
            except HttpError as exc:
                if kind == "page":
                    return HTMLResponse(
                        views.page("Error", f'<h1>{exc.status}</h1><p class="err">'
                                   f"{views.e(str(exc))}</p>", active="", csrf=guard.csrf),
                        status_code=exc.status, headers=HEADERS)
                return _error(exc.status, str(exc), exc.field)

        return handler

    def _page(self, title: str, body: str, active: str, o: m.Overview | None) -> Response:
        return HTMLResponse(views.page(title, body, active=active, csrf=self.guard.csrf,
                                       status=o), headers=HEADERS)

    # ------------------------------------------------------------------------------- reads
    async def api_overview(self, request: Request) -> Response:
        return _json(await self._overview())

    async def _channel_list(self, request: Request) -> m.ChannelList:
        sort = request.query_params.get("sort", "scid") or "scid"
        if sort not in api.SORTS:
            raise HttpError(400, f"sort={sort[:40]!r}: expected one of {', '.join(api.SORTS)}")
        kind = request.query_params.get("kind", "")
        if kind and kind not in ("NO_ACTION", "INCREASE_FEES", "LOWER_FEES", "CLOSE_CHANNEL"):
            raise HttpError(400, f"kind={kind[:40]!r}: expected a decision kind")
        q = request.query_params.get("q", "")[:200]
        desc = request.query_params.get("desc", "") in ("1", "true")
        limit = _int(request, "limit", api.MAX_CHANNELS, 1, api.MAX_CHANNELS)
        offset = _int(request, "offset", 0, 0, 10_000_000)
        snaps = self.snapshots()
        ovs = self.overrides()
        return await self.ctx.read(lambda j: api.channels(
            snaps, api.latest_decisions(j), ovs, q=q, kind=kind, sort=sort, desc=desc,
            limit=limit, offset=offset))

    async def api_channels(self, request: Request) -> Response:
        return _json(await self._channel_list(request))

    async def _channel(self, request: Request) -> m.ChannelDetail:
        cid = _chan(request.path_params["chan"])
        snap = next((s for s in self.snapshots() if s.channel.chan_id == cid), None)
        if snap is None:
            raise HttpError(404, f"channel {request.path_params['chan'][:40]} is not among the "
                                 "latest cycle's channels")
        summary = await trio.to_thread.run_sync(self.forwards.get)
        ovs = self.overrides()
        return await self.ctx.read(
            lambda j: api.channel_detail(j, snap, ovs, summary, self.balances))

    async def api_channel(self, request: Request) -> Response:
        return _json(await self._channel(request))

    async def _changes(self, request: Request) -> tuple[m.ChangePage, dict[str, str]]:
        qp = request.query_params
        f = {k: qp.get(k, "")[:100] for k in ("channel", "origin", "state", "since", "until")
             if qp.get(k)}
        chan = _chan(f["channel"]) if "channel" in f else None
        origin = f.get("origin", "")
        if origin and origin not in {o.value for o in ChangeOrigin}:
            raise HttpError(400, f"origin={origin!r}: expected one of "
                                 + ", ".join(o.value for o in ChangeOrigin))
        state = f.get("state", "")
        if state and state not in {s.value for s in ChangeState}:
            raise HttpError(400, f"state={state!r}: expected one of "
                                 + ", ".join(s.value for s in ChangeState))
        limit = _int(request, "limit", 50, 1, api.MAX_PAGE)
        offset = _int(request, "offset", 0, 0, 10_000_000)
        now = await self.ctx.read(lambda j: j.now_s())
        since = parse_since(f["since"], now) if "since" in f else 0
        until = parse_since(f["until"], now, "until") if "until" in f else None
        if "channel" in f and chan is None:  # names no channel: nothing matches
            return m.ChangePage(total=0, offset=offset, limit=limit, changes=[]), f
        total, page = await self.ctx.read(lambda j: j.changes_page(
            chan_id=chan, origins=[origin] if origin else None,
            states=[state] if state else None, since_s=since, until_s=until, limit=limit,
            offset=offset))
        return m.ChangePage(total=total, offset=offset, limit=limit, changes=page), f

    async def api_changes(self, request: Request) -> Response:
        return _json((await self._changes(request))[0])

    async def _cycles(self, request: Request) -> m.CyclePage:
        limit = _int(request, "limit", 100, 1, api.MAX_PAGE)
        cycles = await self.ctx.read(lambda j: j.cycles(limit=limit))
        ids = {c.cycle_id for c in cycles}
        log = list(getattr(self.runner, "stage_log", []))
        stages = [m.CycleStages(cycle_id=cid, stages=[m.StageTime(stage=k, seconds=round(v, 4))
                                                      for k, v in st.items()])
                  for cid, st in log if cid in ids]
        return m.CyclePage(cycles=cycles, stages=stages)

    async def api_cycles(self, request: Request) -> Response:
        return _json(await self._cycles(request))

    async def _policy(self) -> m.PolicyView:
        desk = self._need_desk()
        return await self.ctx.read(lambda j: api.policy_view(j, desk.effective()))

    async def api_policy(self, request: Request) -> Response:
        return _json(await self._policy())

    async def api_next(self, request: Request) -> Response:
        desk = self._need_desk()
        decisions = await trio.to_thread.run_sync(desk.what_next)
        return _json(api.next_cycle(self.snapshots(), decisions))

    async def _shadow(self, request: Request) -> Any:
        days = _int(request, "days", 7, 1, 365)
        reply = await self.ctx.control(ShadowReportRequest(period_s=days * DAY_S), by="web")
        self._refused(reply)
        assert isinstance(reply, ShadowReportReply)
        return reply.report

    async def api_shadow(self, request: Request) -> Response:
        return _json(await self._shadow(request))

    async def page_shadow(self, request: Request) -> Response:
        report = await self._shadow(request)
        o = await self._overview()
        return self._page("Shadow report", views.shadow(report, _int(request, "days", 7, 1, 365)),
                          "/shadow", o)

    async def api_csrf(self, request: Request) -> Response:
        return _json(m.CsrfToken(token=self.guard.csrf))

    # ------------------------------------------------------------- connect an assistant
    def _mcp(self) -> Any:
        """The MCP server's settings, or None when this app has no ``/mcp`` (a context
        without settings: no data directory, no token)."""
        if self.ctx.settings is None:
            return None
        from mcp_optimizer.mcp.http import SETTINGS_EXTRA
        from mcp_optimizer.mcp.settings import load_mcp_settings

        return self.ctx.extras.get(SETTINGS_EXTRA) or load_mcp_settings(os.environ)

    def _mcp_view(self, request: Request) -> views.McpInfo | None:
        mcp = self._mcp()
        if mcp is None:
            return None
        from mcp_optimizer.mcp.settings import TOKEN_VAR, token_path

        assert self.ctx.settings is not None
        source = TOKEN_VAR if mcp.token else str(token_path(self.ctx.settings.data_dir))
        url = str(request.url.replace(path="/mcp", query="", fragment=""))
        return views.McpInfo(url=url, actions=mcp.actions, token_source=source)

    async def api_mcp_connection(self, request: Request) -> Response:
        info = self._mcp_view(request)
        mcp = self._mcp()
        if info is None or mcp is None:
            raise HttpError(503, "this service has no MCP tool server (no data directory)")
        from mcp_optimizer.mcp.settings import read_token

        assert self.ctx.settings is not None
        data_dir = self.ctx.settings.data_dir
        token = mcp.token or await trio.to_thread.run_sync(read_token, data_dir)
        if not token:
            raise HttpError(503, f"the MCP server's token is not in {info.token_source} "
                                 "(it is made at the service's start)")
        return _json(m.McpConnection(url=info.url, token=token, token_source=info.token_source,
                                     actions=info.actions,
                                     config=mcp_config(info.url, f"Bearer {token}")))

    async def api_openapi(self, request: Request) -> Response:
        return JSONResponse(document(OPS), headers=HEADERS)

    # -------------------------------------------------------------------------------- acts
    def _refused(self, reply: Any) -> None:
        if isinstance(reply, ControlError):
            raise HttpError(409, reply.message)

    async def act_pause(self, request: Request) -> Response:
        body = await self._body(request, m.PauseBody)
        reply = await self.ctx.control(PauseRequest(reason=body.reason), by="web")
        self._refused(reply)
        record, state = await self.ctx.read(lambda j: (j.last_pause(), None))
        status = await self.ctx.status()
        return _json(m.PauseDone(detail=getattr(reply, "detail", ""), record=record,
                                 state=status.pause))

    async def act_resume(self, request: Request) -> Response:
        await self._body(request, m.EmptyBody)
        reply = await self.ctx.control(ResumeRequest(reason=""), by="web")
        self._refused(reply)
        record = await self.ctx.read(lambda j: j.last_pause())
        status = await self.ctx.status()
        return _json(m.PauseDone(detail=getattr(reply, "detail", ""), record=record,
                                 state=status.pause))

    async def act_mode(self, request: Request) -> Response:
        body = await self._body(request, m.ModeBody)
        if body.mode is Mode.LIVE and not body.confirm:
            raise HttpError(409, "going live writes fees to the node: send confirm: true "
                                 "(the page shows what the next cycle would do first); "
                                 "nothing was changed")
        reply = await self.ctx.control(SetModeRequest(mode=body.mode, reason=""), by="web")
        self._refused(reply)
        record = await self.ctx.read(lambda j: j.mode_changes()[-1])
        return _json(m.ModeDone(detail=getattr(reply, "detail", ""), record=record))

    async def act_evaluate(self, request: Request) -> Response:
        await self._body(request, m.EmptyBody)
        reply = await self.ctx.control(EvaluateNowRequest(wait=False), by="web")
        self._refused(reply)
        assert isinstance(reply, CycleQueued | CycleFinished)
        return _json(m.EvaluateDone(detail=getattr(reply, "detail", "cycle finished"),
                                    reply=reply))

    async def act_rollback(self, request: Request) -> Response:
        body = await self._body(request, m.RollbackBody)
        target: Any
        if isinstance(body, m.RollbackOne):
            target = RollbackChange(change_id=body.change_id)
        elif isinstance(body, m.RollbackLastOne):
            target = RollbackLast()
        else:
            target = RollbackSince(since_at_s=body.since_s)
        reply = await self.ctx.control(RollbackRequest(target=target), by="web")
        self._refused(reply)
        assert isinstance(reply, RollbackReply)
        return _json(m.RollbackDone(changes=reply.changes, refused=reply.refused,
                                    skipped=list(getattr(reply, "skipped", []))))

    async def act_close(self, request: Request) -> Response:
        body = await self._body(request, m.CloseBody)
        if body.confirm_scid.strip() != scid_text(body.chan_id):
            raise HttpError(409, f"closing cannot be undone: type the channel's id "
                                 f"{scid_text(body.chan_id)} to confirm; nothing was done")
        reply = await self.ctx.control(
            CloseChannelRequest(chan_id=body.chan_id, reason=body.reason), by="web"
        )
        self._refused(reply)
        assert isinstance(reply, CloseReply)
        return _json(m.CloseDone(change=reply.change))

    async def act_ack(self, request: Request) -> Response:
        await self._body(request, m.EmptyBody)
        reply = await self.ctx.control(AckCrashRequest(), by="web")
        self._refused(reply)
        assert isinstance(reply, AckCrashReply)
        return _json(m.AckDone(acknowledged=reply.acknowledged,
                               safe_mode_cleared=reply.safe_mode_cleared, revived=reply.revived))

    async def act_preview(self, request: Request) -> Response:
        desk = self._need_desk()
        body = await self._body(request, m.PolicyEdit)
        snaps = self.snapshots()
        try:
            pairs = await trio.to_thread.run_sync(
                lambda: desk.preview(dict(body.set), list(body.unset)))
        except PolicyRefused as exc:
            raise HttpError(400, str(exc), exc.key) from None
        return _json(api.preview(snaps, pairs))

    async def act_policy(self, request: Request) -> Response:
        desk = self._need_desk()
        body = await self._body(request, m.PolicyEdit)
        try:
            record = await trio.to_thread.run_sync(
                lambda: desk.save(dict(body.set), list(body.unset), "web", body.reason))
        except PolicyRefused as exc:
            raise HttpError(400, str(exc), exc.key) from None
        return _json(m.PolicySaved(record=record))

    async def act_undo(self, request: Request) -> Response:
        desk = self._need_desk()
        body = await self._body(request, m.UndoBody)
        try:
            record = await trio.to_thread.run_sync(
                lambda: desk.undo(body.policy_change_id, "web", body.reason))
        except PolicyRefused as exc:
            raise HttpError(409, str(exc)) from None
        return _json(m.PolicySaved(record=record))

    # ------------------------------------------------------------------------------- pages
    async def page_overview(self, request: Request) -> Response:
        o = await self._overview()
        summary = await trio.to_thread.run_sync(self.forwards.get)
        days: dict[int, list[int]] = {}
        for per in summary.per_channel_day.values():
            for d, v in per.items():
                acc = days.setdefault(d, [0, 0])
                acc[0] += v[0]
                acc[1] += v[1]
        series = sorted((d, v[0], v[1]) for d, v in days.items())
        body = views.overview(o, series) + views.connect(self._mcp_view(request))
        return self._page("Overview", body, "/", o)

    async def page_channels(self, request: Request) -> Response:
        lst = await self._channel_list(request)
        qp = request.query_params
        o = await self._overview()
        return self._page("Channels", views.channels(
            lst, qp.get("q", ""), qp.get("kind", ""), qp.get("sort", "scid") or "scid",
            qp.get("desc", "") in ("1", "true")), "/channels", o)

    async def page_channel(self, request: Request) -> Response:
        d = await self._channel(request)
        o = await self._overview()
        return self._page(f"Channel {d.channel.scid}", views.channel(d, o.now_s), "/channels", o)

    async def page_journal(self, request: Request) -> Response:
        pg, f = await self._changes(request)
        o = await self._overview()
        return self._page("Journal", views.journal(pg, f), "/journal", o)

    async def page_cycles(self, request: Request) -> Response:
        pg = await self._cycles(request)
        o = await self._overview()
        return self._page("Cycles", views.cycles(pg), "/cycles", o)

    async def page_policy(self, request: Request) -> Response:
        v = await self._policy()
        o = await self._overview()
        return self._page("Policy", views.policy(v), "/policy", o)

    async def static(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name not in STATIC:
            return Response("not found", status_code=404, media_type="text/plain")
        body = resources.files("mcp_optimizer.web").joinpath("static", name).read_bytes()
        return Response(body, media_type=STATIC[name],
                        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})

    async def signin(self, request: Request) -> Response:
        raw = (await request.body())[:4096].decode("utf-8", "replace")
        token = (parse_qs(raw).get("token") or [""])[0]
        if not self.guard.token or not _same(token, self.guard.token):
            return HTMLResponse(views.signin("wrong token" if self.guard.token else
                                             "no token is needed here"),
                                status_code=401 if self.guard.token else 200, headers=HEADERS)
        resp = RedirectResponse("/", status_code=303)
        resp.set_cookie(COOKIE, token, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")
        return resp


def mcp_config(url: str, authorization: str) -> str:
    """An ``mcpServers`` entry for an assistant's configuration (streamable HTTP)."""
    return json.dumps({"mcpServers": {"lightning-fees": {
        "type": "http", "url": url, "headers": {"Authorization": authorization}}}}, indent=2)


def _integral(data: Any) -> Any:
    """JSON numbers written as ``855.0`` are integers in JSON Schema: read them as such."""
    if isinstance(data, float) and data.is_integer() and abs(data) < 2**63:
        return int(data)
    if isinstance(data, dict):
        return {k: _integral(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_integral(v) for v in data]
    return data


def _same(a: str, b: str) -> bool:
    import hmac

    return hmac.compare_digest(a.encode(), b.encode())


_LIMIT = Param("limit", {"type": "integer", "minimum": 1, "maximum": api.MAX_PAGE},
               "Rows at most")
_OFFSET = Param("offset", {"type": "integer", "minimum": 0, "maximum": 10_000_000},
                "Rows to skip")
_STR = {"type": "string", "maxLength": 100}
_CHAN = {"type": "string", "pattern": CHAN_PATTERN}
_SINCE = {"type": "string", "pattern": SINCE_PATTERN}

OPS: list[Op] = [
    Op("get", "/api/v1/overview", "Mode, pause, safety, cycles, actors, revenue",
       m.Overview),
    Op("get", "/api/v1/channels", "One row per channel with its latest decision", m.ChannelList,
       params=(Param("q", _STR, "Filter: channel id, alias or pubkey"),
               Param("kind", {"type": "string", "enum": ["NO_ACTION", "INCREASE_FEES",
                                                         "LOWER_FEES", "CLOSE_CHANNEL"]},
                     "Only channels whose latest decision is of this kind"),
               Param("sort", {"type": "string", "enum": list(api.SORTS)}, "Sort key"),
               Param("desc", {"type": "string", "enum": ["", "0", "1", "true", "false"]},
                     "Descending"),
               Param("limit", {"type": "integer", "minimum": 1, "maximum": api.MAX_CHANNELS},
                     "Rows at most"), _OFFSET)),
    Op("get", "/api/v1/channels/{chan}", "One channel: changes, decisions, history",
       m.ChannelDetail, params=(Param("chan", _CHAN,
                                      "BLOCKxTXxOUTPUT or integer chan_id", where="path"),),
       errors=("400", "401", "404")),
    Op("get", "/api/v1/changes", "Journaled changes, newest first, filtered", m.ChangePage,
       params=(Param("channel", _CHAN, "Channel id"),
               Param("origin", {"type": "string", "enum": [o.value for o in ChangeOrigin]},
                     "Origin"),
               Param("state", {"type": "string", "enum": [s.value for s in ChangeState]},
                     "State"),
               Param("since", _SINCE, "6h, 2d, YYYY-MM-DD[ HH:MM] or Unix seconds"),
               Param("until", _SINCE, "Same forms as since"), _LIMIT, _OFFSET)),
    Op("get", "/api/v1/cycles", "Cycles, newest first", m.CyclePage, params=(_LIMIT,)),
    Op("get", "/api/v1/policy", "The effective policy with the source of each value",
       m.PolicyView, errors=("400", "401", "503")),
    Op("get", "/api/v1/next-cycle", "What the current policy decides on the latest snapshots",
       m.NextCycleView, errors=("400", "401", "503")),
    Op("get", "/api/v1/shadow-report", "What it would have done, next to what changed, and "
       "the effect of its fees on the same forwards", ShadowReport,
       params=(Param("days", {"type": "integer", "minimum": 1, "maximum": 365},
                     "The period, ending now"),), errors=("400", "401", "409")),
    Op("get", "/api/v1/csrf", "The CSRF token for POSTs", m.CsrfToken),
    Op("get", "/api/v1/mcp-connection", "The MCP server's URL and bearer token, for an "
       "assistant's configuration (needs X-CSRF-Token; bound to loopback, a loopback Host)",
       m.McpConnection, errors=("400", "401", "403", "503")),
    Op("post", "/api/v1/pause", "Pause (kill switch) with a reason", m.PauseDone, m.PauseBody),
    Op("post", "/api/v1/resume", "Lift the API pause", m.PauseDone, m.EmptyBody),
    Op("post", "/api/v1/mode", "Set the mode (live needs confirm: true)", m.ModeDone,
       m.ModeBody),
    Op("post", "/api/v1/evaluate-now", "Queue a cycle now", m.EvaluateDone, m.EmptyBody),
    Op("post", "/api/v1/ack-crash", "Acknowledge every open crash", m.AckDone, m.EmptyBody),
    Op("post", "/api/v1/close", "Close a channel cooperatively (confirm_scid: its short id "
       "typed back)", m.CloseDone, m.CloseBody),
    Op("post", "/api/v1/rollback", "Roll back one change, the last, or since a time",
       m.RollbackDone, m.RollbackBody),
    Op("post", "/api/v1/policy/preview", "Decisions the edited policy would take",
       m.PolicyPreview, m.PolicyEdit, errors=("400", "401", "503")),
    Op("post", "/api/v1/policy", "Save an edit of the page's policy layer (journaled)",
       m.PolicySaved, m.PolicyEdit, errors=("400", "401", "503")),
    Op("post", "/api/v1/policy/undo", "Undo a policy change (journaled)", m.PolicySaved,
       m.UndoBody, errors=("400", "401", "503")),
]


SECRET_READS = {"/api/v1/mcp-connection"}
"""GETs that answer a secret: checked as a POST is, plus the loopback Host (``security.py``)."""


def routes(ctx: HttpContext) -> list[BaseRoute]:
    web = Web(ctx)
    handlers = {
        "/api/v1/overview": web.api_overview, "/api/v1/channels": web.api_channels,
        "/api/v1/channels/{chan}": web.api_channel, "/api/v1/changes": web.api_changes,
        "/api/v1/cycles": web.api_cycles, "/api/v1/policy": web.api_policy,
        "/api/v1/next-cycle": web.api_next, "/api/v1/csrf": web.api_csrf,
        "/api/v1/shadow-report": web.api_shadow, "/api/v1/mcp-connection": web.api_mcp_connection,
        "/api/v1/pause": web.act_pause, "/api/v1/resume": web.act_resume,
        "/api/v1/mode": web.act_mode, "/api/v1/evaluate-now": web.act_evaluate,
        "/api/v1/ack-crash": web.act_ack, "/api/v1/rollback": web.act_rollback,
        "/api/v1/close": web.act_close,
        "/api/v1/policy/preview": web.act_preview, "/api/v1/policy/undo": web.act_undo,
    }
    out: list[BaseRoute] = [Route("/api/v1/openapi.json", web.api_openapi, methods=["GET"])]
    posts = {op.path: op for op in OPS if op.method == "post"}
    gets = {op.path for op in OPS if op.method == "get"}
    for path in gets:
        kind = "secret" if path in SECRET_READS else "api"
        out.append(Route(path, web.wrap(handlers[path], kind), methods=["GET"]))
    # /api/v1/policy is GET (read) and POST (save)
    out.append(Route("/api/v1/policy", web.wrap(web.act_policy, "act"), methods=["POST"]))
    for path in posts:
        if path != "/api/v1/policy":
            out.append(Route(path, web.wrap(handlers[path], "act"), methods=["POST"]))
    out += [
        Route("/", web.wrap(web.page_overview, "page"), methods=["GET"]),
        Route("/channels", web.wrap(web.page_channels, "page"), methods=["GET"]),
        Route("/channels/{chan}", web.wrap(web.page_channel, "page"), methods=["GET"]),
        Route("/journal", web.wrap(web.page_journal, "page"), methods=["GET"]),
        Route("/cycles", web.wrap(web.page_cycles, "page"), methods=["GET"]),
        Route("/policy", web.wrap(web.page_policy, "page"), methods=["GET"]),
        Route("/shadow", web.wrap(web.page_shadow, "page"), methods=["GET"]),
        Route("/static/{name}", web.static, methods=["GET"]),
        Route("/signin", web.signin, methods=["POST"]),
    ]
    return out
