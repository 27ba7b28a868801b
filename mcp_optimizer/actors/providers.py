"""Provider actors: the LND node (``lnd``) and the local-graph centrality (``local_graph``).

Expected failures (the node unreachable, a call refused) become a typed :class:`StageError`
reply; anything else is a bug and crashes the actor (a typed ``ActorFailed`` reply, restart).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from mcp_optimizer.messages import (
    Centrality,
    CentralityKnown,
    CentralityUnknown,
    Channel,
    ChannelGraph,
    ForwardingEvent,
)
from mcp_optimizer.messages.actors import (
    ChannelsRead,
    ForwardsRead,
    GraphRead,
    PeerCentrality,
    PeerFactsReply,
    PeerFactsRequest,
    ReadChannelsRequest,
    ReadForwardsRequest,
    ReadGraphRequest,
    StageError,
)
from mcp_optimizer.providers.lnd.client import ForwardingLog
from mcp_optimizer.supervisor.supervisor import ActorContext

from .base import SupervisedActor
from .failures import FailureLog


class NodeReader(Protocol):
    """What the LND provider actor needs from a node client (``LndClient`` provides it)."""

    def now_s(self) -> int: ...

    def list_channels(self) -> list[Channel]: ...

    def forwarding_events(self, start_s: int, end_s: int) -> list[ForwardingEvent]: ...

    def describe_graph(self) -> ChannelGraph: ...


class LndActor(SupervisedActor):
    """Reads the node for the other actors."""

    def __init__(
        self,
        ctx: ActorContext,
        client: NodeReader,
        failures: FailureLog,
        expected_errors: tuple[type[BaseException], ...] = (),
    ) -> None:
        super().__init__(ctx)
        self.client = client
        self.failures = failures
        self.expected_errors = expected_errors
        self._log: ForwardingLog | None = None
        self._log_start_s = 0

    def handle(self, message: Any) -> Any:
        try:
            match message:
                case ReadChannelsRequest():
                    now_s = self.client.now_s()
                    channels = self.client.list_channels()
                    return ChannelsRead(channels=channels, read_at_s=now_s)
                case ReadForwardsRequest(start_s=start, end_s=end):
                    return ForwardsRead(
                        forwards=self._forwards(start, end),
                        failures=self.failures.between(start, end),
                    )
                case ReadGraphRequest():
                    return GraphRead(graph=self.client.describe_graph())
        except self.expected_errors as exc:
            return StageError(
                actor=self.ctx.name, request=type(message).__name__, reason=str(exc)
            )
        raise TypeError(f"lnd actor cannot handle {type(message).__name__}")

    def _forwards(self, start_s: int, end_s: int) -> list[ForwardingEvent]:
        """Forwards of ``[start_s, end_s)``, fetching only what the log does not hold yet."""
        if self._log is None or start_s < self._log_start_s:
            self._log = ForwardingLog(start_s)
        self._log.sync(self.client, end_s)  # type: ignore[arg-type]
        self._log.prune(start_s)
        self._log_start_s = start_s
        return self._log.window(start_s, end_s)


CentralityFn = Callable[[ChannelGraph, int], Mapping[str, CentralityKnown]]


class LocalGraphActor(SupervisedActor):
    """Peers' betweenness centrality computed on the graph our node sees.

    Keeps the last graph and its centrality for ``max_age_s``; asks ``lnd`` for a new graph
    after that. Without a centrality function, every peer is unknown with the reason.
    """

    def __init__(
        self,
        ctx: ActorContext,
        compute: CentralityFn | None,
        max_age_s: int = 3600,
        unavailable_reason: str = "",
    ) -> None:
        super().__init__(ctx)
        self.compute = compute
        self.max_age_s = max_age_s
        self.unavailable_reason = unavailable_reason
        self._computed_at_s = -1
        self._scores: Mapping[str, CentralityKnown] = {}

    def handle(self, message: Any) -> Any:
        match message:
            case PeerFactsRequest(pubkeys=pubkeys, now_s=now_s):
                return PeerFactsReply(centrality=self._centrality(pubkeys, now_s))
        raise TypeError(f"local_graph actor cannot handle {type(message).__name__}")

    def _centrality(self, pubkeys: list[str], now_s: int) -> list[PeerCentrality]:
        def unknown(reason: str) -> list[PeerCentrality]:
            return [
                PeerCentrality(pubkey=p, centrality=CentralityUnknown(reason=reason))
                for p in pubkeys
            ]

        if self.compute is None:
            return unknown(self.unavailable_reason or "local-graph centrality is not available")
        if self._computed_at_s < 0 or now_s - self._computed_at_s >= self.max_age_s:
            reply = self.ask_peer("lnd", ReadGraphRequest())
            if not isinstance(reply, GraphRead):
                reason = getattr(reply, "reason", "") or getattr(reply, "error", "")
                return unknown(f"the graph could not be read: {reason}")
            self._scores = self.compute(reply.graph, now_s)
            self._computed_at_s = now_s
        out = []
        for p in pubkeys:
            known = self._scores.get(p)
            c: Centrality = (
                known if known is not None
                else CentralityUnknown(reason="peer not in the public graph")
            )
            out.append(PeerCentrality(pubkey=p, centrality=c))
        return out
