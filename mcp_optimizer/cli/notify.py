"""Verb ``notify-test``: send a test message to every ``MCP_NOTIFY_URLS`` URL.

Prints one line per URL, named without its secrets (``#1 json://127.0.0.1:8080: sent`` or
``#2 tgram://: FAILED: why``); exit status 0 when every URL took the message, 1 when any did
not, 2 when the settings are wrong or no URL is set. Each URL is tried with the service's
retries (``--attempts``).
"""

from __future__ import annotations

import argparse
import os
import socket

from mcp_optimizer.notify.format import test_notice
from mcp_optimizer.notify.sender import Sender
from mcp_optimizer.notify.settings import load_notify_settings

from .main import CliError


def cmd_notify_test(args: argparse.Namespace) -> int:
    settings = load_notify_settings(os.environ)
    if not settings.enabled:
        raise CliError("MCP_NOTIFY_URLS is empty: no URL to send to (see README, Notifications)")
    sender = Sender(settings.targets, attempts=args.attempts)
    failures = {f.name: f.reason for f in sender.send(test_notice(socket.gethostname()))}
    for name in sender.names:
        print(f"{name}: FAILED: {failures[name]}" if name in failures else f"{name}: sent")
    if failures:
        print(f"{len(failures)} of {len(sender.names)} URL(s) failed")
        return 1
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "notify-test",
        help="send a test notification to every MCP_NOTIFY_URLS URL; say which failed and why",
    )
    p.add_argument("--attempts", type=int, default=1, metavar="N",
                   help="tries per URL (default 1: say at once what is wrong)")
    p.set_defaults(func=cmd_notify_test)
