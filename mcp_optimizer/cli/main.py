"""The ``mcp-optimizer`` command: one sub-command per verb, each in its own module.

A module in ``COMMAND_MODULES`` exposes ``register(subparsers)``, which adds its verbs and
sets ``func`` on each parser to a callable ``(args) -> int`` (the exit status).

Every error reaches the operator as ONE line on stderr, ``mcp-optimizer VERB: what was wrong``,
with a non-zero status and no traceback: ``CliError`` (status as given), a bad argument
(status 2, told by :class:`OneLineParser`), a setting or file the operator can fix (status 2,
see :func:`operator_error`), and anything else (status 70, a bug: the line says where the
traceback was written).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import tempfile
import traceback
from typing import NoReturn

COMMAND_MODULES = [
    "mcp_optimizer.cli.backtest",
    "mcp_optimizer.cli.control",
    "mcp_optimizer.cli.cycle",
    "mcp_optimizer.cli.evaluate",
    "mcp_optimizer.cli.journal",
    "mcp_optimizer.cli.logs",
    "mcp_optimizer.cli.mcp",
    "mcp_optimizer.cli.notify",
    "mcp_optimizer.cli.providers",
    "mcp_optimizer.cli.schema",
    "mcp_optimizer.cli.simulate",
]

EX_SOFTWARE = 70
"""Exit status of an unexpected failure (a bug), as in sysexits.h."""


class CliError(Exception):
    """An error the operator can fix: printed as one line, exit status ``status``."""

    def __init__(self, message: str, status: int = 2) -> None:
        super().__init__(message)
        self.status = status


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line naming it (not the usage block) and points
    to ``--help``; exit status 2 as argparse's."""

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: {message} (see `{self.prog} --help`)", file=sys.stderr)
        sys.exit(2)


def operator_error(exc: BaseException) -> str | None:
    """The one sentence for an error the operator can fix (a bad setting, policy, scenario,
    file or directory, an unreachable node), or None for an unexpected one (a bug)."""
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.filename}: {exc.strerror or exc}"
    if isinstance(exc, OSError | ValueError) or type(exc).__module__.startswith(
        ("mcp_optimizer", "msgspec")
    ):
        text = " ".join(str(exc).split())
        return text or type(exc).__name__
    return None


def _redact(text: str) -> str:
    from mcp_optimizer.logs import redact

    return redact(text)


def _report_bug(command: str, exc: BaseException) -> str:
    """Write the traceback to a file; the one line to print."""
    fd, path = tempfile.mkstemp(prefix="mcp-optimizer-error-", suffix=".txt")
    from mcp_optimizer.logs import redact  # a secret in an exception stays out of the file

    with os.fdopen(fd, "w") as f:
        f.write(redact("".join(traceback.format_exception(exc))))
    return redact(
        f"mcp-optimizer {command}: unexpected error {type(exc).__name__}: "
        f"{' '.join(str(exc).split())} (a bug; traceback in {path})"
    )


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mcp-lightning-optimizer")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "(not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="mcp-optimizer",
        description="Fee autopilot for LND nodes: traceable, reversible, supervised.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a bad argument already told in one line
        return exc.code if isinstance(exc.code, int) else 2
    try:
        from mcp_optimizer.umbrel import env as umbrel_env

        umbrel_env.apply()  # on Umbrel, its variables give the MCP_* settings (umbrel/env.py)
        from mcp_optimizer.logs import register_env_secrets

        register_env_secrets()  # keys, tokens, the macaroon: never in a line or a file we write
        status = int(args.func(args))
        sys.stdout.flush()  # here, so that a closed pipe is told below, not at interpreter exit
        return status
    except CliError as exc:
        print(_redact(f"mcp-optimizer {args.command}: {exc}"), file=sys.stderr)
        return exc.status
    except KeyboardInterrupt:
        print(f"mcp-optimizer {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`mcp-optimizer history | head`): stop quietly, as other tools.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as exc:  # noqa: BLE001 - every failure is told in one line
        text = operator_error(exc)
        if text is None:
            print(_report_bug(args.command, exc), file=sys.stderr)
            return EX_SOFTWARE
        print(_redact(f"mcp-optimizer {args.command}: {text}"), file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
