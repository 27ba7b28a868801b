"""What actors say to each other: requests, replies, and the typed failure replies.

Every ask between actors gets one of its reply types, or :class:`ActorFailed` (the actor
crashed while handling this very request: it is being restarted), or :class:`ActorUnavailable`
(the actor was not running, or did not answer in time). A request is never silently lost.
"""

from __future__ import annotations

from .base import Message, TaggedMessage
from .decision import Decision, DecisionKind
from .domain import (
    Centrality,
    Channel,
    ChannelSnapshot,
    FeeEpoch,
    ForwardingStats,
    LastChange,
    Uptime,
)
from .forwarding import FeeSpan
from .graph_facts import CompetitorFeeSummary
from .journal import ChangeRecord
from .node import ChannelGraph
from .provider_facts import NetworkStats, NodeRecord, SourceAttempt

ACTOR_PROTOCOL_VERSION = 1
"""Version of the actor message set; raised when a field changes meaning."""


class ActorFailed(TaggedMessage):
    """The actor crashed while handling the request; it is restarted, the request is not."""

    actor: str
    """Name of the actor that crashed (its name in the supervisor's registry)."""
    request: str
    """Type name of the request it was handling."""
    error_type: str
    """Class name of the exception that escaped."""
    error: str
    """The exception's message."""
    at_s: int
    """When it crashed (Unix seconds)."""


class ActorUnavailable(TaggedMessage):
    """The request was not handled: the actor was not running or did not answer in time."""

    actor: str
    """Name of the actor asked."""
    request: str
    """Type name of the request."""
    reason: str
    """Why it was not handled, in words (stopped, restarting, no reply within N s...)."""
    at_s: int
    """When the asker gave up (Unix seconds)."""


ActorFailure = ActorFailed | ActorUnavailable


class StageError(TaggedMessage):
    """An expected failure, not a crash: the actor is fine but could not do what was asked
    (the node unreachable, a provider down...). Nothing is restarted."""

    actor: str
    """Name of the actor that answers."""
    request: str
    """Type name of the request."""
    reason: str
    """What went wrong, in one sentence."""


# ------------------------------------------------------------------- LND provider actor (lnd)
class ReadChannelsRequest(TaggedMessage):
    """Ask the LND provider for our channels (ListChannels plus both policies)."""


class ChannelsRead(TaggedMessage):
    """Our open channels."""

    channels: list[Channel]
    """Every open channel, with its peer and both directions' policies."""
    read_at_s: int
    """The node's time when the read completed (Unix seconds; the simulated clock on the
    simulator): nothing in ``channels`` is dated after it."""


class ReadGraphRequest(TaggedMessage):
    """Ask the LND provider for the public graph (DescribeGraph)."""


class GraphRead(TaggedMessage):
    """The public graph."""

    graph: ChannelGraph
    """Nodes and channels as our node sees them."""


# --------------------------------------------------------------------------- ingestion
class IngestRequest(TaggedMessage):
    """Read everything one cycle needs from the node; the node's clock is the cycle's time."""

    history_window_s: int
    """How far back forwards are read (the long window)."""
    recent_window_s: int
    """The short window forwards are also aggregated over (the under-performance window)."""


class NodeData(TaggedMessage):
    """What ingestion read for one cycle: the channels and their forwarding aggregates (never
    the forwarding events themselves, a million on a big node)."""

    channels: list[Channel]
    """Our open channels."""
    forwarding_stats: list[ForwardingStats]
    """Each channel's forwards and HTLC failures (as far as the event stream saw them) over
    the recent and the history windows, both ending at ``read_at_s``."""
    forwards_counted: int
    """How many forwards the history window held (all channels)."""
    read_at_s: int
    """The node's time when the channels were read: the cycle's "now" (Unix seconds)."""


# ----------------------------------------------------------------------- preprocessing
class ChannelLastChange(Message):
    """The last policy change known for a channel (from the journal)."""

    chan_id: int
    """The channel."""
    last_change: LastChange
    """When, or never."""


class ChannelPriceHistory(Message):
    """A channel's fee epochs over the history window, oldest first, the current one last."""

    chan_id: int
    """The channel."""
    epochs: list[FeeEpoch]
    """Its fee levels with what each earned and routed."""


class PreprocessRequest(TaggedMessage):
    """Turn raw node data into one snapshot per channel."""

    data: NodeData
    """What ingestion read."""
    now_s: int
    """The snapshot time."""
    recent_window_s: int
    """The under-performance window."""
    history_window_s: int
    """The long window."""
    last_changes: list[ChannelLastChange]
    """Last change per channel (channels not listed never changed)."""
    price_history: list[ChannelPriceHistory]
    """Fee epochs per channel with what each earned (channels not listed: none known)."""


class SnapshotsReply(TaggedMessage):
    """Snapshots, one per channel."""

    snapshots: list[ChannelSnapshot]
    """In channel order."""


# ---------------------------------------------------------------------- scorer / providers
class ScoreRequest(TaggedMessage):
    """Fill in the peer facts the decision weighs (centrality...) from provider actors."""

    snapshots: list[ChannelSnapshot]
    """Snapshots whose peers' facts are to be filled in."""


class PeerUptime(Message):
    """One peer's availability, or why it is unknown."""

    pubkey: str
    """The peer."""
    uptime: Uptime
    """Known, or unknown with the reason."""


class PeerFactsRequest(TaggedMessage):
    """Ask a provider actor for facts about peers."""

    pubkeys: list[str]
    """The peers."""
    now_s: int
    """The cycle's time."""
    lnd_uptime: list[PeerUptime]
    """What LND says of each peer's availability (the last resort of the uptime chain)."""
    own_chan_ids: list[int]
    """Our channels' ids: in the graph, their end that is not a peer is our own node, which
    is left out of the competitors into each peer."""


class PeerCompetitorFees(Message):
    """What the other nodes charge to forward into one peer (from the public graph)."""

    pubkey: str
    """The peer."""
    fees: CompetitorFeeSummary
    """Median and quartiles of their fees, or why unknown."""


class PeerCentrality(Message):
    """One peer's centrality, or why it is unknown."""

    pubkey: str
    """The peer."""
    centrality: Centrality
    """Known, or unknown with the reason."""


class PeerNodeRecord(Message):
    """One peer's public record from the node-record chain (mempool, then LND GetNodeInfo)."""

    pubkey: str
    """The peer."""
    record: NodeRecord
    """Alias, capacity and channel count with the source that gave them, or why unknown."""
    sources: list[SourceAttempt]
    """Every source asked for this record, in order (why a fallback was taken)."""


class PeerFactsReply(TaggedMessage):
    """Facts about the requested peers (every requested peer is listed)."""

    centrality: list[PeerCentrality]
    """One entry per requested peer."""
    uptime: list[PeerUptime]
    """Availability per peer, for the peers this provider knows about (may be empty)."""
    records: list[PeerNodeRecord]
    """Node records of the requested peers; empty when this provider has no remote source for
    them (the record LND gave at ingestion then stands)."""
    network: NetworkStats
    """The network's statistics, or why this provider does not know them."""
    complete: bool
    """False when a source this provider relies on could not answer at all."""
    notes: list[str]
    """What could not be obtained, in words."""
    competitors: list[PeerCompetitorFees]
    """The competitors' fees into each requested peer, when this provider reads the graph
    (empty otherwise)."""


class ScoredReply(TaggedMessage):
    """Snapshots with peer facts filled in, and notes on what could not be filled."""

    snapshots: list[ChannelSnapshot]
    """In the order given; each peer's alias, capacity and channel count replaced by its known
    node record."""
    records: list[PeerNodeRecord]
    """The node records used (or why unknown), with their sources, for the decisions."""
    network: NetworkStats
    """The network's statistics, or why unknown."""
    complete: bool
    """True when every provider actor answered (facts may still be unknown, with reasons)."""
    notes: list[str]
    """What a provider could not give (the facts stay unknown, with the reason)."""


# ------------------------------------------------------------------------------ decider
class DecideRequest(TaggedMessage):
    """Evaluate each snapshot with the policy."""

    snapshots: list[ChannelSnapshot]
    """The snapshots."""
    records: list[PeerNodeRecord]
    """Peers' node records and their sources (each decision says where its peer's came from)."""
    network: NetworkStats
    """The network's statistics (fee changes quote them), or why unknown."""


class DecidedReply(TaggedMessage):
    """One decision per snapshot."""

    decisions: list[Decision]
    """Fee changes first, largest expected gain first (the order the gates, and so the
    gossip caps, see them), then the others in snapshot order."""


# ----------------------------------------------------------------------------- actuator
class ObserveRequest(TaggedMessage):
    """Compare the node's policies with the journal; record external changes."""

    channels: list[Channel]
    """The channels as just read."""


class ObservedReply(TaggedMessage):
    """External changes found."""

    external: list[ChangeRecord]
    """Changes made on the node by someone else, now journaled."""


class LastChangesRequest(TaggedMessage):
    """Ask the journal for each channel's last counted change (for the cooldown)."""

    chan_ids: list[int]
    """The channels."""


class FeeSpansRequest(TaggedMessage):
    """Ask the journal for each channel's fee levels over ``[start_s, end_s)``."""

    chan_ids: list[int]
    """The channels."""
    start_s: int
    """Start of the window (Unix seconds)."""
    end_s: int
    """End of the window, the cycle's "now" (Unix seconds, excluded)."""
    current: list[ChannelPointPolicy]
    """Each channel's policy on the node now (its last span's level)."""


class ChannelPointPolicy(Message):
    """A channel's policy as the node shows it now, and how long it has been open."""

    chan_id: int
    """The channel."""
    fee_rate_ppm: int
    """Its outgoing proportional fee now."""
    base_fee_msat: int
    """Its outgoing base fee now."""
    inbound_fee_rate_ppm: int
    """Its inbound proportional fee now."""
    opened_at_s: int
    """When it was opened (no span starts before)."""


class FeeSpansReply(TaggedMessage):
    """Every requested channel's fee spans, channel by channel, oldest first."""

    spans: list[FeeSpan]
    """The spans (each channel has at least its current level's)."""


class LastChangesReply(TaggedMessage):
    """Each requested channel's last change."""

    entries: list[ChannelLastChange]
    """One per requested channel."""


class ChannelPoint(Message):
    """A channel id and its funding outpoint."""

    chan_id: int
    """The channel."""
    channel_point: str
    """``txid:index``."""


class WritesAllowed(TaggedMessage):
    """Normal operation: each decision goes through the gates and, if they pass, to the node."""


class WritesHeld(TaggedMessage):
    """Safe mode: each decision is journaled, its change HELD by the ``safe_mode`` gate, and
    nothing is read from or written to the node."""

    reason: str
    """Why the supervisor escalated (the restart intensity that was exceeded), in words."""


WritePermission = WritesAllowed | WritesHeld


class ActuateRequest(TaggedMessage):
    """Journal the decisions and act on them through the gates, in order. Those that write
    nothing to the node are journaled in one transaction; the reply stops after the first
    live write, and the rest are asked again."""

    cycle_id: int
    """The journal's cycle id."""
    decisions: list[Decision]
    """The cycle's decisions."""
    channel_points: list[ChannelPoint]
    """Outpoint of each decided channel (writes address channels by outpoint)."""
    writes: WritePermission
    """Whether the decisions may go through the write path, or are held by safe mode."""


class ActuationOutcome(Message):
    """What became of one decision."""

    chan_id: int
    """The channel."""
    kind: DecisionKind
    """The decision's kind."""
    outcome: str
    """``no action``, ``failed`` (the node could not be read), or the state of the change
    journaled for it (verified, held, refused, shadowed...)."""
    detail: str
    """Gate that stopped it, error, or change id, in words."""


class ActuationReport(TaggedMessage):
    """One outcome per decision handled."""

    outcomes: list[ActuationOutcome]
    """In decision order: for every decision asked, or for those up to and including the
    first live write (the rest were not handled)."""
