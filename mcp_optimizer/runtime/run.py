"""``mcp-optimizer run``: the actor tree, the scheduler and the control socket in one process.

Without any ``MCP_LND_*`` variable the service starts the embedded simulator (a simulated node
served over LND's real gRPC interface on 127.0.0.1, a free port) and says so. SIGTERM or SIGINT
stop it cleanly: no new cycle starts, the running one finishes its current write and abandons
the rest, the actors stop in reverse order, the logs are flushed.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loguru import logger

from mcp_optimizer.actors.actuator import ActuatorActor
from mcp_optimizer.actors.failures import FailureLog
from mcp_optimizer.actors.pipeline import (
    DeciderActor,
    IngestionActor,
    PreprocessingActor,
    ScorerActor,
)
from mcp_optimizer.actors.providers import FactsActor, LndActor, LocalGraphActor
from mcp_optimizer.journal import Journal
from mcp_optimizer.logs import LogSettings, configure_service_logging
from mcp_optimizer.messages import ChannelSnapshot, CrashKind, Decision
from mcp_optimizer.metrics.registry import service_registry, watch_service
from mcp_optimizer.notify.format import started_notice
from mcp_optimizer.notify.metrics import NotifyMetrics
from mcp_optimizer.notify.settings import load_notify_settings
from mcp_optimizer.notify.worker import Notifier
from mcp_optimizer.policies.config import Policy
from mcp_optimizer.policies.desk import PolicyDesk
from mcp_optimizer.policies.engine import evaluate_channel
from mcp_optimizer.policies.layers import load_effective
from mcp_optimizer.providers.amboss import AmbossProvider
from mcp_optimizer.providers.http import ProviderMetrics, load_provider_settings
from mcp_optimizer.providers.http.settings import ProviderSettings, RetryPolicy
from mcp_optimizer.providers.lnd.client import LndClient
from mcp_optimizer.providers.lnd.errors import LndError
from mcp_optimizer.providers.lnd.settings import LndSettings
from mcp_optimizer.providers.local_graph.process import CentralityProcess
from mcp_optimizer.providers.mempool import MempoolProvider
from mcp_optimizer.safety.actuator import Actuator
from mcp_optimizer.simulator.scenario import Scenario
from mcp_optimizer.simulator.ticker import Ticker
from mcp_optimizer.supervisor import ChildSpec, Supervisor

from .control_server import prepare_path
from .cycle import CycleRunner
from .memory import freeze_long_lived
from .service import EventFeed, Service
from .settings import ServiceSettings

LOG_FILE = "service.log"
FORWARDS_FILE = "forwards.cols"
"""The forwarding log's columns between cycles (``ForwardingLog.park``): out of memory."""


def centrality_process(
    lnd: LndSettings, clock: Callable[[], float], pivots: int = 0, follow_exact: bool = True
) -> CentralityProcess:
    """The service's local centrality: the graph read and the betweenness computed in a child
    process that exits (the numba kernel and the graph never enter the service), the table
    kept across restarts of the ``local_graph`` actor. The first computation starts now, so
    that the first cycle's ingestion runs meanwhile: an estimate from ``pivots`` sampled
    pivots on a large graph (``MCP_CENTRALITY_PIVOTS``), the exact one following in the
    background unless ``follow_exact`` is False (one cycle and exit: ``cycle``)."""
    centrality = CentralityProcess(lnd, clock, pivots=pivots, follow_exact=follow_exact)
    centrality.refresh()
    return centrality


def child_specs(
    client: LndClient,
    actuator: Actuator,
    policy: Policy | Callable[[], Policy],
    failures: FailureLog,
    facts: FactsSources,
    centrality: CentralityProcess,
    decide: Callable[[ChannelSnapshot, Policy], Decision] = evaluate_channel,
    park_path: Path | None = None,
) -> list[ChildSpec]:
    """The supervision tree's children, providers first (start order; stopped in reverse).
    ``park_path``: where the lnd actor keeps its forwarding log between cycles (on disk).
    ``decide`` is the decider's function (the engine; a backtest strategy's otherwise)."""
    return [
        ChildSpec(name="lnd", factory=lambda ctx: LndActor.start(
            ctx, client, failures, expected_errors=(LndError,), park_path=park_path)),
        ChildSpec(name="local_graph", factory=lambda ctx: LocalGraphActor.start(
            ctx, None, source=centrality)),
        ChildSpec(name="facts", factory=lambda ctx: FactsActor.start(
            ctx, freshness=facts.settings.freshness, metrics=facts.metrics,
            amboss=facts.amboss, mempool=facts.mempool, lnd_node_info=client.node_info,
            wall_clock=client.now_s,
            remote_budget_s=facts_remote_budget_s(facts.settings.retry))),
        ChildSpec(name="ingestion", factory=lambda ctx: IngestionActor.start(ctx)),
        ChildSpec(name="preprocessing", factory=lambda ctx: PreprocessingActor.start(ctx)),
        ChildSpec(name="scorer", factory=lambda ctx: ScorerActor.start(
            ctx, ("facts",), facts_ask_timeout_s(facts.settings.retry))),
        ChildSpec(name="decider", factory=lambda ctx: DeciderActor.start(ctx, policy, decide)),
        ChildSpec(name="actuator", factory=lambda ctx: ActuatorActor.start(ctx, actuator),
                  writes_policy=True),
    ]


@dataclass
class FactsSources:
    """The external providers' clients, built once (they outlive actor restarts). None when
    not used: Amboss without an API key; both with the simulator."""

    settings: ProviderSettings
    metrics: ProviderMetrics
    amboss: AmbossProvider | None
    mempool: MempoolProvider | None


def facts_ask_timeout_s(retry: RetryPolicy) -> float:
    """How long the scorer waits for the facts actor. With a remote provider down, about two
    rounds of calls pay the full budget before its circuit opens (docs/providers.md), for
    mempool (node records, then the network statistics) and Amboss (ranks) in turn; a margin
    covers the local graph. Kept under the cycle's 300 s stage timeout."""
    per_call_s = retry.total_budget_s + retry.read_timeout_s
    return min(280.0, 60.0 + 5 * per_call_s)


def facts_remote_budget_s(retry: RetryPolicy) -> float:
    """How long the facts actor waits for the remote providers' peer answers in one request:
    what the scorer waits, less one call for the network statistics asked after them and a
    margin, so that the local facts (centrality, uptime) always reach the scorer."""
    per_call_s = retry.total_budget_s + retry.read_timeout_s
    return max(1.0, facts_ask_timeout_s(retry) - per_call_s - 30.0)


def start_notifier(
    env: Mapping[str, str], journal: Journal, registry: Any, stack: ExitStack
) -> Notifier | None:
    """The notifier thread (``mcp_optimizer.notify``) when ``MCP_NOTIFY_URLS`` names any URL,
    stopped by ``stack`` (before the journal closes); None otherwise."""
    notify = load_notify_settings(env)
    if not notify.enabled:
        return None
    notifier = Notifier(notify, journal, metrics=NotifyMetrics(registry))
    notifier.start()
    stack.callback(notifier.stop)
    logger.info("notifications to {} ({} an hour at most)", ", ".join(notifier.sender.names),
                notify.max_per_hour)
    return notifier


def configure_logging(
    data_dir: Path, level: str = "INFO", settings: LogSettings | None = None
) -> None:
    """stderr, ``service.log`` and ``service.jsonl`` (``mcp_optimizer.logs``)."""
    configure_service_logging(data_dir, settings or LogSettings(level=level))


@contextmanager
def open_service(
    settings: ServiceSettings,
    environ: Mapping[str, str] | None = None,
    *,
    scenario: Scenario | None = None,
    decide: Callable[[ChannelSnapshot, Policy], Decision] = evaluate_channel,
    progress: Callable[[str], None] = lambda stage: None,
    socket_served: bool = False,
    follow_exact_centrality: bool = True,
) -> Iterator[Service]:
    """Build the whole service (node connection, journal, actuator, supervised actors) and
    tear it down in reverse order on exit. ``Service.main`` runs it; tests also drive
    ``service.runner.run(trigger)`` directly. The backtest (``mcp_optimizer.backtest``) gives
    the simulator's ``scenario`` itself (a seed of its own) and the decider's ``decide``.
    ``progress`` is told each stage as it begins (what ``status`` answers meanwhile,
    ``runtime/start.py``); it may raise to abandon the start (what is built is torn down).
    ``socket_served``: the caller already serves the control socket (``run``), so it is not
    probed for another service here. ``follow_exact_centrality`` False: a first centrality
    estimate is not followed by the exact computation (``cycle``: the process exits after one
    cycle)."""
    env = os.environ if environ is None else environ
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not socket_served:
        prepare_path(settings.socket_path)  # fails fast when a service already runs there
    # default, file, the web page's layer in the data dir, environment (policies/layers.py)
    effective = load_effective(settings.policy_file, settings.data_dir, env)
    policy = effective.policy
    with ExitStack() as stack:
        sim_node = None
        if settings.use_simulator:
            progress(f"starting the embedded simulator (scenario {settings.sim_scenario})")
            from mcp_optimizer.simulator.grpc import start_server
            from mcp_optimizer.simulator.model import SimulatedNode
            from mcp_optimizer.simulator.scenario import load_scenario

            sim_dir = settings.data_dir / "simulator"
            if scenario is not None:  # the backtest's own node: built fresh, never kept
                sim_node = SimulatedNode.from_config(scenario)
            else:
                from mcp_optimizer.simulator import persist

                state_file = persist.state_path(sim_dir)
                sim_node = persist.load(state_file, settings.sim_scenario)
                if sim_node is None:
                    scenario = load_scenario(settings.sim_scenario)
                    if settings.sim_start_now:  # one clock for the operator: it is now
                        scenario = dataclasses.replace(scenario, start_s=int(time.time()))
                    sim_node = SimulatedNode.from_config(scenario)
                else:
                    gap = int(time.time()) - sim_node.now_s()
                    catch_up = settings.sim_start_now and gap > 0
                    logger.info(
                        "resuming the embedded simulator's node kept in {} (scenario {}, {} "
                        "channels){}", state_file, settings.sim_scenario,
                        len(sim_node.channels()),
                        f"; simulating the {gap} s it was stopped" if catch_up else "",
                    )
                    if catch_up:
                        sim_node.advance(gap)
                saver = persist.AutoSaver(
                    sim_node, state_file,
                    on_error=lambda exc: logger.warning(
                        "cannot keep the simulated node in {}: {}", state_file, exc
                    ),
                )
                stack.callback(saver.stop)  # runs after the ticker and the server stopped
                saver.start()
            server = start_server(sim_node, "127.0.0.1:0", sim_dir)
            stack.callback(server.stop)
            ticker = Ticker(
                sim_node,
                settings.sim_speed,
                on_error=lambda exc: logger.opt(exception=exc).error(
                    "the simulator's clock stopped: {}", exc
                ),
            )
            ticker.start()
            stack.callback(ticker.stop)
            lnd_settings = LndSettings(
                host=server.address,
                tls_cert_path=server.tls_cert_path,
                macaroon_path=server.admin_macaroon_path,
            )
            clock = sim_node.now_s  # the client's "now" (observation times): the simulated clock
            description = (
                f"embedded simulator (scenario {settings.sim_scenario}) at {server.address}"
            )
            logger.warning(
                "no LND settings (MCP_LND_*): running against the EMBEDDED SIMULATOR, "
                "scenario {}, at {} ({})",
                settings.sim_scenario, server.address,
                "its clock stands still (MCP_SIM_SPEED=0)" if settings.sim_speed == 0 else
                f"its clock runs {settings.sim_speed:g} simulated s per s (MCP_SIM_SPEED)",
            )
        else:
            lnd_settings = LndSettings.from_env(env)
            progress(f"connecting to LND at {lnd_settings.host}")
            clock = time.time
            description = f"LND at {lnd_settings.host}"
            logger.info("driving LND at {}", lnd_settings.host)
        client = LndClient(lnd_settings, clock=clock)
        stack.callback(client.close)
        provider_settings = load_provider_settings(env)
        registry = service_registry()  # every series the service exports (GET /metrics)
        metrics = ProviderMetrics(registry)
        amboss = None
        mempool = None
        if settings.use_simulator:
            logger.info("external providers are not consulted: the simulator's peers are not "
                        "on the real network")
        else:
            mempool = MempoolProvider.from_settings(provider_settings, metrics)
            if mempool is None:
                logger.info("mempool off (MCP_MEMPOOL_URL=off): peer node records as LND's "
                            "channel list gives them, no network statistics")
            else:
                stack.callback(mempool.close)
                logger.info("peer node records from mempool at {} (LND GetNodeInfo when it "
                            "cannot answer)", provider_settings.mempool_url)
            amboss = AmbossProvider.from_settings(provider_settings, metrics)
            if amboss is None:
                logger.info("Amboss not configured (MCP_AMBOSS_API_KEY): no peer ranks")
            else:
                stack.callback(amboss.close)
        facts = FactsSources(provider_settings, metrics, amboss, mempool)
        progress(f"opening the journal in {settings.data_dir}")
        journal = Journal.open(settings.data_dir, clock=clock)  # one clock: the node's
        stack.callback(journal.close)
        actuator = Actuator(journal, client, policy, settings.data_dir, env)
        stack.callback(actuator.close)
        resolved: list = []
        progress("reconciling interrupted writes with the node")
        try:
            resolved = actuator.reconcile()
            if resolved:
                logger.warning("reconciled {} interrupted write(s) at start", len(resolved))
        except Exception as exc:  # noqa: BLE001 - the node may be down; cycles will retry
            logger.warning("reconciliation at start postponed: {}", exc)
        progress("starting the actors")
        failures = FailureLog()
        centrality = centrality_process(lnd_settings, clock, settings.centrality_pivots,
                                        follow_exact_centrality)
        stack.callback(centrality.close)
        notifier = start_notifier(env, journal, registry, stack)  # None without MCP_NOTIFY_URLS

        def on_crash(name: str, cause: str) -> None:
            actuator.record_crash(CrashKind.ACTOR_RESTART, name, cause)
            if notifier is not None:
                notifier.crashed(name, cause)

        desk = PolicyDesk(journal, effective, settings.data_dir, env, decide=decide)
        supervisor = Supervisor(
            child_specs(client, actuator, desk.current, failures, facts, centrality, decide,
                        park_path=settings.data_dir / FORWARDS_FILE),
            intensity=settings.intensity,
            on_crash=on_crash,
        )
        supervisor.start()
        stack.callback(supervisor.stop)
        timings, close_reader = watch_service(registry, journal.path, supervisor,
                                              actuator.pause_state)
        stack.callback(close_reader)
        runner = CycleRunner(registry=supervisor, journal=journal, policy=policy, wall=clock,
                             observer=timings)
        service = Service(
            supervisor=supervisor,
            actuator=actuator,
            runner=runner,
            schedule=settings.schedule,
            socket_path=settings.socket_path,
            node_description=description,
            events=EventFeed(
                channel_events=client.channel_events,
                htlc_events=client.htlc_events,
                on_htlc=failures.add,
            ),
        )
        service.sim_node = sim_node
        service.notifier = notifier
        if notifier is not None:
            notifier.forwarding = timings.forwarding
            notifier.notice(started_notice(
                description, actuator.mode(), len(actuator.open_crashes()), len(resolved)))
        service.centrality = centrality
        service.client = client
        service.metrics_registry = registry

        def use_policy(new: Policy) -> None:  # a policy saved on the page: the next cycle's
            runner.policy = new
            actuator.policy = new

        desk.on_change(use_policy)
        desk.snapshots = lambda: runner.last_snapshots
        service.policy_desk = desk
        freeze_long_lived()  # what is built now lives as long as the service (runtime/memory.py)
        yield service


from .start import run_service  # noqa: E402,F401 - `run`, kept importable from here
