"""One backtest run: one strategy on one seed of one scenario, through the service's own path.

The service is built by :func:`mcp_optimizer.runtime.run.open_service`, exactly as ``run``
builds it: the embedded simulator served over LND's gRPC interface on loopback, the LND
client, the journal, the Actuator with every gate, the supervised actors. Only two things are
the backtest's: the scenario is given with the run's seed, and the decider's function is the
strategy's. The mode is ``live``: every change goes intent -> gates -> node -> verify.

The simulated clock stands still during a cycle (``MCP_SIM_SPEED=0``, no ticker) and the
harness steps it: a cycle (``service.runner.run``, as the scheduler starts it every 6 h), then
six simulated hours in steps of one hour. Nothing waits on the wall clock, except for the HTLC
event stream: after each step the harness waits until every failure the simulator emitted has
come through the gRPC stream into the service's failure log (a barrier, so a seed gives the
same run every time).

What is measured comes from the simulator's ground truth (its settled forwards, its failed
attempts, its channels' policies and balances sampled every simulated hour) and is checked
against what the node's interfaces and the journal show: the forwarding history read over gRPC
must hold the same forwards and fees, and the journal's verified changes must be the policy
changes the node saw.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .strategies import DAY_S, ChannelFlow, MarketView, Strategy, make

HOUR_S = 3600
CYCLE_S = 6 * HOUR_S
"""The scheduler's interval (``MCP_CYCLE_INTERVAL_S`` default)."""
DEPLETED_BELOW = 0.05
"""A channel whose local balance is under this share of its capacity counts as depleted."""
STREAM_TIMEOUT_S = 120.0
"""How long the harness waits for the HTLC stream to deliver what the simulator emitted."""
FAILURE_KINDS = ("forward_fail", "link_fail")


class BacktestError(RuntimeError):
    """A run that could not be carried out (the message says which and why)."""


@dataclass(frozen=True)
class RunSpec:
    scenario: str
    """Shipped scenario name or YAML path."""
    seed: int
    days: float
    strategy: str
    """Normalised strategy name of one run (not a grid name, except ``oracle``)."""
    fixed_fees: dict[int, int] | None = None
    """The oracle's fee per chan_id."""
    label: str = ""
    """The name reported (``oracle``, or the strategy)."""


@dataclass
class RunResult:
    """What one run measured (ground truth, checked against the node's and journal's view)."""

    label: str
    strategy: str
    seed: int
    scenario: str
    days: float
    channels: int
    revenue_msat: int
    forwards: int
    failed_by_cause: dict[str, int]
    updates: int
    """Policy changes the node saw (ground truth)."""
    updates_per_channel_day: float
    max_updates_channel_day: int
    """Most changes of one channel within one simulated day."""
    depleted_share: float
    """Share of channel-hours with local balance under 5% of capacity."""
    held_by_gate: dict[str, int]
    refused_by_gate: dict[str, int]
    violations: dict[str, int]
    """Changes outside the bounds, steps larger than allowed, changes within the cooldown."""
    checks: dict[str, bool]
    """Ground truth against what the node's gRPC forwarding history and the journal show."""
    check_detail: list[str]
    cycles: int
    cycle_outcomes: dict[str, int]
    wall_s: float
    # series and per-channel figures (for the plot and the oracle)
    cycle_times_s: list[int] = field(default_factory=list)
    cum_revenue_msat: list[int] = field(default_factory=list)
    chan_ids: list[int] = field(default_factory=list)
    fee_paths: list[list[int]] = field(default_factory=list)
    """Per cycle (after it), each channel's fee rate, in ``chan_ids`` order."""
    competitor_paths: list[list[int]] = field(default_factory=list)
    """Per cycle, each channel's competitor median (-1 unknown), in ``chan_ids`` order."""
    channel_revenue_msat: dict[int, int] = field(default_factory=dict)
    final_fees: dict[int, int] = field(default_factory=dict)

    @property
    def gate_refusals(self) -> int:
        return sum(self.refused_by_gate.values()) + sum(self.held_by_gate.values())

    @property
    def bound_violations(self) -> int:
        return sum(self.violations.values())


def load_seeded(scenario: str, seed: int):
    """The scenario with its seed replaced (each seed: another graph, node and market)."""
    from mcp_optimizer.simulator.scenario import load_scenario

    return dataclasses.replace(load_scenario(scenario), seed=seed)


def _competitor_medians(client, peers: dict[int, str], me: str) -> dict[int, int]:
    """Per chan_id the median fee the peer's other channels charge into it (the graph read
    over gRPC; the same summary as ``providers.local_graph.fees.competitor_fees``)."""
    from mcp_optimizer.messages import ChannelGraph, CompetitorFees
    from mcp_optimizer.providers.local_graph.fees import competitor_fees

    graph = client.describe_graph()
    wanted = set(peers.values())
    by_peer: dict[str, list] = {p: [] for p in wanted}
    for e in graph.edges:
        if e.node1_pubkey in wanted:
            by_peer[e.node1_pubkey].append(e)
        if e.node2_pubkey in wanted and e.node2_pubkey != e.node1_pubkey:
            by_peer[e.node2_pubkey].append(e)
    medians: dict[str, int] = {}
    for peer, edges in by_peer.items():
        sub = ChannelGraph(taken_at_s=graph.taken_at_s, nodes=[], edges=edges)
        summary = competitor_fees(sub, peer, exclude=(me,))
        if isinstance(summary, CompetitorFees):
            medians[peer] = summary.median_fee_rate_ppm
    return {cid: medians[p] for cid, p in peers.items() if p in medians}


class _HtlcFeed:
    """Consumes the node's HTLC event stream over gRPC into the service's failure log (what
    ``Service`` does while running), and keeps each failure for the baselines' view."""

    def __init__(self, service) -> None:
        self.service = service
        self.node = service.sim_node
        self.emitted = 0
        self.received = 0
        self.failures: list[tuple[int, int, str]] = []
        """(timestamp_ns, outgoing chan_id, failure detail) of each failure received."""
        self._cond = threading.Condition()
        self._unsubscribe = self.node.subscribe(self._on_sim_event)
        self.stream = service.client.htlc_events()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._consume, name="backtest-htlc", daemon=True)
        self._thread.start()
        self._wait_subscribed()

    def _on_sim_event(self, event) -> None:
        if getattr(event, "kind", "") in FAILURE_KINDS and hasattr(event, "failure_detail"):
            with self._cond:
                self.emitted += 1

    def _consume(self) -> None:
        try:
            for event in self.stream:
                kept = self.service.events.on_htlc(event)
                if kept:
                    with self._cond:
                        self.failures.append(
                            (event.timestamp_ns, event.outgoing_chan_id, event.failure_detail)
                        )
                        self.received += 1
                        self._cond.notify_all()
        except BaseException as exc:  # noqa: BLE001 - reported by the barrier
            self.error = exc
            with self._cond:
                self._cond.notify_all()

    def _wait_subscribed(self) -> None:
        # The server subscribes its listener when the stream starts; ours is the first one.
        deadline = time.monotonic() + STREAM_TIMEOUT_S
        listeners = getattr(self.node, "_listeners", None)
        while listeners is not None and len(listeners) < 2:
            if time.monotonic() > deadline:
                raise BacktestError("the HTLC event stream did not open within 120 s")
            time.sleep(0.005)
        if listeners is None:  # pragma: no cover - the simulator changed: a safe margin
            time.sleep(1.0)

    def barrier(self) -> None:
        """Wait until every failure the simulator emitted came through the stream."""
        deadline = time.monotonic() + STREAM_TIMEOUT_S
        with self._cond:
            while self.received < self.emitted:
                if self.error is not None:
                    raise BacktestError(f"the HTLC event stream failed: {self.error}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise BacktestError(
                        f"the HTLC event stream delivered {self.received} of {self.emitted} "
                        "failures within 120 s"
                    )
                self._cond.wait(min(left, 1.0))

    def close(self) -> None:
        self._unsubscribe()
        self.stream.cancel()
        self._thread.join(10)


def _flows(log, failures: list[tuple[int, int, str]], now_s: int, ids: list[int]
           ) -> dict[int, ChannelFlow]:
    """Per channel: amounts in and out over 1 and 7 days, insufficient-balance failures."""
    index = {cid: i for i, cid in enumerate(ids)}
    n = len(ids)
    out: dict[str, np.ndarray] = {}
    for days in (1, 7):
        cols = log.columns(now_s - days * DAY_S, now_s)
        for side, chans, amounts in (
            ("in", cols.chan_id_in, cols.amt_in_msat), ("out", cols.chan_id_out, cols.amt_out_msat)
        ):
            idx = np.fromiter((index.get(int(c), n) for c in chans), dtype=np.int64,
                              count=len(chans))
            out[f"{side}_{days}d"] = np.bincount(idx, weights=amounts, minlength=n + 1)[:n]
    fails: Counter[int] = Counter()
    lo = (now_s - DAY_S) * 1_000_000_000
    for ts, chan, detail in reversed(failures):
        if ts < lo:
            break
        if detail == "INSUFFICIENT_BALANCE":
            fails[chan] += 1
    return {
        cid: ChannelFlow(
            in_1d_msat=int(out["in_1d"][i]), out_1d_msat=int(out["out_1d"][i]),
            in_7d_msat=int(out["in_7d"][i]), out_7d_msat=int(out["out_7d"][i]),
            ib_failures_1d=fails.get(cid, 0),
        )
        for i, cid in enumerate(ids)
    }


def _cause(event) -> str:
    """A failure's cause: FEE_INSUFFICIENT (the sender offered less than our fee, stale
    gossip after a raise) or LND's failure detail (INSUFFICIENT_BALANCE...)."""
    wire = getattr(event, "wire_failure", "")
    if wire == "FEE_INSUFFICIENT":
        return wire
    return event.failure_detail or wire or "UNKNOWN"


def _policy_key(p) -> tuple[int, int, int, int]:
    return (p.fee_rate_ppm, p.base_fee_msat, p.inbound_fee_rate_ppm, p.inbound_base_fee_msat)


def _violations(before, after, policy, last_change: dict[int, int], now_s: int,
                counts: Counter[str]) -> list[int]:
    """Check every policy that changed against the bounds, the step and the cooldown; returns
    the chan_ids that changed."""
    b, st = policy.bounds, policy.steps
    changed = []
    for cid, new in after.items():
        old = before.get(cid)
        if old is None or _policy_key(old) == _policy_key(new):
            continue
        changed.append(cid)
        if not b.min_fee_rate_ppm <= new.fee_rate_ppm <= b.max_fee_rate_ppm:
            counts["fee_rate_bounds"] += 1
        if not b.min_base_fee_msat <= new.base_fee_msat <= b.max_base_fee_msat:
            counts["base_fee_bounds"] += 1
        if not b.min_inbound_fee_rate_ppm <= new.inbound_fee_rate_ppm <= \
                b.max_inbound_fee_rate_ppm:
            counts["inbound_rate_bounds"] += 1
        if not b.min_inbound_base_fee_msat <= new.inbound_base_fee_msat <= \
                b.max_inbound_base_fee_msat:
            counts["inbound_base_bounds"] += 1
        if abs(new.fee_rate_ppm - old.fee_rate_ppm) > st.max_fee_rate_step_ppm or abs(
            new.inbound_fee_rate_ppm - old.inbound_fee_rate_ppm
        ) > st.max_fee_rate_step_ppm:
            counts["fee_rate_step"] += 1
        if abs(new.base_fee_msat - old.base_fee_msat) > st.max_base_fee_step_msat:
            counts["base_fee_step"] += 1
        prev = last_change.get(cid)
        if prev is not None and now_s - prev < policy.cooldown_s:
            counts["cooldown"] += 1
        last_change[cid] = now_s
    return changed


def _env(data_dir: Path, scenario: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MCP_LND_")}
    env.update(
        MCP_DATA_DIR=str(data_dir),
        MCP_CONTROL_SOCKET=str(data_dir / "control.sock"),
        MCP_SIM_SPEED="0",
        MCP_SIM_START="scenario",
        MCP_SIM_SCENARIO=scenario,
    )
    env.pop("MCP_PAUSED", None)
    return env


def run_one(spec: RunSpec, progress: Callable[[int], None] = lambda n: None) -> RunResult:
    """Run ``spec``; ``progress(cycles_done)`` is called after each cycle."""
    from loguru import logger

    from mcp_optimizer.journal import JournalError
    from mcp_optimizer.messages import ChangeState, GateEffect, Mode
    from mcp_optimizer.policies.config import PolicyError
    from mcp_optimizer.providers.lnd.client import ForwardingLog
    from mcp_optimizer.runtime.run import open_service
    from mcp_optimizer.runtime.settings import ServiceSettings, SettingsError

    started = time.monotonic()
    logger.remove()  # the service's INFO lines would drown the progress bar
    scenario = load_seeded(spec.scenario, spec.seed)
    strategy: Strategy = make(spec.strategy, spec.fixed_fees)
    n_cycles = max(1, int(round(spec.days * DAY_S / CYCLE_S)))
    with tempfile.TemporaryDirectory(prefix="mcp-bt-") as tmp:
        data_dir = Path(tmp)
        env = _env(data_dir, spec.scenario)
        try:
            settings = ServiceSettings.from_env(env)
            service_cm = open_service(settings, env, scenario=scenario, decide=strategy)
            service = service_cm.__enter__()
        except (PolicyError, SettingsError, JournalError) as exc:
            raise BacktestError(str(exc)) from None
        try:
            return _drive(spec, service, strategy, n_cycles, progress, started,
                          ForwardingLog, Mode, ChangeState, GateEffect)
        finally:
            service_cm.__exit__(None, None, None)


def _drive(spec, service, strategy, n_cycles, progress, started,
           ForwardingLog, Mode, ChangeState, GateEffect) -> RunResult:
    node = service.sim_node
    client = service.client
    policy = service.runner.policy
    journal = service.actuator.journal
    service.actuator.set_mode(Mode.LIVE, "backtest", "the backtest runs in live mode")
    start_s = node.now_s()
    channels = node.channels()
    ids = [c.chan_id for c in channels]
    peers = {c.chan_id: c.remote_pubkey for c in channels}
    capacity = np.array([c.capacity_sat for c in channels], dtype=np.float64)
    feed = _HtlcFeed(service)
    log = ForwardingLog(start_s - 7 * DAY_S) if strategy.needs_view else None
    violations: Counter[str] = Counter()
    last_change: dict[int, int] = {}
    change_days: Counter[tuple[int, int]] = Counter()
    outcomes: Counter[str] = Counter()
    depleted_hours = 0
    sampled_hours = 0
    cycle_times: list[int] = []
    fee_paths: list[list[int]] = []
    comp_paths: list[list[int]] = []
    medians: dict[int, int] = {}
    updates = 0
    first_failure = ""
    try:
        for k in range(n_cycles):
            now = node.now_s()
            if (now - start_s) % DAY_S == 0:  # the competitors' fees, once a simulated day
                medians = _competitor_medians(client, peers, node.identity_pubkey)
            view = MarketView(now_s=now, competitor_median_ppm=medians)
            if log is not None:
                log.sync(client, now)
                view.flows = _flows(log, feed.failures, now, ids)
            strategy.prepare(view)
            before = {c.chan_id: c.local_policy for c in node.channels()}
            done = service.runner.run("backtest")
            outcomes[done.outcome.value] += 1
            if done.outcome.value == "failed" and not first_failure:
                first_failure = f"cycle {k + 1}: {done.detail}"
            after_channels = node.channels()
            after = {c.chan_id: c.local_policy for c in after_channels}
            changed = _violations(before, after, policy, last_change, now, violations)
            updates += len(changed)
            for cid in changed:
                change_days[(cid, (now - start_s) // DAY_S)] += 1
            cycle_times.append(now)
            fee_paths.append([after[cid].fee_rate_ppm for cid in ids])
            comp_paths.append([medians.get(cid, -1) for cid in ids])
            for _ in range(CYCLE_S // HOUR_S):
                node.advance(HOUR_S)
                local = np.array([c.local_balance_sat for c in node.channels()], dtype=np.float64)
                depleted_hours += int(np.sum(local < DEPLETED_BELOW * capacity))
                sampled_hours += len(ids)
            feed.barrier()
            progress(k + 1)
        end_s = node.now_s()
        final = {c.chan_id: c.local_policy.fee_rate_ppm for c in node.channels()}
    finally:
        feed.close()

    # Ground truth: the simulator's own record.
    cols = node.forwards(start_s, end_s).columns
    fees = cols.fee_msat.astype(np.int64)
    revenue = int(fees.sum())
    bins = np.searchsorted(cols.timestamp_ns, np.array(cycle_times[1:] + [end_s]) * 10**9)
    cum = np.concatenate([[0], np.cumsum(fees)])[bins]
    per_channel: Counter[int] = Counter()
    for cid, fee in zip(cols.chan_id_out.tolist(), fees.tolist(), strict=True):
        per_channel[int(cid)] += fee
    failed = Counter(_cause(e) for e in node.htlc_failures(start_s, end_s))

    # What the node's interface and the journal show.
    checks: dict[str, bool] = {"cycles_ran": outcomes.get("failed", 0) == 0}
    detail: list[str] = [
        f"{outcomes.get('failed', 0)} of {n_cycles} cycles failed"
        + (f" (first: {first_failure})" if first_failure else "")
    ]
    grpc_log = ForwardingLog(start_s)
    grpc_log.sync(client, end_s)
    gcols = grpc_log.columns(start_s, end_s)
    g_fees, g_count = int(gcols.fee_msat.sum()), len(gcols)
    checks["forwarding_history_agrees"] = g_fees == revenue and g_count == len(cols)
    detail.append(f"forwarding history over gRPC: {g_count} forwards, {g_fees} msat; "
                  f"simulator: {len(cols)} forwards, {revenue} msat")
    fails_seen = feed.received
    checks["failure_stream_agrees"] = fails_seen == sum(failed.values())
    detail.append(f"failures through the HTLC stream: {fails_seen}; simulator: "
                  f"{sum(failed.values())}")
    records = journal.changes(since_s=start_s)
    verified = sum(1 for r in records if r.state is ChangeState.VERIFIED)
    checks["journal_agrees"] = verified == updates
    detail.append(f"journal: {verified} verified changes; node: {updates} policy changes")
    held: Counter[str] = Counter()
    refused: Counter[str] = Counter()
    for r in records:
        if r.state in (ChangeState.HELD, ChangeState.REFUSED):
            target = held if r.state is ChangeState.HELD else refused
            gates = [s.gate.value for s in r.stopped_by] or ["unnamed"]
            for g in gates:
                target[g] += 1
    days_run = (end_s - start_s) / DAY_S
    return RunResult(
        label=spec.label or strategy.name,
        strategy=spec.strategy,
        seed=spec.seed,
        scenario=spec.scenario,
        days=days_run,
        channels=len(ids),
        revenue_msat=revenue,
        forwards=int(len(cols)),
        failed_by_cause=dict(failed),
        updates=updates,
        updates_per_channel_day=updates / (len(ids) * days_run) if ids else 0.0,
        max_updates_channel_day=max(change_days.values(), default=0),
        depleted_share=depleted_hours / sampled_hours if sampled_hours else 0.0,
        held_by_gate=dict(held),
        refused_by_gate=dict(refused),
        violations=dict(violations),
        checks=checks,
        check_detail=detail,
        cycles=n_cycles,
        cycle_outcomes=dict(outcomes),
        wall_s=time.monotonic() - started,
        cycle_times_s=cycle_times,
        cum_revenue_msat=[int(x) for x in cum],
        chan_ids=ids,
        fee_paths=fee_paths,
        competitor_paths=comp_paths,
        channel_revenue_msat=dict(per_channel),
        final_fees=final,
    )
