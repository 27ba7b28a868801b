"""Provider actors: the LND node (``lnd``), the local-graph centrality (``local_graph``) and the
peer facts through their fallback chains (``facts``).

Expected failures (the node unreachable, a call refused) become a typed :class:`StageError`
reply; anything else is a bug and crashes the actor (a typed ``ActorFailed`` reply, restart).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol

from loguru import logger

from mcp_optimizer.messages import (
    Centrality,
    CentralityKnown,
    CentralityUnknown,
    Channel,
    ChannelGraph,
    ForwardingEvent,
    NetworkStats,
    NetworkStatsUnknown,
    Node,
    Uptime,
    UptimeUnknown,
)
from mcp_optimizer.messages.actors import (
    ChannelsRead,
    GraphRead,
    PeerCentrality,
    PeerCompetitorFees,
    PeerFactsReply,
    PeerFactsRequest,
    PeerNodeRecord,
    PeerUptime,
    ReadChannelsRequest,
    ReadGraphRequest,
    StageError,
)
from mcp_optimizer.messages.forwarding import (
    EpochStatsRead,
    FeeSpan,
    ForwardingStatsRead,
    ReadEpochStatsRequest,
    ReadForwardingStatsRequest,
)
from mcp_optimizer.preprocess import aggregate_epochs, aggregate_windows
from mcp_optimizer.providers.facts import PeerFactsResolver
from mcp_optimizer.providers.lnd.client import ForwardingLog
from mcp_optimizer.providers.lnd.clock import clock_disagreement
from mcp_optimizer.providers.local_graph.process import CentralityProcess
from mcp_optimizer.providers.mempool import MempoolProvider
from mcp_optimizer.supervisor.supervisor import ActorContext

from .base import SupervisedActor
from .enrich import competitors_into
from .failures import FailureLog


class NodeReader(Protocol):
    """What the LND provider actor needs from a node client (``LndClient`` provides it)."""

    def now_s(self) -> int: ...

    def node_time_s(self) -> int: ...

    def list_channels(self) -> list[Channel]: ...

    def forwarding_event_pages(
        self, start_s: int, end_s: int
    ) -> Iterator[list[ForwardingEvent]]: ...

    def describe_graph(self) -> ChannelGraph: ...


class LndActor(SupervisedActor):
    """Reads the node for the other actors."""

    def __init__(
        self,
        ctx: ActorContext,
        client: NodeReader,
        failures: FailureLog,
        expected_errors: tuple[type[BaseException], ...] = (),
        park_path: Path | None = None,
    ) -> None:
        """``park_path``: where the forwarding log waits between reads (on disk, out of the
        service's memory: ``ForwardingLog.park``); None keeps it in memory."""
        super().__init__(ctx)
        self.client = client
        self.failures = failures
        self.expected_errors = expected_errors
        self.park_path = park_path
        self._log: ForwardingLog | None = None
        self._log_start_s = 0

    def handle(self, message: Any) -> Any:
        try:
            match message:
                case ReadChannelsRequest():
                    problem = clock_disagreement(self.client.node_time_s(), self.client.now_s())
                    if problem is not None:
                        return StageError(
                            actor=self.ctx.name, request="ReadChannelsRequest", reason=problem
                        )
                    channels = self.client.list_channels()
                    # The read's time is when it completed: what LND reported during it (an
                    # uptime's observation time) is never dated after the snapshot.
                    return ChannelsRead(channels=channels, read_at_s=self.client.now_s())
                case ReadForwardingStatsRequest() as m:
                    try:
                        return self._forwarding_stats(m)
                    finally:
                        self._park()
                case ReadEpochStatsRequest(spans=spans):
                    try:
                        return self._epoch_stats(spans)
                    finally:
                        self._park()
                case ReadGraphRequest():
                    return GraphRead(graph=self.client.describe_graph())
        except self.expected_errors as exc:
            return StageError(
                actor=self.ctx.name, request=type(message).__name__, reason=str(exc)
            )
        raise TypeError(f"lnd actor cannot handle {type(message).__name__}")

    def _park(self) -> None:
        if self._log is not None and self.park_path is not None:
            try:
                self._log.park(self.park_path)
            except OSError as exc:  # the log simply stays in memory
                logger.warning("cannot keep the forwarding log in {}: {}", self.park_path, exc)

    def _synced_log(self, start_s: int, end_s: int) -> ForwardingLog:
        """The forwarding log holding ``[start_s, end_s)``, fetching only what it does not
        hold yet and forgetting what is older than ``start_s``."""
        if self._log is None or start_s < self._log_start_s:
            self._log = ForwardingLog(start_s)
        self._log.sync(self.client, end_s)
        self._log.prune(start_s)
        self._log_start_s = start_s
        return self._log

    def _forwarding_stats(self, m: ReadForwardingStatsRequest) -> ForwardingStatsRead:
        """Per-channel aggregates over each window, computed on the log's columns by the pure
        :func:`mcp_optimizer.preprocess.aggregate_windows`: no object per forward."""
        windows = [m.recent_window_s, m.history_window_s]
        if min(windows) <= 0:
            raise ValueError(f"forwarding windows must be positive seconds, got {windows}")
        start_s = m.end_s - max(windows)
        columns = self._synced_log(start_s, m.end_s).columns(start_s, m.end_s)
        failures = self.failures.between(start_s, m.end_s)
        per_window = aggregate_windows(m.chan_ids, columns, failures, m.end_s, windows)
        return ForwardingStatsRead(
            stats=[s for by_chan in per_window.values() for s in by_chan.values()],
            forwards_counted=len(columns),
        )


    def _epoch_stats(self, spans: list[FeeSpan]) -> EpochStatsRead:
        """What each fee span earned and routed, from the log the last forwarding read left
        (:func:`mcp_optimizer.preprocess.aggregate_epochs`: one sort, no object per forward);
        spans before the log's start see only what the log holds."""
        if not spans:
            return EpochStatsRead(epochs=[])
        start_s = min(s.start_s for s in spans)
        end_s = max(s.end_s for s in spans)
        if self._log is None:
            self._log = ForwardingLog(start_s)
            self._log_start_s = start_s
        self._log.sync(self.client, end_s)
        lo = max(start_s, self._log_start_s)
        columns = self._log.columns(lo, end_s)
        failures = self.failures.between(lo, end_s)
        return EpochStatsRead(epochs=aggregate_epochs(spans, columns, failures))


CentralityFn = Callable[[ChannelGraph, int], Mapping[str, CentralityKnown]]
_NO_NETWORK_HERE = NetworkStatsUnknown(reason="the local graph gives no network statistics")


class LocalGraphActor(SupervisedActor):
    """Peers' betweenness centrality computed on the graph our node sees.

    With a ``source`` (the service's ``CentralityProcess``: the graph read and the
    centrality computed in a child process, the table kept across actor restarts) it asks
    that. Otherwise it keeps the last graph and its centrality (``compute``) for
    ``max_age_s`` and asks ``lnd`` for a new graph after that. Without either, every peer is
    unknown with the reason.
    """

    def __init__(
        self,
        ctx: ActorContext,
        compute: CentralityFn | None,
        max_age_s: int = 3600,
        unavailable_reason: str = "",
        source: CentralityProcess | None = None,
    ) -> None:
        super().__init__(ctx)
        self.compute = compute
        self.source = source
        self.max_age_s = max_age_s
        self.unavailable_reason = unavailable_reason
        self._computed_at_s = -1
        self._scores: Mapping[str, CentralityKnown] = {}
        self._graph: ChannelGraph | None = None
        """The last graph read: the competitors' fees into each peer are read from it."""
        self._graph_at_s = -1

    def handle(self, message: Any) -> Any:
        match message:
            case PeerFactsRequest(pubkeys=pubkeys, now_s=now_s, own_chan_ids=own):
                return self._centrality(pubkeys, now_s, own)
        raise TypeError(f"local_graph actor cannot handle {type(message).__name__}")

    def _centrality(
        self, pubkeys: list[str], now_s: int, own_chan_ids: list[int]
    ) -> PeerFactsReply:
        def unknown(reason: str) -> PeerFactsReply:
            return PeerFactsReply(
                centrality=[
                    PeerCentrality(pubkey=p, centrality=CentralityUnknown(reason=reason))
                    for p in pubkeys
                ],
                uptime=[],
                records=[],
                network=_NO_NETWORK_HERE,
                complete=False,
                notes=[f"{self.ctx.name}: {reason}"],
                competitors=[],
            )

        if self.source is not None:
            found, why = self.source.lookup(pubkeys, now_s)
            if why:
                return unknown(why)
            return PeerFactsReply(
                centrality=[PeerCentrality(pubkey=p, centrality=found[p]) for p in pubkeys],
                uptime=[],
                records=[],
                network=_NO_NETWORK_HERE,
                complete=True,
                notes=[],
                competitors=[
                    PeerCompetitorFees(pubkey=p, fees=f)
                    for p, f in self.source.competitors(pubkeys).items()
                ],
            )
        if self.compute is None:
            return unknown(self.unavailable_reason or "local-graph centrality is not available")
        if self._computed_at_s < 0 or now_s - self._computed_at_s >= self.max_age_s:
            reply = self.ask_peer("lnd", ReadGraphRequest())
            if not isinstance(reply, GraphRead):
                reason = getattr(reply, "reason", "") or getattr(reply, "error", "")
                return unknown(f"the graph could not be read: {reason}")
            self._scores = self.compute(reply.graph, now_s)
            self._graph, self._graph_at_s = reply.graph, now_s
            self._computed_at_s = now_s
        return PeerFactsReply(
            centrality=self._lookup(pubkeys),
            uptime=[],
            records=[],
            network=_NO_NETWORK_HERE,
            complete=True,
            notes=[],
            competitors=self._competitors(pubkeys, now_s, own_chan_ids),
        )

    def _competitors(
        self, pubkeys: list[str], now_s: int, own_chan_ids: list[int]
    ) -> list[PeerCompetitorFees]:
        """The competitors' fees into each peer from the last graph read, read again from
        ``lnd`` once it is ``max_age_s`` old; none when the graph cannot be read."""
        if self._graph is None or now_s - self._graph_at_s >= self.max_age_s:
            reply = self.ask_peer("lnd", ReadGraphRequest())
            if isinstance(reply, GraphRead):
                self._graph, self._graph_at_s = reply.graph, now_s
        if self._graph is None:
            return []
        fees = competitors_into(self._graph, pubkeys, own_chan_ids)
        return [PeerCompetitorFees(pubkey=p, fees=f) for p, f in fees.items()]

    def _lookup(self, pubkeys: list[str]) -> list[PeerCentrality]:
        out = []
        for p in pubkeys:
            known = self._scores.get(p)
            c: Centrality = (
                known if known is not None
                else CentralityUnknown(reason="peer not in the public graph")
            )
            out.append(PeerCentrality(pubkey=p, centrality=c))
        return out


class FactsActor(SupervisedActor):
    """Peer facts through the fallback chains of :mod:`mcp_optimizer.providers.facts`:
    centrality from the ``local_graph`` actor; uptime from what LND said (given in the
    request); and, when a remote node-record provider is configured (``mempool``: a real LND
    only), each peer's node record from mempool, else LND GetNodeInfo (``lnd_node_info``),
    and the network's statistics from mempool.

    Without ``mempool`` (the simulator: its peers are not on the real network) no node record
    is resolved: the record LND gave at ingestion stands, and the reply's ``records`` is empty.
    """

    def __init__(
        self,
        ctx: ActorContext,
        *,
        freshness: Any,
        metrics: Any,
        amboss: Any,
        wall_clock: Callable[[], float],
        mempool: MempoolProvider | None = None,
        lnd_node_info: Callable[[str], Node] | None = None,
        remote_budget_s: float | None = None,
    ) -> None:
        super().__init__(ctx)
        self.remote_budget_s = remote_budget_s
        """At most this long waiting for remote providers per request: local facts never wait
        on them (None: no limit beyond each call's own deadline)."""
        self._local: dict[str, Centrality] = {}
        self._lnd: dict[str, Uptime] = {}
        self.resolver = PeerFactsResolver(
            freshness=freshness,
            metrics=metrics,
            amboss=amboss,
            mempool=mempool,
            local_centrality=self._local_centrality,
            lnd_node_info=lnd_node_info if mempool is not None else None,
            lnd_uptime=self._lnd_uptime,
            wall_clock=wall_clock,
        )

    def _local_centrality(self, pubkey: str) -> Centrality:
        return self._local.get(pubkey, CentralityUnknown(reason="the local graph gave nothing"))

    def _lnd_uptime(self, pubkey: str) -> Uptime:
        return self._lnd.get(pubkey, UptimeUnknown(reason="LND gave no uptime for this peer"))

    def handle(self, message: Any) -> Any:
        match message:
            case PeerFactsRequest(pubkeys=pubkeys, lnd_uptime=lnd_uptime) as m:
                notes: list[str] = []
                complete = True
                local = self.ask_peer("local_graph", m)
                if isinstance(local, PeerFactsReply):
                    self._local = {e.pubkey: e.centrality for e in local.centrality}
                    notes += local.notes
                    complete = local.complete
                else:
                    self._local = {}
                    why = getattr(local, "reason", "") or getattr(local, "error", "")
                    notes.append(f"local_graph unavailable ({why})")
                    complete = False
                self._lnd = {e.pubkey: e.uptime for e in lnd_uptime}
                facts = self.resolver.resolve_peers(
                    pubkeys, remote_budget_s=self.remote_budget_s)
                records: list[PeerNodeRecord] = []
                network: NetworkStats = NetworkStatsUnknown(
                    reason="no network statistics provider is configured"
                )
                if self.resolver.mempool is not None:
                    records = [
                        PeerNodeRecord(
                            pubkey=p,
                            record=facts[p].node_record,
                            sources=[a for a in facts[p].sources if a.fact == "node_record"],
                        )
                        for p in pubkeys
                    ]
                    network = self.resolver.network_stats()
                return PeerFactsReply(
                    competitors=(
                        local.competitors if isinstance(local, PeerFactsReply) else []
                    ),
                    centrality=[
                        PeerCentrality(pubkey=p, centrality=facts[p].centrality) for p in pubkeys
                    ],
                    uptime=[PeerUptime(pubkey=p, uptime=facts[p].uptime) for p in pubkeys],
                    records=records,
                    network=network,
                    complete=complete,
                    notes=notes,
                )
        raise TypeError(f"facts actor cannot handle {type(message).__name__}")
