"""Verb ``cycle``: one evaluation cycle, printed as a table of decisions with their reasons."""

from __future__ import annotations

import argparse

import msgspec

from mcp_optimizer.policies.engine import evaluate_channel
from mcp_optimizer.samples import sample_snapshots

from .evaluate import decision_table, load_policy_or_fail


def cmd_cycle(args: argparse.Namespace) -> int:
    policy = load_policy_or_fail(args.policy)
    snapshots = sample_snapshots(args.channels)
    decisions = [evaluate_channel(s, policy) for s in snapshots]
    if args.json:
        print(msgspec.json.encode(decisions).decode())
        return 0
    print(f"One evaluation cycle over the built-in sample node ({len(snapshots)} channels):")
    print(decision_table(decisions))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("cycle", help="run one evaluation cycle and print the decisions")
    p.add_argument("--policy", help="a policy YAML file laid over the default policy")
    p.add_argument("--channels", type=int, default=12, help="sample channels (default 12)")
    p.add_argument("--json", action="store_true", help="print the decisions as JSON")
    p.set_defaults(func=cmd_cycle)
