"""Verb ``cycle``: one evaluation cycle through the whole pipeline, printed as a table.

Without ``MCP_LND_*`` settings it runs against the embedded simulator, served over LND's real
gRPC interface on loopback, in a fresh temporary data directory (unless ``--data-dir`` is
given), so a first try leaves nothing behind. The service's mode applies: a fresh journal is
in shadow mode, so nothing is written to the node.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import msgspec
from loguru import logger

from mcp_optimizer.logs import add_sink
from mcp_optimizer.messages import CycleOutcome
from mcp_optimizer.policies.config import PolicyError
from mcp_optimizer.runtime.settings import ServiceSettings, SettingsError

from . import fmt
from .evaluate import decision_table
from .main import CliError

_SUCCEEDED = (CycleOutcome.OK, CycleOutcome.PARTIAL)
"""Outcomes for which the command exits 0 (a partial cycle still decided every channel)."""


def cmd_cycle(args: argparse.Namespace) -> int:
    from mcp_optimizer.journal import JournalError
    from mcp_optimizer.runtime.run import open_service
    from mcp_optimizer.simulator.errors import ScenarioError

    env = dict(os.environ)
    if args.policy:
        env["MCP_POLICY_FILE"] = args.policy
    if args.scenario:
        env["MCP_SIM_SCENARIO"] = args.scenario
    env["MCP_SIM_SPEED"] = "0"  # one cycle: the simulated clock stands still
    with tempfile.TemporaryDirectory(prefix="mcp-cycle-") as tmp:
        data_dir = Path(args.data_dir) if args.data_dir else Path(tmp)
        env["MCP_DATA_DIR"] = str(data_dir)
        env.setdefault("MCP_CONTROL_SOCKET", str(Path(tmp) / "control.sock"))
        logger.remove()
        add_sink(sys.stderr, level="WARNING" if not args.verbose else "INFO",
                 format="{level}: {message}")
        try:
            settings = ServiceSettings.from_env(env)
            with open_service(settings, env) as service:
                done = service.runner.run("cycle command")
                outcomes = {o.chan_id: _outcome_cell(o) for o in service.runner.last_outcomes}
                journal = service.actuator.journal
                rows = journal.decisions(cycle_id=done.cycle_id, limit=1_000_000)
                mode = service.actuator.mode().value
                where = service.node_description
        except (PolicyError, SettingsError, JournalError, ScenarioError) as exc:
            raise CliError(str(exc), status=2) from None
    decisions = sorted((d for _, _, d in rows), key=lambda d: d.chan_id)
    if args.json:
        print(msgspec.json.encode({"cycle": done, "decisions": decisions}).decode())
        return 0 if done.outcome in _SUCCEEDED else 1
    print(f"One evaluation cycle against {where}, mode {mode}:")
    if decisions:
        print(decision_table(decisions, outcomes=outcomes))
    print("\n".join(fmt.wrapped("cycle ", f"{done.outcome.value}: {done.detail}")))
    if mode == "shadow":
        print("shadow mode: nothing was written to the node (see `mcp-optimizer mode`).")
    return 0 if done.outcome in _SUCCEEDED else 1


def _outcome_cell(o) -> tuple[str, str]:
    """(what became of the decision, the gate's words): ``("held", "hourly cap ...")``."""
    what = "-" if o.outcome == "no action" else o.outcome.replace("not_executed", "dry-run")
    detail = o.detail.split(": ", 1)[1] if ": " in o.detail else ""
    if o.outcome == "failed":
        detail = o.detail
    return what, detail


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "cycle",
        help="run one evaluation cycle (embedded simulator unless MCP_LND_* is set) and "
        "print the decisions",
    )
    p.add_argument("--policy", help="a policy YAML file laid over the default policy")
    p.add_argument("--scenario", help="simulator scenario name or file (default: demo)")
    p.add_argument("--data-dir", help="keep the journal here (default: a temporary directory)")
    p.add_argument("--json", action="store_true", help="print the cycle and decisions as JSON")
    p.add_argument("--verbose", action="store_true", help="log INFO messages to stderr")
    p.set_defaults(func=cmd_cycle)
