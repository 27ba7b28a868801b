"""Verbs that talk to the running service over its control socket, and ``run`` itself.

``status``, ``pause``, ``resume``, ``mode``, ``evaluate-now``: human output by default,
``--json`` for scripts. No service answering on the socket: one line on stderr, exit status 1.
``decisions`` reads the journal file directly (the service need not run). The socket is
``--socket``, else ``MCP_CONTROL_SOCKET``, else ``<MCP_DATA_DIR>/control.sock``.
"""

from __future__ import annotations

import argparse
import os
import sys

import msgspec

from mcp_optimizer.messages import CycleOutcome, Mode
from mcp_optimizer.messages.control import (
    ControlError,
    ControlReply,
    ControlRequest,
    CrashSeen,
    CycleDone,
    CycleFinished,
    DecisionEntry,
    DecisionsReply,
    EvaluateNowRequest,
    NextCycleAt,
    PauseRequest,
    ResumeRequest,
    SafeModeOn,
    SetModeRequest,
    StartingReply,
    StatusReply,
    StatusRequest,
)
from mcp_optimizer.runtime.control_client import ControlUnavailable, request

from . import fmt
from .main import CliError, operator_error

_when = fmt.when


def send(args: argparse.Namespace, req: ControlRequest, timeout_s: float = 30.0) -> ControlReply:
    """Send ``req`` to the service; raise CliError (status 1) when it does not answer or
    refuses."""
    from .journal import socket_path

    path = socket_path(args)
    try:
        reply = request(path, req, timeout_s=timeout_s)
    except ControlUnavailable as exc:
        raise CliError(str(exc), 1) from None
    if isinstance(reply, ControlError):
        if getattr(args, "json", False):
            print(msgspec.json.encode(reply).decode())
        code = "" if reply.code == "refused" else f" ({reply.code})"
        raise CliError(f"the service refused: {reply.message}{code}", 1)
    return reply


def _print_json(reply: ControlReply) -> None:
    print(msgspec.json.encode(reply).decode())


def render_status(s: StatusReply) -> str:
    lines = [
        f"node:       {s.node}",
        f"started:    {_when(s.started_at_s)}",
        f"mode:       {s.mode.value}",
    ]
    if s.pause.paused:
        held = ", ".join(
            f"api, {s.pause.reason}" if src == "api" and s.pause.reason else src
            for src in s.pause.sources
        )
        lines += fmt.wrapped("paused:     ", f"YES ({held})")
    else:
        lines.append("paused:     no")
    if isinstance(s.safe_mode, SafeModeOn):
        lines += fmt.wrapped("safe mode:  ", "ON (no policy writes until ack-crash): "
                             + "; ".join(s.safe_mode.reasons))
    else:
        lines.append("safe mode:  off")
    if isinstance(s.last_cycle, CycleDone):
        c = s.last_cycle
        lines += fmt.wrapped("last cycle: ", f"#{c.cycle_id} {c.outcome.value} at "
                             f"{_when(c.finished_at_s)} ({c.trigger}): {c.detail}")
    else:
        lines.append("last cycle: none yet")
    if s.cycle_running:
        lines.append("cycle:      running now")
    if isinstance(s.next_cycle, NextCycleAt):
        lines.append(f"next cycle: {_when(s.next_cycle.at_s)} ({s.next_cycle.trigger})")
    else:
        lines.append(f"next cycle: none due ({s.next_cycle.reason})")
    lines.append(f"unacknowledged crashes: {len(s.open_crashes)}"
                 + (" (live actions held until ack-crash)" if s.open_crashes else ""))
    lines.append("actors:")
    width = max((len(a.name) for a in s.actors), default=5)
    for a in s.actors:
        crash = (f"  last crash {_when(a.last_crash.at_s)}: {a.last_crash.cause}"
                 if isinstance(a.last_crash, CrashSeen) else "")
        lines.append(f"  {a.name:<{width}}  {a.state:<10} crashes {a.crashes:<3} "
                     f"restarts {a.restarts:<3}{crash}")
    return "\n".join(lines)


def cmd_status(args: argparse.Namespace) -> int:
    reply = send(args, StatusRequest())
    if args.json:
        _print_json(reply)
    elif isinstance(reply, StartingReply):  # the socket answers while the service is built
        print(f"starting: {reply.stage} (since {_when(reply.started_at_s)})")
    else:
        assert isinstance(reply, StatusReply)
        print(render_status(reply))
    return 0


def _simple(args: argparse.Namespace, req: ControlRequest) -> int:
    reply = send(args, req)
    if args.json:
        _print_json(reply)
    else:
        print(getattr(reply, "detail", type(reply).__name__))
    return 0


def cmd_pause(args: argparse.Namespace) -> int:
    return _simple(args, PauseRequest(reason=args.reason))


def cmd_resume(args: argparse.Namespace) -> int:
    return _simple(args, ResumeRequest(reason=args.reason))


def cmd_mode(args: argparse.Namespace) -> int:
    if args.mode is None:
        reply = send(args, StatusRequest())
        if isinstance(reply, StartingReply):
            raise CliError(f"the service is still starting ({reply.stage}): ask again", 1)
        assert isinstance(reply, StatusReply)
        if args.json:
            print(msgspec.json.encode({"mode": reply.mode.value}).decode())
        else:
            print(reply.mode.value)
        return 0
    return _simple(args, SetModeRequest(mode=Mode(args.mode), reason=args.reason))


def cmd_evaluate_now(args: argparse.Namespace) -> int:
    reply = send(args, EvaluateNowRequest(wait=args.wait), timeout_s=args.timeout)
    if args.json:
        _print_json(reply)
        return 0
    if isinstance(reply, CycleFinished):
        c = reply.cycle
        print(f"cycle #{c.cycle_id} {c.outcome.value}: {c.detail}")
        return 0 if c.outcome in (CycleOutcome.OK, CycleOutcome.PARTIAL) else 1
    print(getattr(reply, "detail", ""))
    return 0


def cmd_decisions(args: argparse.Namespace) -> int:
    """From the journal file, read-only: the service need not run."""
    from mcp_optimizer.journal import Journal, JournalError

    from .journal import data_dir

    try:
        with Journal.open(data_dir(args), readonly=True) as journal:
            rows = journal.decisions(limit=args.limit, chan_id=args.channel)
    except JournalError as exc:
        raise CliError(str(exc), 1) from None
    reply = DecisionsReply(
        decisions=[DecisionEntry(decision_id=i, mode=m, decision=d) for i, m, d in rows]
    )
    if args.json:
        _print_json(reply)
        return 0
    if not reply.decisions:
        print("no decision journaled yet")
        return 0
    for e in reply.decisions:
        d = e.decision
        fee = (f"{d.current_policy.fee_rate_ppm} -> {d.proposed_policy.fee_rate_ppm} ppm"
               if d.proposed_policy != d.current_policy else f"{d.current_policy.fee_rate_ppm} ppm")
        print(f"#{e.decision_id} {_when(d.evaluated_at_s)} [{e.mode.value}] "
              f"channel {fmt.chan(d.chan_id)} {d.kind.value} {fee} score {d.score:.2f}")
        for r in d.reasons:
            print("\n".join(fmt.wrapped("    - ", r)))
    return 0


def cmd_close(args: argparse.Namespace) -> int:
    """Close a channel cooperatively through the running service, after a confirmation."""
    from mcp_optimizer.messages.control import CloseChannelRequest, CloseReply

    chan = fmt.chan(args.channel)
    if not args.yes:
        print(f"Close channel {chan} cooperatively (never forced) at the node's fee estimate? "
              "A close cannot be undone; its funds return on-chain after it confirms.")
        print(f"Type the channel id ({chan}) to confirm: ", end="", flush=True)
        typed = sys.stdin.readline().strip()
        if typed not in (chan, str(args.channel)):
            raise CliError(f"not confirmed ({typed!r} is not {chan}); nothing was done", 1)
    reply = send(args, CloseChannelRequest(chan_id=args.channel, reason=args.reason),
                 timeout_s=120.0)
    if args.json:
        _print_json(reply)
    assert isinstance(reply, CloseReply)
    rec = reply.change
    if not args.json:
        print(f"change {rec.change_id}: close of {chan} {rec.state.value}: "
              f"{rec.events[-1].detail if rec.events else ''}")
    return 0 if rec.state.value in ("close_pending", "closed", "shadowed", "not_executed") else 1


def cmd_run(args: argparse.Namespace) -> int:
    from mcp_optimizer.runtime.settings import ServiceSettings

    env = dict(os.environ)
    if args.data_dir:
        env["MCP_DATA_DIR"] = args.data_dir
    if args.socket:
        env["MCP_CONTROL_SOCKET"] = args.socket
    if args.policy:
        env["MCP_POLICY_FILE"] = args.policy
    try:
        settings = ServiceSettings.from_env(env)
        from mcp_optimizer.runtime.start import run_service  # light: the socket opens first

        return run_service(settings, env)
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # noqa: BLE001 - every start failure is told in one sentence
        text = operator_error(exc)
        if text is not None:
            raise CliError(f"cannot run: {text}", 2) from None
        raise


def _common(p: argparse.ArgumentParser, json_flag: bool = True, data_dir: bool = True) -> None:
    if data_dir:  # as history, rollback, ack-crash and shadow-report take it
        p.add_argument(
            "--data-dir", help="the service's data directory (default $MCP_DATA_DIR or ./var)"
        )
    p.add_argument("--socket", help="control socket path (default: MCP_CONTROL_SOCKET, or "
                   "control.sock in the data directory)")
    if json_flag:
        p.add_argument("--json", action="store_true", help="print the reply as JSON")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run the service: actors, scheduler and control socket")
    p.add_argument("--data-dir", help="data directory (default: MCP_DATA_DIR or ./var)")
    p.add_argument("--policy", help="a policy YAML file laid over the default policy")
    _common(p, json_flag=False, data_dir=False)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("status", help="the running service's health")
    _common(p)
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("pause", help="kill switch: write nothing to the node until resumed")
    p.add_argument("--reason", default="", help="why (shown in status)")
    _common(p)
    p.set_defaults(func=cmd_pause)

    p = sub.add_parser("resume", help="lift a pause set with `pause`")
    p.add_argument("--reason", default="", help="why (journaled with the resume)")
    _common(p)
    p.set_defaults(func=cmd_resume)

    p = sub.add_parser("mode", help="show or set the mode: shadow, dry-run, live")
    p.add_argument("mode", nargs="?", choices=[m.value for m in Mode])
    p.add_argument("--reason", default="", help="why (journaled and logged; see history --modes)")
    _common(p)
    p.set_defaults(func=cmd_mode)

    p = sub.add_parser("close", help="close a channel cooperatively (asks for a confirmation)")
    p.add_argument("channel", type=fmt.parse_channel, help="BLOCKxTXxOUTPUT or LND's chan_id")
    p.add_argument("--reason", default="", help="why (journaled)")
    p.add_argument("--yes", action="store_true", help="do not ask for the confirmation")
    _common(p)
    p.set_defaults(func=cmd_close)

    p = sub.add_parser("evaluate-now", help="run a full cycle now")
    p.add_argument("--wait", action="store_true", help="wait for the cycle and print its outcome")
    p.add_argument("--timeout", type=fmt.positive_seconds, default=600.0,
                   help="seconds to wait (default 600)")
    _common(p)
    p.set_defaults(func=cmd_evaluate_now)

    p = sub.add_parser("decisions", help="the latest journaled decisions, newest first")
    p.add_argument("--limit", type=fmt.positive_int, default=20, help="how many (default 20)")
    p.add_argument("--channel", type=fmt.parse_channel,
                   help="only this channel (BLOCKxTXxOUTPUT or LND's integer chan_id)")
    _common(p)
    p.set_defaults(func=cmd_decisions)
