"""Verbs over the journal: ``history``, ``shadow-report``, ``rollback``, ``ack-crash``.

``history`` reads the journal file directly (read-only; it works with or without a running
service). ``shadow-report`` asks the running service (its clock, and its node's forwarding
history for the effect estimate); when no service answers, it reads the journal read-only and
the forwarding history from the node named by ``MCP_LND_*``, and without those says that the
effect is not estimated. ``rollback`` and ``ack-crash`` go through the running service's
control socket; when no service answers there, they act directly: ``ack-crash`` on the journal,
``rollback`` on the journal and the node named by the ``MCP_LND_*`` variables, through the same
journaled, verified write path (refused if a service still holds the data directory).

The data directory is ``--data-dir``, else ``MCP_DATA_DIR``, else ``./var``; the control socket
is ``--socket``, else ``MCP_CONTROL_SOCKET``, else ``<data dir>/control.sock``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import msgspec

from mcp_optimizer import timetext
from mcp_optimizer.journal import Journal, JournalError, RollbackRefused
from mcp_optimizer.journal.states import EFFECTIVE_STATES, describe
from mcp_optimizer.messages.decision import ChangeOrigin
from mcp_optimizer.messages.domain import ChannelPolicy
from mcp_optimizer.messages.journal import (
    ChangeRecord,
    ChangeState,
    CrashRecord,
    CycleEnded,
    CycleRecord,
    FeeRateGapKnown,
    ShadowReport,
)
from mcp_optimizer.messages.shadow_effect import ChannelNoForwards, EffectNotEstimated, ShadowEffect

from . import fmt
from .main import CliError

_json = msgspec.json.Encoder()


def data_dir(args: argparse.Namespace) -> Path:
    from mcp_optimizer.runtime.settings import data_dir_from_env

    return Path(args.data_dir) if args.data_dir else data_dir_from_env()


def socket_path(args: argparse.Namespace) -> Path:
    """``--socket``, else the service's own rule (``MCP_CONTROL_SOCKET``, else
    ``<data dir>/control.sock``, with ``--data-dir`` standing for ``MCP_DATA_DIR``)."""
    from mcp_optimizer.runtime.settings import control_socket_path

    if getattr(args, "socket", None):
        return Path(args.socket)
    env = dict(os.environ)
    if args.data_dir:
        env["MCP_DATA_DIR"] = str(args.data_dir)
    return control_socket_path(env)


def parse_time(text: str, now_s: int) -> int:
    """``timetext.parse_time``; a time not understood is a bad-input error (exit 2)."""
    try:
        return timetext.parse_time(text, now_s)
    except ValueError as exc:
        raise CliError(f"--since {exc}", 2) from None


_when = fmt.when_bare
_W = fmt.CHANNEL_WIDTH


def _open_readonly(args: argparse.Namespace) -> Journal:
    try:
        return Journal.open(data_dir(args), readonly=True)
    except JournalError as exc:
        raise CliError(str(exc), 1) from None


def _fee(p: ChannelPolicy) -> str:
    return f"{p.base_fee_msat}/{p.fee_rate_ppm}"


def change_lines(rec: ChangeRecord) -> list[str]:
    """One line per change, then its reasons, gates and last event, indented."""
    who = rec.origin.value
    if rec.action.value != "update_policy":
        fees = f"{_fee(rec.old_policy)} CLOSE"  # the policy does not change; the channel would go
    else:
        fees = f"{_fee(rec.old_policy)} -> {_fee(rec.new_policy)}"
    lines = [
        f"{rec.change_id:>6}  {_when(rec.requested_at_s)}  {fmt.chan(rec.chan_id):<{_W}}  "
        f"{who:<8} {rec.mode.value:<7} {rec.state.value:<12} {fees}"
    ]
    if rec.rolls_back:
        lines.append(f"{'':8}undoes change {', '.join(map(str, rec.rolls_back))}")
    for r in rec.reasons:
        lines += fmt.wrapped(f"{'':8}why: ", r)
    for s in rec.stopped_by:
        lines += fmt.wrapped(f"{'':8}{s.effect.value} by {s.gate.value}: ", s.reason)
    if rec.events and not rec.stopped_by:
        lines += fmt.wrapped(f"{'':8}{rec.events[-1].state.value}: ", rec.events[-1].detail)
    return lines


HISTORY_HEADER = (
    f"{'id':>6}  {'time (UTC)':<19}  {'channel':<{_W}}  {'origin':<8} {'mode':<7} "
    f"{'state':<12} base msat/ppm"
)


def cycle_line(rec: CycleRecord) -> str:
    """One line per cycle: when, how it ended (or that it has no journaled end), and why."""
    if isinstance(rec.end, CycleEnded):
        end, outcome = _when(rec.end.at_s), rec.end.outcome.value
    else:
        end, outcome = "-", "not ended"
    return (
        f"{rec.cycle_id:>6}  {_when(rec.started_at_s)}  {end:<19}  {rec.mode.value:<7} "
        f"{outcome:<9}  {rec.trigger}: {rec.detail}"
    )


CYCLES_HEADER = (
    f"{'cycle':>6}  {'started (UTC)':<19}  {'ended (UTC)':<19}  {'mode':<7} {'outcome':<9}  "
    "trigger: detail"
)


def _filter_text(args: argparse.Namespace, since: int) -> str:
    """`` on channel X since T UTC`` for the filters given (the journal's times are the
    node's clock: the embedded simulator's is its own)."""
    text = f" on channel {fmt.chan(args.channel)}" if args.channel is not None else ""
    if since:
        text += f" since {fmt.when(since)}"
    return text


def _cycle_history(args: argparse.Namespace, since: int) -> int:
    if args.channel is not None:
        raise CliError("--cycles lists whole cycles: it cannot be combined with --channel", 2)
    with _open_readonly(args) as j:
        cycles = list(reversed(j.cycles(limit=args.limit or 1000, since_s=since)))
    if args.json:
        sys.stdout.write(_json.encode(cycles).decode() + "\n")
        return 0
    if not cycles:
        print("no cycle in the journal" + _filter_text(args, since))
        return 0
    print(CYCLES_HEADER)
    for rec in cycles:
        print(cycle_line(rec))
    return 0


def _mode_history(args: argparse.Namespace, since: int) -> int:
    """Mode changes and API pauses/resumes, oldest first, with who and why."""
    if args.channel is not None or args.cycles:
        raise CliError("--modes lists mode and pause changes: it cannot be combined with "
                       "--channel or --cycles", 2)
    with _open_readonly(args) as j:
        modes = [m for m in j.mode_changes() if m.at_s >= since]
        pauses = [p for p in j.pause_changes() if p.at_s >= since]
    rows = sorted(
        [(m.at_s, "mode", f"{m.old_mode.value} -> {m.new_mode.value}", m.by, m.reason)
         for m in modes]
        + [(p.at_s, "pause", "paused" if p.paused else "resumed", p.by, p.reason)
           for p in pauses],
        key=lambda r: r[0],
    )
    if args.limit is not None:
        rows = rows[-args.limit:]
    if args.json:
        sys.stdout.write(_json.encode(
            [{"at_s": a, "what": w, "change": c, "by": b, "reason": r} for a, w, c, b, r in rows]
        ).decode() + "\n")
        return 0
    if not rows:
        print("no mode or pause change in the journal" + _filter_text(args, since))
        return 0
    print(f"{'time (UTC)':<19}  {'what':<5}  {'change':<18}  {'by':<8}  reason")
    for at_s, what, change, by, reason in rows:
        print("\n".join(fmt.wrapped(
            f"{_when(at_s):<19}  {what:<5}  {change:<18}  {by:<8}  ", reason or "-"
        )))
    return 0


def fold_repeats(recs: list[ChangeRecord]) -> list[tuple[ChangeRecord, int, int]]:
    """Consecutive changes of a channel that repeat the same proposal with the same outcome
    (the same held proposal every cycle) folded into the first: ``(record, repeats, last
    time)``; records oldest first, in and out."""
    out: list[tuple[ChangeRecord, int, int]] = []
    last_of: dict[int, int] = {}  # channel -> index in out of its latest row
    for rec in recs:
        key = (rec.origin, rec.state, rec.new_policy, tuple(g.gate for g in rec.stopped_by))
        i = last_of.get(rec.chan_id)
        if i is not None:
            first, n, _ = out[i]
            same = (first.origin, first.state, first.new_policy,
                    tuple(g.gate for g in first.stopped_by)) == key
            if same and rec.state not in EFFECTIVE_STATES:
                out[i] = (first, n + 1, rec.requested_at_s)
                continue
        last_of[rec.chan_id] = len(out)
        out.append((rec, 0, rec.requested_at_s))
    return out


def _choices(text: str | None, kind, what: str) -> list | None:
    """``--state held,refused`` -> [ChangeState.HELD, ...]; one line naming a wrong word."""
    if not text:
        return None
    values = [w.strip() for w in text.split(",") if w.strip()]
    known = [k.value for k in kind]
    bad = [v for v in values if v not in known]
    if bad:
        raise CliError(f"--{what} {bad[0]!r} is not one of: {', '.join(known)}", 2)
    return [kind(v) for v in values]


def cmd_history(args: argparse.Namespace) -> int:
    since = parse_time(args.since, int(time.time())) if args.since else 0
    if args.modes:
        return _mode_history(args, since)
    if args.cycles:
        return _cycle_history(args, since)
    states_in = _choices(args.state, ChangeState, "state")
    origins = _choices(args.origin, ChangeOrigin, "origin")
    with _open_readonly(args) as j:
        recs = j.changes(chan_id=args.channel, since_s=since, states_in=states_in)
    if origins is not None:
        recs = [r for r in recs if r.origin in origins]
    if args.limit is not None:
        recs = recs[-args.limit:]  # the most recent, still oldest first
    if args.json:
        sys.stdout.write(_json.encode(recs).decode() + "\n")
        return 0
    if not recs:
        print("no change in the journal" + _filter_text(args, since))
        return 0
    print(HISTORY_HEADER)
    rows = [(r, 0, 0) for r in recs] if args.all else fold_repeats(recs)
    for rec, repeats, last_at in rows:
        print("\n".join(change_lines(rec)))
        if repeats:
            print(f"{'':8}... and {repeats} more like it, the last at {_when(last_at)} "
                  "(--all shows each)")
    return 0


def _direct_effect(since: int, until: int):
    """(effect, client to close or None) when no service answers: the node named by
    ``MCP_LND_*``, or the reason there is none."""
    from mcp_optimizer.journal.shadow import NO_NODE, from_history, not_estimated
    from mcp_optimizer.providers.lnd.client import LndClient
    from mcp_optimizer.providers.lnd.errors import LndError
    from mcp_optimizer.providers.lnd.settings import LndSettings
    from mcp_optimizer.runtime.settings import lnd_configured

    if not lnd_configured(os.environ):
        return not_estimated(NO_NODE), None
    try:
        settings = LndSettings.from_env()
        client = LndClient(settings)
    except LndError as exc:
        return not_estimated(
            f"effect not estimated: the node named by MCP_LND_* cannot be used: {exc}"
        ), None
    source = f"LND at {settings.host} (MCP_LND_*)"
    return from_history(client.forwarding_event_pages, source, since, until), client


def _shadow_report(args: argparse.Namespace, period_s: int) -> ShadowReport:
    """From the running service (its clock and its node), else from the journal read-only and
    the node named by ``MCP_LND_*``."""
    from mcp_optimizer.journal.shadow import build_shadow_report
    from mcp_optimizer.messages import control as c

    reply = _via_service(args, c.ShadowReportRequest(period_s=period_s), timeout_s=600.0)
    if isinstance(reply, c.ShadowReportReply):
        return reply.report
    if isinstance(reply, c.ControlError) and reply.code != "bad_frame":
        raise CliError(f"the service refused: {reply.message}", 1)
    if reply is not None and not isinstance(reply, c.ControlError):
        raise CliError(f"the service answered {type(reply).__name__}, not a shadow report", 1)
    # No service, or one too old to know the request (bad_frame): read it all here.
    now = int(time.time())
    since = now - period_s
    with _open_readonly(args) as j:
        effect, client = _direct_effect(since, now)
        try:
            return build_shadow_report(j, since, now, effect)
        finally:
            if client is not None:
                client.close()


def _msat(v: int) -> str:
    return f"{v:,}"


def effect_lines(effect: ShadowEffect) -> list[str]:
    """The effect part of the human report."""
    if isinstance(effect, EffectNotEstimated):
        return [f"Effect: {effect.reason}"]
    lines = [
        f"Effect of the would-be fees {effect.basis};",
        f"forwards read from {effect.source}:",
    ]
    if not effect.channels:
        return [*lines, "no channel in the report: nothing to estimate"]
    lines.append(
        f"{'channel':<{_W}}  {'forwards':>8}  {'actual msat':>15}  {'would-be msat':>15}  "
        f"{'difference msat':>15}"
    )
    for ch in effect.channels:
        if isinstance(ch, ChannelNoForwards):
            lines.append(f"{fmt.chan(ch.chan_id):<{_W}}  {ch.reason}")
            continue
        lines.append(
            f"{fmt.chan(ch.chan_id):<{_W}}  {ch.forward_count:>8}  "
            f"{_msat(ch.actual_fee_msat):>15}  {_msat(ch.would_be_fee_msat):>15}  "
            f"{ch.difference_msat:>+15,}"
        )
    lines.append(
        f"{'total':<{_W}}  {effect.forward_count:>8}  {_msat(effect.actual_fee_msat):>15}  "
        f"{_msat(effect.would_be_fee_msat):>15}  {effect.difference_msat:>+15,}"
    )
    return lines


def cmd_shadow_report(args: argparse.Namespace) -> int:
    period_s = max(1, int(args.days * 86400))
    report = _shadow_report(args, period_s)
    since, now = report.since_s, report.until_s
    if args.json:
        sys.stdout.write(_json.encode(report).decode() + "\n")
        return 0
    print(f"Shadow report, {_when(since)} to {_when(now)} UTC (base msat/ppm):")
    if not report.channels:
        print("no would-be change and no external change in the period")
    else:
        print(
            f"{'channel':<{_W}}  {'would':>5}  {'stopped':>7}  {'would write':>12}  "
            f"{'external':>8}  {'on node':>12}  {'gap ppm':>7}"
        )
        for row in report.channels:
            would = (
                _fee(row.last_would_policy)
                if isinstance(row.last_would_policy, ChannelPolicy)
                else "-"
            )
            actual = (
                _fee(row.actual_policy) if isinstance(row.actual_policy, ChannelPolicy) else "?"
            )
            gap = (
                f"{row.fee_rate_gap.gap_ppm:+}"
                if isinstance(row.fee_rate_gap, FeeRateGapKnown)
                else "?"
            )
            print(
                f"{fmt.chan(row.chan_id):<{_W}}  {row.would_change_count:>5}  "
                f"{row.stopped_count:>7}  {would:>12}  {row.external_change_count:>8}  "
                f"{actual:>12}  {gap:>7}"
            )
    print("\n".join(effect_lines(report.effect)))
    return 0


# ---- rollback and ack-crash: through the service, or directly --------------------------------


def _via_service(
    args: argparse.Namespace, request, timeout_s: float = 30.0, *, once: str = ""
):
    """The service's reply, or None when no service answers on the socket.

    ``once`` (what the request does, e.g. "the rollback"): the request must not be done twice,
    so when the service received it but gave no reply (it may have acted), the CLI stops with
    one line instead of acting directly."""
    from mcp_optimizer.runtime.control_client import ControlNoReply, ControlUnavailable
    from mcp_optimizer.runtime.control_client import request as send

    path = socket_path(args)
    try:
        return send(path, request, timeout_s=timeout_s)
    except ControlNoReply as exc:
        if not once:
            return None
        raise CliError(
            f"the service on {path} received {once} but gave no reply ({exc}); it may have "
            "been done: check `mcp-optimizer history` before asking again",
            1,
        ) from None
    except ControlUnavailable:
        return None


def _direct_actuator(args: argparse.Namespace):
    from mcp_optimizer.policies.config import PolicyError, load_policy
    from mcp_optimizer.providers.lnd.client import LndClient
    from mcp_optimizer.providers.lnd.errors import LndError
    from mcp_optimizer.providers.lnd.settings import LndSettings
    from mcp_optimizer.safety.actuator import Actuator
    from mcp_optimizer.safety.settings import SettingsError

    try:
        settings = LndSettings.from_env()
    except LndError as exc:
        raise CliError(
            f"no service answers on {socket_path(args)}, and the node cannot be reached "
            f"directly: {exc}",
            1,
        ) from None
    try:
        policy = load_policy(os.environ.get("MCP_POLICY_FILE") or None)
    except PolicyError as exc:
        raise CliError(str(exc), 2) from None
    try:
        journal = Journal.open(data_dir(args), create=False)
    except JournalError as exc:
        raise CliError(str(exc), 1) from None
    try:
        client = LndClient(settings)
        return Actuator(journal, client, policy, data_dir(args)), journal, client
    except (JournalError, SettingsError, LndError) as exc:
        journal.close()
        raise CliError(str(exc), 1) from None


def _print_rollback(
    changes: list[ChangeRecord], refused: list[str], as_json: bool, skipped: list[str] = ()
) -> int:
    if as_json:
        sys.stdout.write(_json.encode(
            {"changes": changes, "refused": refused, "skipped": list(skipped)}
        ).decode() + "\n")
    else:
        for r in skipped:
            print("\n".join(fmt.wrapped("skipped: ", r)))
        for rec in changes:
            undone = ", ".join(map(str, rec.rolls_back))
            print("\n".join(fmt.wrapped(
                f"rollback of change {undone}: ",
                f"change {rec.change_id} {rec.state.value} on channel {fmt.chan(rec.chan_id)}; "
                f"{describe(rec.new_policy)}",
            )))
            for s in rec.stopped_by:
                print(f"  {s.effect.value} by {s.gate.value}: {s.reason}")
            if rec.state is not ChangeState.VERIFIED and rec.events:
                print(f"  {rec.events[-1].detail}")
        for r in refused:
            print(f"refused: {r}")
    ok = not refused and all(r.state is ChangeState.VERIFIED for r in changes)
    return 0 if ok else 1


def _since_text(args: argparse.Namespace, since: int) -> str:
    """What --since meant, for a refusal: `` (--since 1h: 2026-11-27 07:00:00 UTC)``."""
    return f" (--since {args.since}: {fmt.when(since)})" if args.since else ""


def cmd_rollback(args: argparse.Namespace) -> int:
    from mcp_optimizer.messages import control as c

    chosen = [x for x in (args.change_id is not None, args.last, bool(args.since)) if x]
    if len(chosen) != 1:
        raise CliError("give exactly one of CHANGE_ID, --last or --since TIME", 2)
    now = int(time.time())
    since = parse_time(args.since, now) if args.since else 0
    if args.change_id is not None:
        target = c.RollbackChange(change_id=args.change_id)
    elif args.last:
        target = c.RollbackLast()
    else:
        target = c.RollbackSince(since_at_s=since)
    reply = _via_service(args, c.RollbackRequest(target=target), once="the rollback")
    if isinstance(reply, c.RollbackReply):
        return _print_rollback(reply.changes, reply.refused, args.json, reply.skipped)
    if isinstance(reply, c.ControlError):
        raise CliError(f"the service refused: {reply.message}{_since_text(args, since)}", 1)
    if reply is not None:
        raise CliError(f"the service answered {type(reply).__name__}, not a rollback reply", 1)
    act, journal, client = _direct_actuator(args)
    try:
        if args.change_id is not None:
            return _print_rollback([act.rollback(args.change_id)], [], args.json)
        if args.last:
            return _print_rollback([act.rollback_last()], [], args.json)
        done, refused, skipped = act.rollback_since(since)
        return _print_rollback(done, refused, args.json, skipped)
    except RollbackRefused as exc:
        raise CliError(f"refused: {exc}{_since_text(args, since)}", 1) from None
    except Exception as exc:  # the node failed: the journal already says so
        from mcp_optimizer.providers.lnd.errors import LndError
        from mcp_optimizer.safety.actuator import NodeUnavailable

        if isinstance(exc, LndError | NodeUnavailable):
            raise CliError(str(exc), 1) from None
        raise
    finally:
        act.close()
        journal.close()
        client.close()


def _print_acked(crashes: list[CrashRecord], extra: list[str], as_json: bool) -> None:
    if as_json:
        sys.stdout.write(_json.encode({"acknowledged": crashes, "also": extra}).decode() + "\n")
        return
    if not crashes and not extra:
        print("nothing to acknowledge: no crash is open")
        return
    print(f"acknowledged {len(crashes)} crash(es); held live changes are released:")
    for cr in crashes:
        print(f"  #{cr.crash_id} {_when(cr.at_s)} {cr.kind.value} in {cr.source}: {cr.detail}")
    for e in extra:
        print(f"  {e}")


def cmd_ack_crash(args: argparse.Namespace) -> int:
    from mcp_optimizer.messages import control as c

    reply = _via_service(args, c.AckCrashRequest())
    if isinstance(reply, c.AckCrashReply):
        extra = [f"safe mode cleared: {s}" for s in reply.safe_mode_cleared]
        extra += [f"actor revived: {r}" for r in reply.revived]
        _print_acked(reply.acknowledged, extra, args.json)
        return 0
    if isinstance(reply, c.ControlError):
        raise CliError(f"the service refused: {reply.message}", 1)
    if reply is not None:
        raise CliError(f"the service answered {type(reply).__name__}, not an ack reply", 1)
    try:
        with Journal.open(data_dir(args), create=False) as j:
            _print_acked(j.acknowledge_crashes(), [], args.json)
    except JournalError as exc:
        raise CliError(str(exc), 1) from None
    return 0


def _common(p: argparse.ArgumentParser, socket: bool = False) -> None:
    p.add_argument(
        "--data-dir", help="the service's data directory (default $MCP_DATA_DIR or ./var)"
    )
    if socket:
        p.add_argument(
            "--socket",
            help="the control socket (default $MCP_CONTROL_SOCKET or DATA_DIR/control.sock)",
        )
    p.add_argument("--json", action="store_true", help="print JSON")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("history", help="every policy change: who, why, and its verification")
    p.add_argument(
        "--channel", type=fmt.parse_channel,
        help="only this channel: BLOCKxTXxOUTPUT (as printed) or LND's integer chan_id",
    )
    p.add_argument("--since", help="only changes since TIME (Unix s, ISO date/time, or 6h/7d)")
    p.add_argument(
        "--cycles", action="store_true",
        help="list the evaluation cycles and their outcomes (ok, partial, failed, abandoned)",
    )
    p.add_argument(
        "--limit", type=fmt.positive_int,
        help="at most this many, the most recent (default: every change; with --cycles 1000)",
    )
    p.add_argument(
        "--modes", action="store_true",
        help="list mode changes (going live!) and pauses/resumes, with who and why",
    )
    p.add_argument("--state", help="only changes in these states, e.g. verified,held")
    p.add_argument("--origin", help="only changes of these origins, e.g. service,rollback")
    p.add_argument(
        "--all", action="store_true",
        help="show every change (by default a channel's repeats of the same stopped proposal "
        "are folded into one row)",
    )
    _common(p)
    p.set_defaults(func=cmd_history)

    p = sub.add_parser(
        "shadow-report", help="what it would have done per channel vs what changed on the node"
    )
    p.add_argument(
        "--days", type=fmt.positive_days, default=7.0, help="the period, in days (default 7)"
    )
    _common(p, socket=True)
    p.set_defaults(func=cmd_shadow_report)

    p = sub.add_parser("rollback", help="restore the policy before a change (journaled, verified)")
    p.add_argument("change_id", nargs="?", type=fmt.positive_int, metavar="CHANGE_ID",
                   help="the change id (as history prints it)")
    p.add_argument("--last", action="store_true", help="the most recent applied change")
    p.add_argument("--since", help="every applied change since TIME (one write per channel)")
    _common(p, socket=True)
    p.set_defaults(func=cmd_rollback)

    p = sub.add_parser("ack-crash", help="acknowledge open crashes: releases held live changes")
    _common(p, socket=True)
    p.set_defaults(func=cmd_ack_crash)
