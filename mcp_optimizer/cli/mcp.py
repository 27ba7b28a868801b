"""``mcp-optimizer mcp``: the running service's MCP tools over stdio (``mcp_optimizer/mcp/
stdio.py``), for an assistant that starts a local command. stdout carries the protocol only;
a service that does not answer, or refuses the token, is one line on stderr and status 1.

The data directory is ``--data-dir``, else ``MCP_DATA_DIR``, else ``./var``.
"""

from __future__ import annotations

import argparse

from .main import CliError


def cmd_mcp(args: argparse.Namespace) -> int:
    from mcp_optimizer.mcp.stdio import RelayError, serve_stdio

    from .journal import data_dir

    try:
        serve_stdio(data_dir(args), args.url)
    except RelayError as exc:
        raise CliError(str(exc), 1) from None
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "mcp", help="serve the running service's MCP tools over stdio, for a local assistant")
    p.add_argument("--data-dir", help="the service's data directory (default: MCP_DATA_DIR, "
                   "else ./var): its HTTP address and MCP token are read there")
    p.add_argument("--url", help="the service's HTTP base URL (default: from the data dir), "
                   "e.g. http://umbrel.local:8731 with MCP_MCP_TOKEN set")
    p.set_defaults(func=cmd_mcp)
