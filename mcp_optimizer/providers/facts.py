"""Fallback chains: each fact about a peer from the first source that gives it, fresh.

| fact | chain | freshness setting |
| --- | --- | --- |
| centrality | local graph | ``MCP_PROVIDER_CENTRALITY_MAX_AGE_S`` |
| node record | mempool -> LND GetNodeInfo | ``MCP_PROVIDER_NODE_MAX_AGE_S`` |
| uptime | LND (the peer's uptime on our channels) | ``MCP_PROVIDER_UPTIME_MAX_AGE_S`` |
| ranks | Amboss | ``MCP_PROVIDER_NODE_MAX_AGE_S`` |
| network statistics | mempool | ``MCP_PROVIDER_STATS_MAX_AGE_S`` |

Amboss is not asked for centrality or uptime: the schema fields for them could not be verified
(see :mod:`mcp_optimizer.providers.amboss` and docs/providers.md), so a query for them could
only be refused. Amboss gives the ranks, the one fact whose fields are verified.

Sources are injected: the remote providers (None when not configured), and plain callables
for the local ones, so that this module works with whatever the local-graph and LND parts
provide. A source that fails, answers "unknown", or answers with data older than the
freshness limit is recorded in a :class:`SourceAttempt` and the next source is asked. When
none gives a fresh value, the fact is explicitly unknown, with every source's reason; the
reason starts with ``stale:`` when a source had data that was only too old.

Nothing here raises for a provider's sake: an outage, a refusal, a malformed answer, or an
exception from an injected callable all end as an unknown fact, so a cycle always completes.

A remote provider's answer is reused for ``MCP_PROVIDER_REUSE_S`` (default 30 min) before the
provider is asked again, so that a cycle every few minutes does not send every peer's queries
every time (the attempt's detail then says ``reused answer from N s ago``); the freshness
limit is still applied to the reused answer's ``observed_at_s``. ``resolve_peers`` resolves
peers on a few threads (the clients are thread-safe; the circuit breakers still bound an
outage's cost).

Local facts never wait on a remote provider: ``resolve_peers`` reads every peer's centrality
and uptime (local graph, LND) first, then asks the remote chains (node record, ranks) for at
most ``remote_budget_s``; a peer whose remote answer is not in by then gets its local facts
and, for the remote ones, an unknown naming the budget (the node record then stays what LND's
channel list gave, and the decisions say so).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any

from mcp_optimizer.messages import (
    Centrality,
    CentralityKnown,
    CentralityUnknown,
    NetworkStats,
    NetworkStatsKnown,
    NetworkStatsUnknown,
    Node,
    NodeRecord,
    NodeRecordKnown,
    NodeRecordUnknown,
    PeerFacts,
    PeerRanks,
    PeerRanksUnknown,
    SourceAttempt,
    SourceOutcome,
    Uptime,
    UptimeUnknown,
)

from .amboss import AmbossProvider
from .http import Freshness, ProviderError, ProviderMetrics
from .http.parsing import check_pubkey
from .mempool import MempoolProvider

FUTURE_TOLERANCE_S = 300
"""Data stamped up to this far in the future (clock skew) is accepted as fresh."""

_KIND_TO_OUTCOME = {
    "unavailable": SourceOutcome.UNAVAILABLE,
    "circuit_open": SourceOutcome.CIRCUIT_OPEN,
    "rejected": SourceOutcome.REJECTED,
    "not_found": SourceOutcome.NOT_FOUND,
    "parse_error": SourceOutcome.PARSE_ERROR,
}

Step = tuple[str, Callable[[], Any] | None]
REMOTE_SOURCES = frozenset({"amboss", "mempool"})
"""Sources whose answers are reused for ``Freshness.reuse_s`` (local ones cache themselves)."""


def centrality_from_map(
    get_map: Callable[[], Mapping[str, CentralityKnown]],
) -> Callable[[str], Centrality]:
    """Adapt a ``pubkey -> CentralityKnown`` mapping getter (the local-graph cache) to a source.

    ``get_map`` is called on every lookup, so that it can return the latest cached result.
    A peer missing from the mapping is unknown to the local graph.
    """

    def lookup(pubkey: str) -> Centrality:
        found = get_map().get(pubkey)
        if found is None:
            return CentralityUnknown(reason="peer not in the local graph")
        return found

    return lookup


def node_record_from_lnd(node: Node, observed_at_s: int) -> NodeRecordKnown:
    """LND's GetNodeInfo answer (as a ``Node``) as a node record read at ``observed_at_s``."""
    return NodeRecordKnown(
        pubkey=node.pubkey,
        alias=node.alias,
        capacity_sat=node.capacity_sat,
        channel_count=node.channel_count,
        source="lnd",
        observed_at_s=observed_at_s,
    )


class PeerFactsResolver:
    """Resolves facts about peers through their fallback chains. Thread-safe if its sources are."""

    def __init__(
        self,
        *,
        freshness: Freshness,
        metrics: ProviderMetrics,
        amboss: AmbossProvider | None = None,
        mempool: MempoolProvider | None = None,
        local_centrality: Callable[[str], Centrality] | None = None,
        lnd_node_info: Callable[[str], Node] | None = None,
        lnd_uptime: Callable[[str], Uptime] | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.freshness = freshness
        self.metrics = metrics
        self.amboss = amboss
        self.mempool = mempool
        self.local_centrality = local_centrality
        self.lnd_node_info = lnd_node_info
        self.lnd_uptime = lnd_uptime
        self._wall_clock = wall_clock
        self._reuse: dict[tuple[str, str, str], tuple[float, Any]] = {}
        self._reuse_lock = threading.Lock()

    # -- the chain ------------------------------------------------------------------------

    def _now(self) -> int:
        return int(self._wall_clock())

    def _run(
        self,
        fact: str,
        key: str,
        steps: list[Step],
        max_age_s: int,
        sources: list[SourceAttempt],
    ) -> tuple[Any, str]:
        """The first fresh known value and its source, or (None, the reason it is unknown)."""
        stale: list[str] = []
        others: list[str] = []
        for index, (source, call) in enumerate(steps):
            at_s = self._now()
            outcome, detail, value = self._reused(fact, source, key, at_s, max_age_s)
            if outcome is not SourceOutcome.USED:
                outcome, detail, value = self._ask(call, at_s, max_age_s, source)
                if outcome is SourceOutcome.USED and source in REMOTE_SOURCES:
                    self._remember(fact, source, key, value)
            sources.append(
                SourceAttempt(fact=fact, source=source, outcome=outcome, detail=detail, at_s=at_s)
            )
            if outcome is SourceOutcome.USED:
                self.metrics.fact_results.labels(fact=fact, source=source).inc()
                return value, ""
            (stale if outcome is SourceOutcome.STALE else others).append(f"{source}: {detail}")
            if index + 1 < len(steps) and outcome is not SourceOutcome.NOT_CONFIGURED:
                self.metrics.fact_fallbacks.labels(fact=fact, source=source).inc()
        self.metrics.fact_results.labels(fact=fact, source="none").inc()
        if stale:
            return None, "stale: " + "; ".join(stale + others)
        return None, "no source could tell: " + "; ".join(others)

    def _reused(
        self, fact: str, source: str, key: str, at_s: int, max_age_s: int
    ) -> tuple[SourceOutcome, str, Any]:
        reuse_s = self.freshness.reuse_s
        if reuse_s <= 0 or source not in REMOTE_SOURCES:
            return SourceOutcome.UNKNOWN, "", None
        with self._reuse_lock:
            found = self._reuse.get((fact, source, key))
        if found is None:
            return SourceOutcome.UNKNOWN, "", None
        fetched_at, value = found
        age = self._wall_clock() - fetched_at
        observed_age = at_s - value.observed_at_s
        if age > reuse_s or age < 0 or observed_age > max_age_s:
            with self._reuse_lock:
                self._reuse.pop((fact, source, key), None)
            return SourceOutcome.UNKNOWN, "", None
        return SourceOutcome.USED, f"reused answer from {int(age)} s ago", value

    def _remember(self, fact: str, source: str, key: str, value: Any) -> None:
        if self.freshness.reuse_s > 0:
            with self._reuse_lock:
                self._reuse[(fact, source, key)] = (self._wall_clock(), value)

    def _ask(
        self, call: Callable[[], Any] | None, at_s: int, max_age_s: int, source: str
    ) -> tuple[SourceOutcome, str, Any]:
        if call is None:
            return SourceOutcome.NOT_CONFIGURED, "not configured", None
        try:
            value = call()
        except ProviderError as exc:
            return _KIND_TO_OUTCOME.get(exc.kind, SourceOutcome.ERROR), exc.reason, None
        except Exception as exc:  # an injected local source failed: report, never crash
            return SourceOutcome.ERROR, f"{type(exc).__name__}: {exc}", None
        observed = getattr(value, "observed_at_s", None)
        if observed is None:
            return SourceOutcome.UNKNOWN, str(getattr(value, "reason", "unknown")), None
        age = at_s - observed
        if age > max_age_s:
            return (
                SourceOutcome.STALE,
                f"data observed {age} s ago, older than the {max_age_s} s limit",
                None,
            )
        if -age > FUTURE_TOLERANCE_S:
            return SourceOutcome.ERROR, f"data stamped {-age} s in the future", None
        return SourceOutcome.USED, "", value

    # -- facts ----------------------------------------------------------------------------

    def centrality(self, pubkey: str, sources: list[SourceAttempt]) -> Centrality:
        """The local graph (Amboss's centrality fields are not verified: not asked)."""
        local = self.local_centrality
        value, reason = self._run(
            "centrality",
            pubkey,
            [("local-graph", (lambda: local(pubkey)) if local else None)],
            self.freshness.centrality_max_age_s,
            sources,
        )
        return value if value is not None else CentralityUnknown(reason=reason)

    def uptime(self, pubkey: str, sources: list[SourceAttempt]) -> Uptime:
        """LND's own view of the peer (Amboss's uptime fields are not verified: not asked)."""
        lnd = self.lnd_uptime
        value, reason = self._run(
            "uptime",
            pubkey,
            [("lnd", (lambda: lnd(pubkey)) if lnd else None)],
            self.freshness.uptime_max_age_s,
            sources,
        )
        return value if value is not None else UptimeUnknown(reason=reason)

    def node_record(self, pubkey: str, sources: list[SourceAttempt]) -> NodeRecord:
        """mempool, then LND's GetNodeInfo."""
        mempool, lnd = self.mempool, self.lnd_node_info

        def from_lnd() -> NodeRecordKnown:
            assert lnd is not None
            return node_record_from_lnd(lnd(pubkey), self._now())

        value, reason = self._run(
            "node_record",
            pubkey,
            [
                ("mempool", (lambda: mempool.node(pubkey)) if mempool else None),
                ("lnd", from_lnd if lnd else None),
            ],
            self.freshness.node_max_age_s,
            sources,
        )
        return value if value is not None else NodeRecordUnknown(pubkey=pubkey, reason=reason)

    def ranks(self, pubkey: str, sources: list[SourceAttempt]) -> PeerRanks:
        """Amboss only (no local equivalent)."""
        amboss = self.amboss
        value, reason = self._run(
            "ranks",
            pubkey,
            [("amboss", (lambda: amboss.ranks(pubkey)) if amboss else None)],
            self.freshness.node_max_age_s,
            sources,
        )
        return value if value is not None else PeerRanksUnknown(reason=reason)

    def network_stats(self, sources: list[SourceAttempt] | None = None) -> NetworkStats:
        """mempool's latest daily statistics."""
        mempool = self.mempool
        value, reason = self._run(
            "network_stats",
            "",
            [("mempool", mempool.network_stats if mempool else None)],
            self.freshness.stats_max_age_s,
            [] if sources is None else sources,
        )
        if value is None:
            return NetworkStatsUnknown(reason=reason)
        assert isinstance(value, NetworkStatsKnown)
        return value

    def resolve_peer(self, pubkey: str) -> PeerFacts:
        """Every fact about one peer; never raises for a provider's sake."""
        resolved_at_s = self._now()
        sources: list[SourceAttempt] = []
        try:
            check_pubkey(pubkey)
        except ValueError as exc:
            reason = str(exc)
            return PeerFacts(
                pubkey=pubkey,
                node_record=NodeRecordUnknown(pubkey=pubkey, reason=reason),
                centrality=CentralityUnknown(reason=reason),
                uptime=UptimeUnknown(reason=reason),
                ranks=PeerRanksUnknown(reason=reason),
                sources=[],
                resolved_at_s=resolved_at_s,
            )
        return PeerFacts(
            pubkey=pubkey,
            node_record=self.node_record(pubkey, sources),
            centrality=self.centrality(pubkey, sources),
            uptime=self.uptime(pubkey, sources),
            ranks=self.ranks(pubkey, sources),
            sources=sources,
            resolved_at_s=resolved_at_s,
        )

    def resolve_peers(
        self,
        pubkeys: Iterable[str],
        *,
        workers: int = 4,
        remote_budget_s: float | None = None,
    ) -> dict[str, PeerFacts]:
        """:meth:`resolve_peer` for each distinct key, on up to ``workers`` threads.

        With ``remote_budget_s``, the local facts of every peer are read first and the remote
        ones waited for at most that long (see the module's docstring). The result is in the
        order of ``pubkeys``; never raises for a provider's sake.
        """
        keys = list(dict.fromkeys(pubkeys))
        if remote_budget_s is None:
            if workers <= 1 or len(keys) <= 1:
                return {key: self.resolve_peer(key) for key in keys}
            with ThreadPoolExecutor(max_workers=min(workers, len(keys))) as pool:
                found = list(pool.map(self.resolve_peer, keys))
            return dict(zip(keys, found, strict=True))
        return self._resolve_within(keys, max(1, workers), remote_budget_s)

    def _resolve_within(
        self, keys: list[str], workers: int, budget_s: float
    ) -> dict[str, PeerFacts]:
        resolved_at_s = self._now()
        local: dict[str, tuple[Centrality, Uptime, list[SourceAttempt]]] = {}
        out: dict[str, PeerFacts] = {}
        for key in keys:
            try:
                check_pubkey(key)
            except ValueError:
                out[key] = self.resolve_peer(key)  # refused at once, every fact unknown
                continue
            sources: list[SourceAttempt] = []
            local[key] = (self.centrality(key, sources), self.uptime(key, sources), sources)

        def remote(key: str) -> tuple[NodeRecord, PeerRanks, list[SourceAttempt]]:
            sources: list[SourceAttempt] = []
            return self.node_record(key, sources), self.ranks(key, sources), sources

        pool = ThreadPoolExecutor(max_workers=min(workers, max(1, len(local))))
        try:
            futures = {key: pool.submit(remote, key) for key in local}
            wait(futures.values(), timeout=max(0.0, budget_s))
        finally:
            pool.shutdown(wait=False, cancel_futures=True)  # late calls end by their deadline
        late = (f"no answer from the remote providers within the {budget_s:g} s they are "
                "given per cycle")
        for key, (centrality, uptime, sources) in local.items():
            future = futures[key]
            if future.done() and not future.cancelled() and future.exception() is None:
                record, ranks, remote_sources = future.result()
            else:
                at_s = self._now()
                record = NodeRecordUnknown(pubkey=key, reason=late)
                ranks = PeerRanksUnknown(reason=late)
                remote_sources = [
                    SourceAttempt(fact=fact, source="remote", outcome=SourceOutcome.UNAVAILABLE,
                                  detail=late, at_s=at_s)
                    for fact in ("node_record", "ranks")
                ]
            out[key] = PeerFacts(
                pubkey=key, node_record=record, centrality=centrality, uptime=uptime,
                ranks=ranks, sources=[*sources, *remote_sources], resolved_at_s=resolved_at_s,
            )
        return {key: out[key] for key in keys}


__all__ = [
    "FUTURE_TOLERANCE_S",
    "PeerFactsResolver",
    "centrality_from_map",
    "node_record_from_lnd",
]
