"""The MCP tools: each a function ``(Backend, args) -> result`` over the journal (read-only)
and the running service's control surface, the same the control socket and the web page use.

Read tools: ``status``, ``list_channels``, ``explain_channel``, ``history``, ``mode_history``,
``cycles``, ``shadow_report``, ``backtest_result``, ``next_cycle``. Acting tools, offered only
with ``MCP_MCP_ACTIONS=true``: ``pause``, ``resume``, ``rollback``, ``evaluate_now``; each goes
through ``Service.handle(request, by="mcp")`` (journaled, as over the control socket). No tool
changes the mode.

A tool that cannot answer raises :class:`ToolRefused` with one sentence (the assistant sees it
as a tool error).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import msgspec
import trio

from mcp_optimizer import timetext
from mcp_optimizer.journal import Journal
from mcp_optimizer.messages import ChannelSnapshot, DecisionKind
from mcp_optimizer.messages.control import (
    ControlError,
    ControlReply,
    ControlRequest,
    CycleFinished,
    CycleQueued,
    Done,
    EvaluateNowRequest,
    PauseRequest,
    ResumeRequest,
    RollbackChange,
    RollbackLast,
    RollbackReply,
    RollbackRequest,
    RollbackSince,
    ShadowReportReply,
    ShadowReportRequest,
    StatusReply,
)
from mcp_optimizer.messages.decision import ChangeOrigin
from mcp_optimizer.messages.journal import ChangeState, ShadowReport
from mcp_optimizer.scid import scid_text
from mcp_optimizer.web.models import NextCycleView

from . import models as m

T = TypeVar("T")
DAY_S = 86400
BACKTEST_FILE = "backtest.json"
"""Where the backtest tool reads the latest result: ``<data dir>/backtest.json``, the output
of ``mcp-optimizer backtest --json`` (docs/mcp.md)."""
MAX_BACKTEST_BYTES = 4 << 20
_SCID = re.compile(r"(\d+)x(\d+)x(\d+)")


class ToolRefused(Exception):
    """The tool cannot answer (bad argument, nothing to show, the service refused): one
    sentence for the assistant."""


@dataclass
class Backend:
    """What the tools may use of the running service (built from its HTTP context)."""

    read: Callable[[Callable[[Journal], Any]], Awaitable[Any]]
    """``await read(lambda journal: ...)`` on the read-only journal, in a worker thread."""
    control: Callable[[ControlRequest], Awaitable[ControlReply]]
    """The control socket's handler, journaling acts as done ``by: mcp``."""
    status: Callable[[], Awaitable[StatusReply]]
    data_dir: Path
    snapshots: Callable[[], list[ChannelSnapshot]] = list
    """The latest cycle's scored snapshots (the cycle runner's)."""
    what_next: Callable[[], Awaitable[NextCycleView]] | None = None
    """``await what_next()``: the web page's "what the next cycle would do" (the current policy
    on the latest snapshots), or None when the service has no policy desk."""


# ---------------------------------------------------------------------------- argument help
def parse_channel(text: str) -> int:
    t = text.strip()
    if t.isdigit() and int(t) < 2**64:
        return int(t)
    found = _SCID.fullmatch(t)
    if found:
        block, tx, out = (int(g) for g in found.groups())
        if block < 2**24 and tx < 2**24 and out < 2**16:
            return (block << 40) | (tx << 16) | out
    raise ToolRefused(f"channel {text[:40]!r} is not a channel id: give BLOCKxTXxOUTPUT "
                      "(e.g. 835469x1000004x1) or LND's integer chan_id")


def parse_time(text: str, now_s: int, name: str = "since") -> int:
    """``timetext.parse_time`` (the journal's clock as now); not understood: a tool error."""
    try:
        return timetext.parse_time(text, now_s)
    except ValueError as exc:
        raise ToolRefused(f"{name} {exc}") from None


def _choices(values: list[str], kind: type, name: str) -> list[Any] | None:
    if not values:
        return None
    known = [k.value for k in kind]
    bad = [v for v in values if v.strip().lower() not in known]
    if bad:
        raise ToolRefused(f"{name} {bad[0][:40]!r} is not one of: {', '.join(known)}")
    return [kind(v.strip().lower()) for v in values]


def _refused(reply: ControlReply) -> ControlReply:
    if isinstance(reply, ControlError):
        raise ToolRefused(f"the service refused: {reply.message}")
    return reply


# ------------------------------------------------------------------------------ read tools
async def status(b: Backend, args: m.NoArgs) -> StatusReply:
    return await b.status()


async def list_channels(b: Backend, args: m.ListChannelsArgs) -> m.ChannelsView:
    def read(j: Journal) -> tuple[int, list[Any]]:
        found = j.latest_decided_cycle()
        if found is None:
            return 0, []
        cycle_id, started = found
        return cycle_id, j.cycle_decisions(cycle_id, started)

    kinds = {k.value for k in DecisionKind}
    wanted = args.kind.strip().upper()
    if wanted and wanted not in kinds:
        raise ToolRefused(f"kind {args.kind[:40]!r} is not one of: {', '.join(sorted(kinds))}")
    cycle_id, rows = await b.read(read)
    snaps = {s.channel.chan_id: s for s in b.snapshots()}
    lines = []
    for decision_id, mode, d in sorted(rows, key=lambda r: r[2].chan_id):
        if wanted and d.kind.value != wanted:
            continue
        s = snaps.get(d.chan_id)
        lines.append(m.ChannelLine(
            chan_id=d.chan_id, scid=scid_text(d.chan_id),
            peer_alias=s.channel.peer.alias if s else "",
            capacity_sat=s.channel.capacity_sat if s else 0,
            local_balance_sat=s.channel.local_balance_sat if s else 0,
            decision_id=decision_id, mode=mode, kind=d.kind, current_policy=d.current_policy,
            proposed_policy=d.proposed_policy, score=d.score, reasons=d.reasons,
        ))
    return m.ChannelsView(cycle_id=cycle_id, total=len(rows), channels=lines[:args.limit])


async def explain_channel(b: Backend, args: m.ChannelArgs) -> m.ChannelExplanation:
    chan_id = parse_channel(args.channel)

    def read(j: Journal) -> tuple[list[Any], list[Any]]:
        return j.decisions(chan_id=chan_id, limit=1), j.changes(chan_id=chan_id)

    decisions, changes = await b.read(read)
    if not decisions:
        raise ToolRefused(f"channel {scid_text(chan_id)} has no decision in the journal")
    decision_id, mode, decision = decisions[0]
    snap = next((s for s in b.snapshots() if s.channel.chan_id == chan_id), None)
    history = list(snap.price_history) if snap is not None else []
    note = "" if history else (
        "no fee history: the service has not seen this channel in a cycle since it started"
        if snap is None else "no fee history over the policy's history window")
    return m.ChannelExplanation(
        chan_id=chan_id, scid=scid_text(chan_id), decision_id=decision_id, mode=mode,
        decision=decision, fee_history=history, fee_history_note=note,
        changes=list(reversed(changes))[:20],
    )


async def history(b: Backend, args: m.HistoryArgs) -> m.ChangeList:
    chan_id = parse_channel(args.channel) if args.channel.strip() else None
    states = _choices(args.state, ChangeState, "state")
    origins = _choices(args.origin, ChangeOrigin, "origin")

    def read(j: Journal) -> tuple[int, list[Any]]:
        since = parse_time(args.since, j.now_s()) if args.since.strip() else 0
        return j.changes_page(chan_id=chan_id, since_s=since, limit=args.limit,
                              states=[s.value for s in states or []],
                              origins=[o.value for o in origins or []])

    total, newest_first = await b.read(read)
    return m.ChangeList(total=total, changes=newest_first[::-1])


async def mode_history(b: Backend, args: m.SinceArgs) -> m.ModeHistory:
    def read(j: Journal) -> m.ModeHistory:
        since = parse_time(args.since, j.now_s()) if args.since.strip() else 0
        return m.ModeHistory(
            mode_changes=[c for c in j.mode_changes() if c.at_s >= since][-args.limit:],
            pause_changes=[c for c in j.pause_changes() if c.at_s >= since][-args.limit:],
        )

    return await b.read(read)


async def cycles(b: Backend, args: m.SinceArgs) -> m.CycleList:
    def read(j: Journal) -> m.CycleList:
        since = parse_time(args.since, j.now_s()) if args.since.strip() else 0
        return m.CycleList(cycles=j.cycles(limit=args.limit, since_s=since))

    return await b.read(read)


async def shadow_report(b: Backend, args: m.ShadowArgs) -> ShadowReport:
    reply = _refused(await b.control(ShadowReportRequest(period_s=args.days * DAY_S)))
    assert isinstance(reply, ShadowReportReply)
    return reply.report


def read_backtest(data_dir: Path) -> m.BacktestResult:
    path = data_dir / BACKTEST_FILE
    try:
        st = path.stat()
        if st.st_size > MAX_BACKTEST_BYTES:
            raise ToolRefused(f"{path} is {st.st_size} bytes, more than a backtest's result")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ToolRefused(f"no backtest result saved: run `mcp-optimizer backtest --json > "
                          f"{path}`") from None
    except OSError as exc:
        raise ToolRefused(f"{path}: {exc.strerror or exc}") from None
    try:
        summary = msgspec.json.decode(raw, type=dict[str, Any])
    except msgspec.DecodeError as exc:
        raise ToolRefused(f"{path} is not a backtest result (JSON object expected: {exc})") \
            from None
    if not isinstance(summary.get("strategies"), dict):
        raise ToolRefused(f"{path} is not the output of `mcp-optimizer backtest --json` "
                          "(no strategies)")
    return m.BacktestResult(path=str(path), saved_at_s=int(st.st_mtime), summary=summary)


async def backtest_result(b: Backend, args: m.NoArgs) -> m.BacktestResult:
    return await trio.to_thread.run_sync(read_backtest, b.data_dir)


async def next_cycle(b: Backend, args: m.NoArgs) -> NextCycleView:
    if b.what_next is None:
        raise ToolRefused("the service holds no policy desk: what the next cycle would do "
                          "cannot be evaluated")
    view = await b.what_next()
    if not view.decisions and not view.taken_at_s:
        raise ToolRefused("no cycle has run since the service started: nothing to evaluate "
                          "on yet (evaluate_now, or wait for the first cycle)")
    return view


# ---------------------------------------------------------------------------- acting tools
async def _pause_done(b: Backend, reply: ControlReply) -> m.PauseDone:
    assert isinstance(reply, Done)
    record = await b.read(lambda j: j.last_pause())
    st = await b.status()
    return m.PauseDone(detail=reply.detail, record=record, state=st.pause)


async def pause(b: Backend, args: m.ReasonArgs) -> m.PauseDone:
    return await _pause_done(b, _refused(await b.control(PauseRequest(reason=args.reason))))


async def resume(b: Backend, args: m.ReasonArgs) -> m.PauseDone:
    return await _pause_done(b, _refused(await b.control(ResumeRequest(reason=args.reason))))


async def rollback(b: Backend, args: m.RollbackArgs) -> m.RollbackDone:
    given = [name for name, on in (("change_id", args.change_id > 0), ("last", args.last),
                                   ("since", bool(args.since.strip()))) if on]
    if len(given) != 1:
        raise ToolRefused("give exactly one of change_id, last or since"
                          + (f" (got {', '.join(given)})" if given else ""))
    target: Any
    if args.change_id:
        target = RollbackChange(change_id=args.change_id)
    elif args.last:
        target = RollbackLast()
    else:
        now = await b.read(lambda j: j.now_s())
        target = RollbackSince(since_at_s=parse_time(args.since, now))
    reply = _refused(await b.control(RollbackRequest(target=target)))
    assert isinstance(reply, RollbackReply)
    return m.RollbackDone(changes=reply.changes, refused=reply.refused, skipped=reply.skipped)


async def evaluate_now(b: Backend, args: m.EvaluateArgs) -> m.EvaluateDone:
    reply = _refused(await b.control(EvaluateNowRequest(wait=args.wait)))
    assert isinstance(reply, CycleQueued | CycleFinished)
    return m.EvaluateDone(reply=reply)


# ---------------------------------------------------------------------------------- catalogue
@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    args: type[m.In]
    result: Any
    """The result's type (its JSON Schema is the tool's output schema)."""
    fn: Callable[[Backend, Any], Awaitable[Any]]
    acts: bool = False
    """Changes something (offered only with MCP_MCP_ACTIONS=true)."""


READ_TOOLS = (
    Tool("status", "The service now: mode (shadow, dry-run, live) and since when, pause and who "
         "set it, safe mode and why, open crashes, actors, last and next cycle.",
         m.NoArgs, StatusReply, status),
    Tool("list_channels", "Every channel of the latest cycle with its latest decision (kind, "
         "current and proposed fee, score, reasons). Filter by decision kind.",
         m.ListChannelsArgs, m.ChannelsView, list_channels),
    Tool("explain_channel", "Why it decided what it did on one channel: the decision's reasons, "
         "each factor's value, weight and contribution, the fee levels it held and what each "
         "earned, and its latest changes.", m.ChannelArgs, m.ChannelExplanation,
         explain_channel),
    Tool("history", "Policy changes (as `mcp-optimizer history --json`): who made each, why, "
         "what held it and whether the node showed it. Filters: channel, since, state, origin, "
         "limit.", m.HistoryArgs, m.ChangeList, history),
    Tool("mode_history", "Mode changes (going live) and pauses/resumes, with who and why.",
         m.SinceArgs, m.ModeHistory, mode_history),
    Tool("cycles", "Evaluation cycles, newest first, and how each ended (ok, partial, failed, "
         "abandoned, or not ended) with its detail.", m.SinceArgs, m.CycleList, cycles),
    Tool("shadow_report", "What the service would have done per channel over the last days, "
         "next to what changed on the node, and what its fees would have earned on the same "
         "forwards.", m.ShadowArgs, ShadowReport, shadow_report),
    Tool("backtest_result", "The latest saved backtest (<data dir>/backtest.json, the output of "
         "`mcp-optimizer backtest --json`): revenue, updates and gate stops per strategy, "
         "ratios, issue 9's targets.", m.NoArgs, m.BacktestResult, backtest_result),
    Tool("next_cycle", "What the next cycle would decide with the current policy on the latest "
         "snapshots: a dry evaluation that writes nothing.", m.NoArgs, NextCycleView,
         next_cycle),
)
ACT_TOOLS = (
    Tool("pause", "Pause: nothing is written to the node until resumed (decisions are still "
         "recorded). Journaled by mcp with the reason.", m.ReasonArgs, m.PauseDone, pause,
         acts=True),
    Tool("resume", "Lift the pause set over the API (a pause by MCP_PAUSED or the PAUSED file "
         "stays). Journaled by mcp.", m.ReasonArgs, m.PauseDone, resume, acts=True),
    Tool("rollback", "Restore the previous policy of one change (change_id), of the last "
         "change (last), or of every change since a time (since), through the journaled, "
         "verified write path.", m.RollbackArgs, m.RollbackDone, rollback, acts=True),
    Tool("evaluate_now", "Run an evaluation cycle now (the mode and the gates decide what it "
         "may write).", m.EvaluateArgs, m.EvaluateDone, evaluate_now, acts=True),
)


def catalogue(actions: bool) -> list[Tool]:
    """The tools offered: the read tools, and the acting ones when enabled."""
    return list(READ_TOOLS) + (list(ACT_TOOLS) if actions else [])

