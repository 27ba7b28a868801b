"""Facts about the node, its channels and its peers, as read from LND and providers.

Units are in the field names: ``_msat`` millisatoshis, ``_sat`` satoshis, ``_ppm`` parts per
million, ``_s`` seconds (``_at_s``: a Unix time in seconds). Amounts are integers. Where a
fact can be unknown, the type says so with a tagged union: there is no ``None`` anywhere.
"""

from __future__ import annotations

from .base import Message, TaggedMessage
from .graph_facts import CompetitorFeeSummary, CompetitorFeesUnknown


class UptimeKnown(TaggedMessage):
    """A peer's measured availability."""

    ratio_ppm: int
    """Share of the observation period the peer was reachable, in ppm (1_000_000 = always)."""
    source: str
    """Which provider measured it (``lnd``, ``amboss``, ``simulator``...)."""
    observed_at_s: int
    """When the provider measured it (Unix seconds)."""


class UptimeUnknown(TaggedMessage):
    """No provider knows the peer's availability."""

    reason: str
    """Why it is unknown (provider down, peer never seen, data too old...)."""


Uptime = UptimeKnown | UptimeUnknown


class CentralityKnown(TaggedMessage):
    """A peer's betweenness centrality in the public graph."""

    normalized_ppm: int
    """Min-max normalised betweenness, in ppm of the graph's maximum (as LND's GetNodeMetrics)."""
    rank: int
    """1 for the most central node of the graph."""
    source: str
    """Which provider computed it (``local-graph``, ``amboss``...)."""
    observed_at_s: int
    """When it was computed (Unix seconds)."""
    estimated: bool
    """True: estimated from sampled pivots rather than computed exactly (the local graph's
    first computation on a large graph; in a running service the exact one replaces it)."""


class CentralityUnknown(TaggedMessage):
    """No provider knows the peer's centrality."""

    reason: str
    """Why it is unknown."""


Centrality = CentralityKnown | CentralityUnknown


class Node(Message):
    """A peer of our node, as the network sees it."""

    pubkey: str
    """The node's public key, 66 hex characters."""
    alias: str
    """The alias it announces (may be empty)."""
    capacity_sat: int
    """Total capacity of its public channels."""
    channel_count: int
    """Number of its public channels."""
    centrality: Centrality
    """Its betweenness centrality, or why it is unknown."""
    uptime: Uptime
    """Its availability, or why it is unknown."""


class ChannelPolicy(TaggedMessage):
    """One direction's routing policy of a channel (what the forwarding node charges)."""

    base_fee_msat: int
    """Fixed fee per forwarded HTLC."""
    fee_rate_ppm: int
    """Proportional fee, in millionths of the forwarded amount."""
    inbound_base_fee_msat: int
    """Inbound base fee (LND >= 0.18; negative is a discount)."""
    inbound_fee_rate_ppm: int
    """Inbound proportional fee (negative is a discount)."""
    time_lock_delta: int
    """CLTV delta in blocks."""
    min_htlc_msat: int
    """Smallest HTLC forwarded."""
    max_htlc_msat: int
    """Largest HTLC forwarded."""
    disabled: bool
    """Whether this direction is announced as disabled."""
    last_update_s: int
    """When this policy was last announced (Unix seconds)."""


class PolicyUnknown(TaggedMessage):
    """A direction's policy that the node does not know (no update gossiped yet)."""

    reason: str
    """Why it is unknown."""


PeerPolicy = ChannelPolicy | PolicyUnknown


class Channel(Message):
    """One of our channels, from our side."""

    chan_id: int
    """LND's 64-bit short channel id."""
    channel_point: str
    """Funding outpoint ``txid:index``."""
    peer: Node
    """The remote node."""
    capacity_sat: int
    """Channel capacity."""
    local_balance_sat: int
    """Our side's balance (outbound liquidity)."""
    remote_balance_sat: int
    """The peer's side's balance (inbound liquidity)."""
    age_s: int
    """Seconds since the channel was opened."""
    initiator: bool
    """Whether we opened it."""
    active: bool
    """Whether the link with the peer is up now."""
    our_policy: ChannelPolicy
    """What we charge to forward out through this channel."""
    peer_policy: PeerPolicy
    """What the peer charges to forward towards us, or why it is unknown."""


class ForwardingStats(Message):
    """A channel's forwarding over one window ending at the snapshot time."""

    chan_id: int
    """The channel these figures are for."""
    window_s: int
    """Length of the window, in seconds."""
    forwards_in: int
    """Successful forwards that entered through this channel."""
    forwards_out: int
    """Successful forwards that left through this channel."""
    amount_in_msat: int
    """Total amount that entered through this channel."""
    amount_out_msat: int
    """Total amount that left through this channel."""
    fees_earned_msat: int
    """Fees earned on forwards that left through this channel (the outgoing side earns)."""
    failed_htlcs: int
    """Forwards out through this channel that failed, at our node (link failures) or further
    along (forward failures); the kinds below are parts of it, the rest failed otherwise."""
    failed_balance: int
    """Of ``failed_htlcs``: forwards refused at our node because this channel's outbound
    balance could not carry them (LND's link failure ``INSUFFICIENT_BALANCE``): demand the
    channel's liquidity could not serve."""
    failed_downstream: int
    """Of ``failed_htlcs``: forwards that left through this channel and failed further along
    the route (LND's forward failure): not this channel's fault."""
    failed_fee: int
    """Of ``failed_htlcs``: forwards refused at our node because the sender offered less than
    our fee (LND's link failure with wire failure ``FEE_INSUFFICIENT``), typically after a
    raise, by senders whose gossip still had the older, lower fee."""


class LastChangeAt(TaggedMessage):
    """When this service (or anybody) last changed our policy on the channel."""

    at_s: int
    """Unix seconds."""


class NeverChanged(TaggedMessage):
    """No policy change is known for the channel."""


LastChange = LastChangeAt | NeverChanged


class FeeEpoch(Message):
    """A span of time during which our fee on a channel stayed at one level, with what the
    channel earned and routed out at that level (from the journal's changes and the
    forwarding log). The learning engine compares epochs to find the fee that earns most."""

    start_s: int
    """When the fee level took effect, or the start of the observed history (Unix seconds)."""
    end_s: int
    """When it ended (the next change), or the snapshot time for the current level (Unix
    seconds, excluded)."""
    fee_rate_ppm: int
    """Our outgoing proportional fee during the epoch."""
    base_fee_msat: int
    """Our outgoing base fee during the epoch."""
    inbound_fee_rate_ppm: int
    """Our inbound proportional fee during the epoch (negative: a discount)."""
    forwards_out: int
    """Successful forwards that left through the channel during the epoch."""
    amount_out_msat: int
    """Amount that left through the channel during the epoch."""
    fees_earned_msat: int
    """Fees earned on those forwards (the outgoing side earns)."""
    forwards_in: int
    """Successful forwards that entered through the channel during the epoch."""
    failed_balance: int
    """Forwards refused during the epoch because the channel's outbound could not carry them
    (``INSUFFICIENT_BALANCE``): demand the level had but liquidity could not serve."""


NO_COMPETITORS = CompetitorFeesUnknown(
    peer_pubkey="", observed_at_s=0, ignored_count=0, reason="competitor fees not gathered"
)
"""The competitor fees of a snapshot nobody filled in."""


class ChannelSnapshot(Message):
    """Everything one decision about one channel needs, frozen at one time."""

    taken_at_s: int
    """When the snapshot was taken (Unix seconds); the decision uses no other clock."""
    channel: Channel
    """The channel, its peer and both policies."""
    recent: ForwardingStats
    """Forwarding over the under-performance window (48 h by default)."""
    history: ForwardingStats
    """Forwarding over the long window (30 days by default)."""
    last_change: LastChange
    """The last policy change on this channel, for the cooldown."""
    price_history: list[FeeEpoch]
    """The channel's fee levels over the history window, oldest first, the current level
    last, each with what it earned and routed; empty when unknown (no journal or forwarding
    log consulted)."""
    competitors: CompetitorFeeSummary
    """What the other nodes with a channel to the peer charge to forward into it (median and
    quartiles, from the public graph): the market price our fee competes with."""
