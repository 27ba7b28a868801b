"""Facts about peers and the network from external providers, and where each one came from.

Each fact is resolved through a fallback chain (centrality: the local graph; node record:
mempool, then LND; uptime: LND; ranks: Amboss). The result says which source produced
it and when (``source``, ``observed_at_s``), or why it is unknown; ``SourceAttempt`` records
every source asked on the way, so that a score can always be explained.
"""

from __future__ import annotations

import enum

from .base import Message, TaggedMessage
from .domain import Centrality, Uptime


class SourceOutcome(enum.Enum):
    """What one source of a fallback chain gave."""

    USED = "used"
    """The source produced the fact."""
    NOT_CONFIGURED = "not_configured"
    """The source is not set up (e.g. no Amboss API key): not asked."""
    UNAVAILABLE = "unavailable"
    """Unreachable or failing (network, timeouts, 5xx, 429) after its retries."""
    CIRCUIT_OPEN = "circuit_open"
    """Not asked: its circuit breaker is open after repeated failures."""
    REJECTED = "rejected"
    """It refused the request (a 4xx other than 404, a GraphQL error)."""
    NOT_FOUND = "not_found"
    """It does not know the peer."""
    PARSE_ERROR = "parse_error"
    """It answered with data of an unexpected shape (missing or wrong-typed field)."""
    STALE = "stale"
    """It answered with data older than the freshness limit."""
    UNKNOWN = "unknown"
    """It answered that the fact is unknown."""
    ERROR = "error"
    """A local source raised an error."""


class SourceAttempt(Message):
    """One source asked for one fact, and what it gave."""

    fact: str
    """The fact: ``centrality``, ``uptime``, ``node_record``, ``ranks`` or ``network_stats``."""
    source: str
    """The source: ``amboss``, ``mempool``, ``local-graph``, ``lnd``."""
    outcome: SourceOutcome
    """What it gave."""
    detail: str
    """The reason in words (the error, the age of stale data); when used: empty, or
    ``reused answer from N s ago`` for a remote answer reused between cycles."""
    at_s: int
    """When it was asked (Unix seconds)."""


class NodeRecordKnown(TaggedMessage):
    """A peer's public record: alias, capacity and channel count as the network sees them."""

    pubkey: str
    """The peer's public key."""
    alias: str
    """Its announced alias (may be empty)."""
    capacity_sat: int
    """Total capacity of its public channels."""
    channel_count: int
    """Number of its public channels (mempool: active ones)."""
    source: str
    """Which source produced it (``mempool``, ``lnd``)."""
    observed_at_s: int
    """When the source was read (Unix seconds)."""


class NodeRecordUnknown(TaggedMessage):
    """No source could give the peer's node record."""

    pubkey: str
    """The peer's public key."""
    reason: str
    """Why it is unknown (each source's failure)."""


NodeRecord = NodeRecordKnown | NodeRecordUnknown


class PeerRanksKnown(TaggedMessage):
    """A peer's size and its rank among all nodes (Amboss)."""

    capacity_sat: int
    """Total capacity of its public channels."""
    capacity_rank: int
    """1 for the node with the most capacity."""
    channel_count: int
    """Number of its public channels."""
    channel_rank: int
    """1 for the node with the most channels."""
    source: str
    """Which source produced it (``amboss``)."""
    observed_at_s: int
    """When the source was read (Unix seconds)."""


class PeerRanksUnknown(TaggedMessage):
    """No source could give the peer's ranks."""

    reason: str
    """Why they are unknown."""


PeerRanks = PeerRanksKnown | PeerRanksUnknown


class NetworkStatsKnown(TaggedMessage):
    """The Lightning Network's size and fee levels (mempool's latest daily statistics)."""

    node_count: int
    """Public nodes."""
    channel_count: int
    """Public channels."""
    total_capacity_sat: int
    """Capacity of all public channels."""
    avg_capacity_sat: int
    """Mean channel capacity."""
    med_capacity_sat: int
    """Median channel capacity."""
    avg_fee_rate_ppm: int
    """Mean proportional fee of channel policies."""
    med_fee_rate_ppm: int
    """Median proportional fee of channel policies."""
    avg_base_fee_msat: int
    """Mean base fee of channel policies."""
    med_base_fee_msat: int
    """Median base fee of channel policies."""
    source: str
    """Which source produced them (``mempool``)."""
    observed_at_s: int
    """When the statistics were computed by the source (Unix seconds)."""


class NetworkStatsUnknown(TaggedMessage):
    """No source could give the network statistics."""

    reason: str
    """Why they are unknown."""


NetworkStats = NetworkStatsKnown | NetworkStatsUnknown


class PeerFacts(Message):
    """Everything the providers know about one peer, each fact with its source or reason."""

    pubkey: str
    """The peer's public key."""
    node_record: NodeRecord
    """Alias, capacity and channel count (mempool, then LND), or why unknown."""
    centrality: Centrality
    """Betweenness centrality (the local graph), or why unknown."""
    uptime: Uptime
    """Availability (LND, the peer's uptime on our channels), or why unknown."""
    ranks: PeerRanks
    """Capacity and channel ranks (Amboss), or why unknown."""
    sources: list[SourceAttempt]
    """Every source asked for every fact, in order."""
    resolved_at_s: int
    """When the facts were resolved (Unix seconds); freshness is judged against it."""
