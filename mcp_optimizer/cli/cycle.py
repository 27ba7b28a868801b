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
import time
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
            progress = _Progress(enabled=args.progress or sys.stderr.isatty())
            where = (f"the node at {env['MCP_LND_HOST']}" if env.get("MCP_LND_HOST") else
                     f"the embedded simulator (scenario {args.scenario or 'demo'})")
            progress.say(f"starting {where}")
            # one cycle, then exit: a first centrality estimate is not followed by the exact one
            with open_service(settings, env, follow_exact_centrality=False) as service:
                progress.inner = service.runner.observer
                service.runner.observer = progress
                progress.say("cycle: ingestion, observation, preprocessing, scoring, decision, "
                             "action")
                done = service.runner.run("cycle command")
                outcomes = {o.chan_id: _outcome_cell(o) for o in service.runner.last_outcomes}
                snapshots = list(service.runner.last_snapshots)
                journal = service.actuator.journal
                rows = journal.decisions(cycle_id=done.cycle_id, limit=1_000_000)
                mode = service.actuator.mode().value
                where = service.node_description
        except (PolicyError, SettingsError, JournalError, ScenarioError) as exc:
            raise CliError(str(exc), status=2) from None
    if args.save_snapshots:
        _save_snapshots(Path(args.save_snapshots), snapshots)
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


class _Progress:
    """Tells on stderr what a long cycle is doing (a 2,000-channel node takes many seconds):
    the start and each stage as it ends, with its duration; passes everything on to the
    service's own cycle observer (the metrics)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.inner = None
        self._t0 = time.monotonic()

    def say(self, text: str) -> None:
        if self.enabled:
            print(f"[{time.monotonic() - self._t0:6.1f} s] {text}", file=sys.stderr, flush=True)

    def stage_done(self, stage: str, seconds: float) -> None:
        self.say(f"{stage} done in {seconds:.1f} s")
        if self.inner is not None:
            self.inner.stage_done(stage, seconds)

    def __getattr__(self, name: str):
        inner = self.__dict__.get("inner")
        return getattr(inner, name) if inner is not None else (lambda *a, **k: None)


def _save_snapshots(where: Path, snapshots: list) -> None:
    """Each channel's snapshot as ``<scid>.json``: inputs for ``evaluate --snapshot``."""
    from mcp_optimizer.scid import scid_text

    try:
        where.mkdir(parents=True, exist_ok=True)
        for snap in snapshots:
            data = msgspec.json.format(msgspec.json.encode(snap), indent=2)
            (where / f"{scid_text(snap.channel.chan_id)}.json").write_bytes(data + b"\n")
    except OSError as exc:
        raise CliError(f"--save-snapshots {where}: {exc.strerror or exc}", 2) from None
    print(f"{len(snapshots)} snapshots written to {where} (try `mcp-optimizer evaluate "
          f"--snapshot {where}/<channel>.json`)", file=sys.stderr)


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
    p.add_argument("--progress", action="store_true",
                   help="tell each stage on stderr as it ends (default when stderr is a terminal)")
    p.add_argument(
        "--save-snapshots", metavar="DIR",
        help="also write each channel's snapshot to DIR/<channel>.json (for `evaluate`)",
    )
    p.set_defaults(func=cmd_cycle)
