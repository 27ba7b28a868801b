"""Verbs ``evaluate`` (one snapshot file -> Decision JSON) and ``cycle`` (one evaluation cycle)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from pathlib import Path

import msgspec

from mcp_optimizer.messages import ChannelSnapshot, Decision
from mcp_optimizer.policies.config import Policy, PolicyError, load_policy
from mcp_optimizer.policies.engine import evaluate_channel

from . import fmt
from .main import CliError


def load_policy_or_fail(path: str | None) -> Policy:
    try:
        return load_policy(path)
    except PolicyError as exc:
        raise CliError(str(exc), status=2) from None


ADDED_STATS_FIELDS = {"failed_fee": 0}
"""Fields ``ForwardingStats`` gained after snapshots were saved (``cycle --save-snapshots``),
with the value an older snapshot is read with: the forwards refused for an insufficient fee
were not counted apart then (they are in its ``failed_htlcs``, among the other failures), so
none is known to be one."""
ADDED_CENTRALITY_FIELDS = {"estimated": False}
"""Fields the peer's ``CentralityKnown`` gained since: a snapshot saved before centrality was
ever estimated from sampled pivots carries an exact one."""


def decode_snapshot(raw: bytes) -> ChannelSnapshot:
    """A saved snapshot, as strictly as any message, but one saved by an earlier version
    without a field of :data:`ADDED_STATS_FIELDS` in its statistics (or of
    :data:`ADDED_CENTRALITY_FIELDS` in its peer's known centrality) is read with that field's
    value there. Raises ``msgspec.DecodeError`` or ``msgspec.ValidationError``."""
    data = msgspec.json.decode(raw)
    if isinstance(data, dict):
        for window in ("recent", "history"):
            stats = data.get(window)
            if isinstance(stats, dict):
                for name, value in ADDED_STATS_FIELDS.items():
                    stats.setdefault(name, value)
        channel = data.get("channel")
        peer = channel.get("peer") if isinstance(channel, dict) else None
        centrality = peer.get("centrality") if isinstance(peer, dict) else None
        if isinstance(centrality, dict) and centrality.get("type") == "CentralityKnown":
            for name, value in ADDED_CENTRALITY_FIELDS.items():
                centrality.setdefault(name, value)
    return msgspec.convert(data, ChannelSnapshot)


def read_snapshot(path: str) -> ChannelSnapshot:
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read snapshot {path}: {exc.strerror or exc}") from None
    try:
        return decode_snapshot(raw)
    except msgspec.ValidationError as exc:
        raise CliError(f"snapshot {path} is not a valid ChannelSnapshot: {exc}") from None
    except msgspec.DecodeError as exc:
        raise CliError(f"snapshot {path} is not valid JSON: {exc}") from None


def cmd_evaluate(args: argparse.Namespace) -> int:
    policy = load_policy_or_fail(args.policy)
    decision = evaluate_channel(read_snapshot(args.snapshot), policy)
    sys.stdout.write(msgspec.json.format(msgspec.json.encode(decision), indent=2).decode())
    sys.stdout.write("\n")
    return 0


def decision_table(
    decisions: list[Decision],
    width: int = 100,
    outcomes: Mapping[int, tuple[str, str]] | None = None,
) -> str:
    """Decisions as a plain-text table, reasons wrapped under each row. With ``outcomes``
    (chan id -> (outcome, gate or detail)), a column says what became of each decision
    (shadowed, held, refused, verified...) and the gate's words lead its reasons."""
    w = fmt.CHANNEL_WIDTH
    out_col = f" {'outcome':<12}" if outcomes is not None else ""
    head = f"{'channel':<{w}} {'decision':<14} {'score':>5} {'fee ppm':>13}{out_col}  reasons"
    lines = [head, "-" * len(head)]
    for d in decisions:
        old, new = d.current_policy.fee_rate_ppm, d.proposed_policy.fee_rate_ppm
        fee = f"{old}" if old == new else f"{old} -> {new}"
        kind = d.kind.value if d.executable else f"{d.kind.value}*"
        reasons = " / ".join(d.reasons)
        cell = ""
        if outcomes is not None:
            what, why = outcomes.get(d.chan_id, ("-", ""))
            cell = f" {what:<12}"
            if why:
                reasons = f"[{what}: {why}] {reasons}"
        prefix = f"{fmt.chan(d.chan_id):<{w}} {kind:<14} {d.score:>5.2f} {fee:>13}{cell}  "
        if outcomes is not None:  # the columns fill the line: the reasons go under the row
            lines.append(prefix.rstrip())
            lines += fmt.wrapped("    ", reasons, width)
        else:
            lines += fmt.wrapped(prefix, reasons, width)
    if any(not d.executable for d in decisions):
        lines.append("* recommendation only (not executable under this policy)")
    return "\n".join(lines)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate",
        help="evaluate one channel snapshot (JSON) and print the Decision as JSON",
    )
    p.add_argument("--snapshot", required=True, help="a ChannelSnapshot as JSON")
    p.add_argument("--policy", help="a policy YAML file laid over the default policy")
    p.set_defaults(func=cmd_evaluate)
