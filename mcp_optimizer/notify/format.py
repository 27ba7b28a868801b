"""Messages from what the service already knows: a cycle's ``CycleDone``, the journal's
changes since the previous look, the cycle's close decisions, a mode or pause change, a crash.

Pure functions: no clock, no I/O. Each message is plain text (every apprise service shows
it), the channel by its short id (``800000x1234x1``), fees ``ppm`` with the base fee in msat.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from mcp_optimizer.messages import CycleOutcome
from mcp_optimizer.messages.control import CycleDone
from mcp_optimizer.messages.decision import ChangeOrigin, Decision, DecisionKind
from mcp_optimizer.messages.domain import ChannelPolicy
from mcp_optimizer.messages.journal import (
    ChangeAction,
    ChangeRecord,
    ChangeState,
    Gate,
    Mode,
    ModeChange,
)
from mcp_optimizer.scid import scid_text

from .events import EventKind, Notice

MAX_LINES = 25
"""Lines of channels in one message; the rest are counted (the journal has them all)."""
APPLIED_STATES = frozenset({ChangeState.APPLIED, ChangeState.VERIFIED})
HOLDING_GATES = frozenset({Gate.CIRCUIT_BREAKER, Gate.SAFE_MODE})


def fee_text(policy: ChannelPolicy) -> str:
    text = f"{policy.fee_rate_ppm} ppm"
    if policy.base_fee_msat:
        text += f" + {policy.base_fee_msat} msat"
    if policy.inbound_fee_rate_ppm or policy.inbound_base_fee_msat:
        text += f" (inbound {policy.inbound_fee_rate_ppm} ppm"
        text += f" + {policy.inbound_base_fee_msat} msat)" if policy.inbound_base_fee_msat \
            else ")"
    return text


def _reason(change: ChangeRecord) -> str:
    return change.reasons[0] if change.reasons else "no reason recorded"


def _lines(items: Sequence[str], more_hint: str = "mcp-optimizer history") -> str:
    shown = list(items[:MAX_LINES])
    if len(items) > MAX_LINES:
        shown.append(f"... and {len(items) - MAX_LINES} more ({more_hint})")
    return "\n".join(shown)


def _last_detail(change: ChangeRecord) -> str:
    return change.events[-1].detail if change.events else ""


def change_notices(changes: Iterable[ChangeRecord], cycle_id: int | None = None) -> list[Notice]:
    """The journal's changes grouped into one message per event: live changes applied (one
    message for all), mismatches, external changes, rollbacks, writes held by the circuit
    breaker or safe mode, closes."""
    applied, mismatched, external, rollbacks, held, closes = [], [], [], [], [], []
    for c in changes:
        sid = scid_text(c.chan_id)
        if c.action is ChangeAction.CLOSE_CHANNEL:
            closes.append(f"{sid}: close {c.state.value} ({_reason(c)})")
        elif c.origin is ChangeOrigin.EXTERNAL:
            external.append(f"{sid}: {fee_text(c.old_policy)} -> {fee_text(c.new_policy)}")
        elif c.state is ChangeState.MISMATCHED:
            mismatched.append(
                f"{sid}: wrote {fee_text(c.new_policy)}, read back differs"
                + (f" ({_last_detail(c)})" if _last_detail(c) else ""))
        elif c.origin is ChangeOrigin.ROLLBACK:
            undone = ", ".join(f"#{i}" for i in c.rolls_back) or "?"
            rollbacks.append(f"{sid}: {fee_text(c.old_policy)} -> {fee_text(c.new_policy)} "
                             f"(undoes change {undone}; {c.state.value})")
        elif c.state is ChangeState.HELD and any(s.gate in HOLDING_GATES for s in c.stopped_by):
            stop = next(s for s in c.stopped_by if s.gate in HOLDING_GATES)
            held.append(f"{sid}: {fee_text(c.old_policy)} -> {fee_text(c.new_policy)} held "
                        f"({stop.gate.value}: {stop.reason})")
        elif (c.origin is ChangeOrigin.SERVICE and c.mode is Mode.LIVE
              and c.state in APPLIED_STATES):
            applied.append(f"{sid}: {fee_text(c.old_policy)} -> {fee_text(c.new_policy)} "
                           f"({_reason(c)})")
    where = f" (cycle {cycle_id})" if cycle_id is not None else ""
    out = []
    if applied:
        out.append(Notice(EventKind.CHANGES_APPLIED,
                          f"{len(applied)} fee change(s) applied{where}", _lines(applied)))
    if mismatched:
        out.append(Notice(
            EventKind.MISMATCH, f"{len(mismatched)} verification mismatch(es){where}",
            _lines(mismatched) + "\n\nLive writes are held until `mcp-optimizer ack-crash`."))
    if external:
        out.append(Notice(EventKind.EXTERNAL_CHANGE,
                          f"{len(external)} policy change(s) made outside the service",
                          _lines(external)))
    if rollbacks:
        out.append(Notice(EventKind.ROLLBACK, f"{len(rollbacks)} rollback(s)",
                          _lines(rollbacks)))
    if held:
        out.append(Notice(EventKind.WRITES_HELD, f"{len(held)} change(s) held{where}",
                          _lines(held) + "\n\nSee `mcp-optimizer status`."))
    if closes:
        out.append(Notice(EventKind.CLOSE_RECOMMENDED, f"{len(closes)} channel close(s)",
                          _lines(closes)))
    return out


def close_recommendations(decisions: Iterable[Decision]) -> list[Notice]:
    """Close decisions the policy does not let the service carry out: recommendations."""
    lines = [
        f"{scid_text(d.chan_id)}: {'; '.join(d.reasons) or 'no reason recorded'}"
        for d in decisions if d.kind is DecisionKind.CLOSE_CHANNEL and not d.executable
    ]
    if not lines:
        return []
    return [Notice(EventKind.CLOSE_RECOMMENDED,
                   f"Close recommended for {len(lines)} channel(s)",
                   _lines(lines, "mcp-optimizer decisions")
                   + "\n\nNothing is closed unless you do it (`mcp-optimizer close`).")]


def cycle_notices(done: CycleDone) -> list[Notice]:
    """A failed cycle: the node unreachable (its ingestion failed) or another stage."""
    if done.outcome is not CycleOutcome.FAILED:
        return []
    if done.detail.startswith("ingestion failed"):
        return [Notice(EventKind.NODE_UNREACHABLE, f"Node unreachable (cycle {done.cycle_id})",
                       f"The cycle could not read the node: {done.detail}")]
    return [Notice(EventKind.CYCLE_FAILED, f"Cycle {done.cycle_id} failed", done.detail)]


def mode_notice(change: ModeChange) -> Notice:
    why = f": {change.reason}" if change.reason else ""
    return Notice(EventKind.MODE, f"Mode {change.old_mode.value} -> {change.new_mode.value}",
                  f"Mode changed from {change.old_mode.value} to {change.new_mode.value} "
                  f"by {change.by}{why}.")


def pause_notice(paused: bool, by: str, reason: str, sources: Sequence[str]) -> Notice:
    why = f": {reason}" if reason else ""
    if paused:
        return Notice(EventKind.PAUSE, "Paused",
                      f"Paused by {by}{why}. Nothing is written to the node until resumed.")
    still = f" Still paused by: {', '.join(sources)}." if sources else ""
    return Notice(EventKind.PAUSE, "Resumed" if not sources else "API pause lifted",
                  f"API pause lifted by {by}{why}.{still}")


def crash_notice(actor: str, cause: str) -> Notice:
    return Notice(EventKind.CRASH, f"Actor {actor} crashed",
                  f"The {actor} actor crashed and was restarted: {cause}\n\n"
                  "Live writes are held until `mcp-optimizer ack-crash`.")


def safe_mode_notice(reasons: Sequence[str]) -> Notice:
    if reasons:
        return Notice(EventKind.SAFE_MODE, "Safe mode entered",
                      "No policy is written until `mcp-optimizer ack-crash`:\n"
                      + _lines(list(reasons)))
    return Notice(EventKind.SAFE_MODE, "Safe mode cleared", "Policy writes are allowed again.")


def started_notice(node: str, mode: Mode, open_crashes: int, reconciled: int) -> Notice:
    lines = [f"The service started on {node}, mode {mode.value}."]
    if reconciled:
        lines.append(f"{reconciled} write(s) interrupted by the previous stop were reconciled.")
    if open_crashes:
        lines.append(f"{open_crashes} crash(es) unacknowledged: live writes are held until "
                     "`mcp-optimizer ack-crash`.")
    return Notice(EventKind.STARTED, "Service started", "\n".join(lines))


def digest_notice(
    *,
    hours: int,
    cycles_by_outcome: Mapping[str, int],
    changes_by_state: Mapping[str, int],
    top_channels: Sequence[tuple[int, int]],
    forwards: int | None,
    fees_earned_msat: int | None,
    window_s: int | None,
) -> Notice:
    """The daily digest: cycles, changes by state, the channels changed most and what the
    latest ingestion read of forwards and fees (over the policy's recent window)."""
    def counts(m: Mapping[str, int]) -> str:
        return ", ".join(f"{k} {v}" for k, v in sorted(m.items())) or "none"

    lines = [f"Last {hours} h: cycles {counts(cycles_by_outcome)}.",
             f"Changes: {counts(changes_by_state)}."]
    if fees_earned_msat is not None and window_s:
        lines.append(f"Routing: {forwards} forward(s), {fees_earned_msat // 1000} sat earned "
                     f"over the last {window_s // 3600} h (latest cycle's reading).")
    if top_channels:
        lines.append("Channels changed most: " + ", ".join(
            f"{scid_text(c)} ({n})" for c, n in top_channels) + ".")
    return Notice(EventKind.DIGEST, "Daily digest", "\n".join(lines))


def test_notice(node: str) -> Notice:
    return Notice(EventKind.STARTED, "Test notification",
                  f"mcp-optimizer notify-test: this URL works ({node}).")
