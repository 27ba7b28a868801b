"""The pipeline actors: ingestion, preprocessing, scorer, decider. Thin shells over pure code."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mcp_optimizer.messages import (
    CentralityUnknown,
    ChannelSnapshot,
    Decision,
    DecisionKind,
    NetworkStats,
    NetworkStatsKnown,
    NetworkStatsUnknown,
)
from mcp_optimizer.messages.actors import (
    ChannelsRead,
    DecidedReply,
    DecideRequest,
    IngestRequest,
    NodeData,
    PeerFactsReply,
    PeerFactsRequest,
    PeerNodeRecord,
    PeerUptime,
    PreprocessRequest,
    ReadChannelsRequest,
    ScoredReply,
    ScoreRequest,
    SnapshotsReply,
    StageError,
)
from mcp_optimizer.messages.forwarding import ForwardingStatsRead, ReadForwardingStatsRequest
from mcp_optimizer.policies.config import Policy
from mcp_optimizer.policies.engine import evaluate_channel
from mcp_optimizer.policies.pricing import expected_gain
from mcp_optimizer.preprocess import snapshots_from_stats
from mcp_optimizer.supervisor.supervisor import ActorContext

from .base import SupervisedActor
from .enrich import lnd_uptimes, peers_of, with_centrality, with_competitors, with_uptime
from .provenance import by_peer, with_fact_sources, with_node_records


def _why(reply: Any) -> str:
    """The reason carried by a failure reply, in words."""
    for attr in ("reason", "error"):
        text = getattr(reply, attr, "")
        if text:
            return f"{getattr(reply, 'actor', '?')}: {text}"
    return f"unexpected reply {type(reply).__name__}"


LND_READ_TIMEOUT_S = 240.0
"""How long ingestion waits for each read of the ``lnd`` actor: a first read of a month of
forwards is 20 or more calls (each with its own deadline), which a busy or small machine
(the load of 8 other jobs on 2 cores, a Raspberry Pi) can take well over 30 s to serve; kept
under the cycle's 300 s stage timeout."""


class IngestionActor(SupervisedActor):
    """Reads channels, then their forwarding aggregates over the cycle's two windows, through
    the ``lnd`` actor (which aggregates its forwarding log: no event crosses actors)."""

    def handle(self, message: Any) -> Any:
        match message:
            case IngestRequest(history_window_s=history_s, recent_window_s=recent_s):
                channels = self.ask_peer("lnd", ReadChannelsRequest(), LND_READ_TIMEOUT_S)
                if not isinstance(channels, ChannelsRead):
                    return self._error(message, f"channels not read ({_why(channels)})")
                now_s = channels.read_at_s
                stats = self.ask_peer(
                    "lnd",
                    ReadForwardingStatsRequest(
                        end_s=now_s,
                        recent_window_s=recent_s,
                        history_window_s=history_s,
                        chan_ids=[c.chan_id for c in channels.channels],
                    ),
                    LND_READ_TIMEOUT_S,
                )
                if not isinstance(stats, ForwardingStatsRead):
                    return self._error(message, f"forwards not read ({_why(stats)})")
                return NodeData(
                    channels=channels.channels,
                    forwarding_stats=stats.stats,
                    forwards_counted=stats.forwards_counted,
                    read_at_s=now_s,
                )
        raise TypeError(f"ingestion cannot handle {type(message).__name__}")

    def _error(self, message: Any, reason: str) -> StageError:
        return StageError(actor=self.ctx.name, request=type(message).__name__, reason=reason)


class PreprocessingActor(SupervisedActor):
    """Runs :func:`mcp_optimizer.preprocess.snapshots_from_stats` on what ingestion read."""

    def handle(self, message: Any) -> Any:
        match message:
            case PreprocessRequest() as m:
                last = {e.chan_id: e.last_change for e in m.last_changes}
                snapshots = snapshots_from_stats(
                    m.data.channels,
                    m.data.forwarding_stats,
                    m.now_s,
                    m.recent_window_s,
                    m.history_window_s,
                    last,
                    {h.chan_id: h.epochs for h in m.price_history},
                )
                return SnapshotsReply(snapshots=snapshots)
        raise TypeError(f"preprocessing cannot handle {type(message).__name__}")


class ScorerActor(SupervisedActor):
    """Fills in peer facts (centrality, uptime, node records) from the provider actors, in
    order; waits up to ``ask_timeout_s`` for each (remote providers may retry for a while)."""

    def __init__(
        self,
        ctx: ActorContext,
        providers: tuple[str, ...] = ("facts",),
        ask_timeout_s: float = 30.0,
    ):
        super().__init__(ctx)
        self.providers = providers
        self.ask_timeout_s = ask_timeout_s

    def handle(self, message: Any) -> Any:
        match message:
            case ScoreRequest(snapshots=snapshots):
                notes: list[str] = []
                complete = True
                records: dict[str, PeerNodeRecord] = {}
                network: NetworkStats = NetworkStatsUnknown(reason="no provider answered")
                if not snapshots:
                    return ScoredReply(
                        snapshots=[],
                        records=[],
                        network=NetworkStatsUnknown(reason="no channels: not asked"),
                        complete=True,
                        notes=[],
                    )
                request = PeerFactsRequest(
                    pubkeys=peers_of(snapshots),
                    now_s=snapshots[0].taken_at_s,
                    lnd_uptime=[
                        PeerUptime(pubkey=p, uptime=u) for p, u in lnd_uptimes(snapshots).items()
                    ],
                    own_chan_ids=[s.channel.chan_id for s in snapshots],
                )
                for provider in self.providers:
                    reply = self.ask_peer(provider, request, self.ask_timeout_s)
                    if not isinstance(reply, PeerFactsReply):
                        notes.append(f"peer facts from {provider} unavailable ({_why(reply)})")
                        complete = False
                        continue
                    snapshots = with_centrality(
                        snapshots, {e.pubkey: e.centrality for e in reply.centrality}
                    )
                    snapshots = with_uptime(snapshots, {e.pubkey: e.uptime for e in reply.uptime})
                    snapshots = with_competitors(
                        snapshots, {e.pubkey: e.fees for e in reply.competitors}
                    )
                    records.update(by_peer(reply.records))
                    if isinstance(reply.network, NetworkStatsKnown) or not isinstance(
                        network, NetworkStatsKnown
                    ):
                        network = reply.network
                    notes += reply.notes
                    complete = complete and reply.complete
                    unknown = sum(
                        1 for e in reply.centrality if isinstance(e.centrality, CentralityUnknown)
                    )
                    if unknown:
                        notes.append(f"{provider}: centrality unknown for {unknown} peer(s)")
                snapshots = with_node_records(snapshots, records)
                return ScoredReply(
                    snapshots=snapshots,
                    records=list(records.values()),
                    network=network,
                    complete=complete,
                    notes=notes,
                )
        raise TypeError(f"scorer cannot handle {type(message).__name__}")


def by_gain(
    decisions: list[Decision], snapshots: list[ChannelSnapshot], policy: Policy
) -> list[Decision]:
    """Fee changes first, largest expected gain first (``pricing.expected_gain``), then the
    rest in snapshot order: the cycle offers them to the gates in this order, so the gossip
    caps hold what earns least."""
    def key(i: int) -> tuple[int, float, int]:
        d = decisions[i]
        if d.kind not in (DecisionKind.INCREASE_FEES, DecisionKind.LOWER_FEES):
            return (1, 0.0, i)
        return (0, -expected_gain(snapshots[i], d.proposed_policy.fee_rate_ppm, policy), i)

    return [decisions[i] for i in sorted(range(len(decisions)), key=key)]


class DeciderActor(SupervisedActor):
    """Runs the pure engine on each snapshot, then says in each decision where its peer's
    record came from (and, for a fee change, the network's fees)."""

    def __init__(
        self,
        ctx: ActorContext,
        policy: Policy | Callable[[], Policy],
        decide: Callable[[ChannelSnapshot, Policy], Decision] = evaluate_channel,
    ):
        super().__init__(ctx)
        self.policy = policy
        """The policy, or a callable giving the current one (the service's ``PolicyDesk``:
        a policy saved on the web page applies from the next request)."""
        self.decide = decide
        """The deciding function: the engine; the backtest passes a baseline strategy's."""

    def handle(self, message: Any) -> Any:
        match message:
            case DecideRequest(snapshots=snapshots, records=records, network=network):
                policy = self.policy() if callable(self.policy) else self.policy
                decisions = [self.decide(s, policy) for s in snapshots]
                decided = with_fact_sources(decisions, snapshots, records, network)
                return DecidedReply(decisions=by_gain(decided, snapshots, policy))
        raise TypeError(f"decider cannot handle {type(message).__name__}")
