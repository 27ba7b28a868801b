"""Verb ``simulate``: serve a simulated LND node on LND's gRPC interface until stopped.

``mcp-optimizer simulate --scenario NAME|FILE --listen 127.0.0.1:PORT --state-dir DIR
[--speed N] [--start now|scenario]`` builds the scenario's node (its clock and history ending
at the wall clock by default, like the embedded simulator; ``--start scenario`` keeps the
scenario's own date, or ``MCP_SIM_START``), serves it over TLS with macaroons written to DIR
(``tls.cert``, ``admin.macaroon``, ``readonly.macaroon``), prints where it listens, and
advances the simulated clock by N simulated seconds per real second (0 freezes it). SIGINT or
SIGTERM stops it cleanly.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path

from mcp_optimizer.simulator.ticker import Ticker

from .main import CliError


def cmd_simulate(args: argparse.Namespace) -> int:
    from mcp_optimizer.simulator.grpc import ServerStartError, start_server
    from mcp_optimizer.simulator.grpc.credentials import CredentialsError
    from mcp_optimizer.simulator.model import ScenarioError, SimulatedNode

    if args.speed < 0:
        raise CliError(f"--speed must be 0 or more simulated seconds per second, not {args.speed}")
    import dataclasses
    import time

    from mcp_optimizer.simulator.scenario import load_scenario

    start = args.start or os.environ.get("MCP_SIM_START", "").strip().lower() or "now"
    if start not in ("now", "scenario"):
        raise CliError(
            f"--start (or MCP_SIM_START) is {start!r}: expected 'now' (the history ends at the "
            "wall clock) or 'scenario' (the scenario's own date)"
        )
    try:
        scenario = load_scenario(args.scenario)
        if start == "now":
            scenario = dataclasses.replace(scenario, start_s=int(time.time()))
        node = SimulatedNode.from_config(scenario)
    except ScenarioError as exc:
        raise CliError(str(exc)) from None
    stop = threading.Event()
    previous = {
        sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        try:
            server = start_server(node, args.listen, Path(args.state_dir))
        except (ServerStartError, CredentialsError) as exc:
            raise CliError(str(exc)) from None
        ticker = Ticker(
            node,
            args.speed,
            on_error=lambda exc: print(
                f"mcp-optimizer simulate: the clock stopped: {exc}", file=sys.stderr
            ),
        )
        ticker.start()
        print(
            f"simulating scenario {args.scenario} (node {node.identity_pubkey}, "
            f"{len(node.channels())} channels) on {server.address}",
            flush=True,
        )
        print(f"tls cert: {server.tls_cert_path}", flush=True)
        print(f"admin macaroon: {server.admin_macaroon_path}", flush=True)
        print(f"readonly macaroon: {server.readonly_macaroon_path}", flush=True)
        print(
            f"client environment: MCP_LND_HOST={server.address} "
            f"MCP_LND_TLS_CERT={server.tls_cert_path} "
            f"MCP_LND_MACAROON={server.admin_macaroon_path}",
            flush=True,
        )
        began = "now" if start == "now" else "at the scenario's date"
        print(
            f"clock speed: {args.speed:g} simulated s per s, started {began}; stop with Ctrl-C",
            flush=True,
        )
        try:
            while not stop.wait(0.5):
                pass
        finally:
            ticker.stop()
            server.stop()
        print("simulator stopped", flush=True)
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "simulate", help="serve a simulated LND node over gRPC (TLS and macaroons, like LND)"
    )
    p.add_argument(
        "--scenario", required=True, help="a shipped scenario name, or a scenario YAML file"
    )
    p.add_argument(
        "--listen", default="127.0.0.1:10009", help="HOST:PORT to serve on (default %(default)s)"
    )
    p.add_argument(
        "--state-dir",
        required=True,
        help="where tls.cert, tls.key, admin.macaroon and readonly.macaroon are kept",
    )
    p.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="simulated seconds per real second (default 1; 0 freezes the clock)",
    )
    p.add_argument(
        "--start",
        choices=("now", "scenario"),
        help="where the simulated clock starts: 'now' (default, or MCP_SIM_START; the history "
        "ends at the wall clock, as clients reading the wall clock expect) or 'scenario' (its "
        "own date, reproducible channel ids)",
    )
    p.set_defaults(func=cmd_simulate)
