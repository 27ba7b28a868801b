"""What the LND provider reads from the node besides channels: identity, forwards, graph, events."""

from __future__ import annotations

import enum

from .base import Message
from .domain import PeerPolicy


class NodeIdentity(Message):
    """Our own node, as GetInfo reports it."""

    pubkey: str
    """Our node's public key."""
    alias: str
    """Our node's alias."""
    version: str
    """The LND version string (e.g. ``0.18.4-beta``)."""
    block_height: int
    """The best block the node knows."""
    synced_to_chain: bool
    """Whether the node is synced to the chain."""
    num_active_channels: int
    """Channels whose link is up."""
    num_inactive_channels: int
    """Channels whose link is down."""
    supports_inbound_fees: bool
    """Whether this LND version accepts inbound fees (0.18 or later)."""


class ForwardingEvent(Message):
    """One successful forward through our node (LND's ForwardingEvent)."""

    timestamp_ns: int
    """When it settled, in Unix nanoseconds."""
    chan_id_in: int
    """The channel it came in through."""
    chan_id_out: int
    """The channel it left through."""
    amt_in_msat: int
    """Amount received on the incoming channel."""
    amt_out_msat: int
    """Amount sent on the outgoing channel."""
    fee_msat: int
    """Fee earned: ``amt_in_msat - amt_out_msat``."""


class GraphNode(Message):
    """A node of the public channel graph."""

    pubkey: str
    """Its public key."""
    alias: str
    """Its announced alias."""
    address_count: int
    """How many network addresses it announces; a node announcing none cannot be reached for
    new connections."""
    last_update_s: int
    """When it last announced itself (Unix seconds)."""


class GraphEdge(Message):
    """A public channel of the graph, both directions."""

    chan_id: int
    """Short channel id."""
    node1_pubkey: str
    """One end (the lexicographically smaller key, as in BOLT 7)."""
    node2_pubkey: str
    """The other end."""
    capacity_sat: int
    """Channel capacity."""
    node1_policy: PeerPolicy
    """The policy node1 charges to forward towards node2, or why it is unknown."""
    node2_policy: PeerPolicy
    """The policy node2 charges to forward towards node1, or why it is unknown."""


class ChannelGraph(Message):
    """The public graph as our node sees it (DescribeGraph)."""

    taken_at_s: int
    """When it was read (Unix seconds)."""
    nodes: list[GraphNode]
    """Every node."""
    edges: list[GraphEdge]
    """Every channel."""


class ChannelEventKind(enum.Enum):
    """What happened to a channel (SubscribeChannelEvents)."""

    OPENED = "opened"
    """A channel was opened."""
    CLOSED = "closed"
    """A channel was closed."""
    ACTIVE = "active"
    """A channel's link came up."""
    INACTIVE = "inactive"
    """A channel's link went down."""


class ChannelEvent(Message):
    """A change of one of our channels, pushed by the node."""

    kind: ChannelEventKind
    """What happened."""
    channel_point: str
    """The funding outpoint of the channel concerned."""
    at_s: int
    """When the service received it (Unix seconds)."""


class HtlcEventKind(enum.Enum):
    """What happened to an HTLC (Router.SubscribeHtlcEvents)."""

    FORWARD = "forward"
    """An HTLC was forwarded (not yet settled)."""
    SETTLE = "settle"
    """A forwarded HTLC settled."""
    FORWARD_FAIL = "forward_fail"
    """A forward failed downstream."""
    LINK_FAIL = "link_fail"
    """A forward failed at our node (e.g. insufficient outbound balance)."""


NO_FAILURE_DETAIL = "NO_DETAIL"
"""``HtlcEvent.failure_detail`` of an event that carries no failure detail (LND's own name)."""

NO_WIRE_FAILURE = "RESERVED"
"""``HtlcEvent.wire_failure`` of an event that carries no wire failure: the name of
lnrpc.Failure.FailureCode 0, what LND's link failure without one decodes to."""


class HtlcEvent(Message):
    """An HTLC event of a forward through our node (our own payments are not reported: they say
    nothing of routing, and have a channel on one side only)."""

    kind: HtlcEventKind
    """What happened."""
    incoming_chan_id: int
    """The channel the HTLC came in through."""
    outgoing_chan_id: int
    """The channel it was to leave through."""
    timestamp_ns: int
    """When, in Unix nanoseconds."""
    failure_detail: str
    """LND's FailureDetail name: why a link failure happened (``INSUFFICIENT_BALANCE``...);
    ``NO_DETAIL`` (LND's name for it) for the other kinds, which carry none."""
    wire_failure: str
    """The lnrpc.Failure.FailureCode name a link failure sends back to the sender
    (``FEE_INSUFFICIENT``: the sender offered less than our fee, typically with gossip older
    than our last raise; ``TEMPORARY_CHANNEL_FAILURE``...); ``RESERVED`` (the code 0, LND's
    name for none) for the other kinds, which carry none."""
