"""The ``mcp-optimizer`` command: one sub-command per verb, each in its own module.

A module in ``COMMAND_MODULES`` exposes ``register(subparsers)``, which adds its verbs and
sets ``func`` on each parser to a callable ``(args) -> int`` (the exit status).
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMAND_MODULES = [
    "mcp_optimizer.cli.control",
    "mcp_optimizer.cli.cycle",
    "mcp_optimizer.cli.evaluate",
    "mcp_optimizer.cli.journal",
    "mcp_optimizer.cli.providers",
    "mcp_optimizer.cli.schema",
    "mcp_optimizer.cli.simulate",
]


class CliError(Exception):
    """An error the operator can fix: printed as one line, exit status ``status``."""

    def __init__(self, message: str, status: int = 2) -> None:
        super().__init__(message)
        self.status = status


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mcp-optimizer",
        description="Fee autopilot for LND nodes: traceable, reversible, supervised.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except CliError as exc:
        print(f"mcp-optimizer {args.command}: {exc}", file=sys.stderr)
        return exc.status
    except KeyboardInterrupt:
        print(f"mcp-optimizer {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
