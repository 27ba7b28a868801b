"""The data dictionary: the only vocabulary between the service's parts.

Every public type here is a frozen msgspec Struct that refuses unknown fields, and has no
optional field. ``docs/data-dictionary.md`` documents every field; a test keeps them in step.
"""

from .base import Message, TaggedMessage
from .decision import (
    ChangeOrigin,
    Decision,
    DecisionKind,
    FactorScore,
    FactorStatus,
    PolicyChange,
)
from .domain import (
    Centrality,
    CentralityKnown,
    CentralityUnknown,
    Channel,
    ChannelPolicy,
    ChannelSnapshot,
    ForwardingStats,
    LastChange,
    LastChangeAt,
    NeverChanged,
    Node,
    PeerPolicy,
    PolicyUnknown,
    Uptime,
    UptimeKnown,
    UptimeUnknown,
)
from .node import (
    ChannelEvent,
    ChannelEventKind,
    ChannelGraph,
    ForwardingEvent,
    GraphEdge,
    GraphNode,
    HtlcEvent,
    HtlcEventKind,
    NodeIdentity,
)

__all__ = [
    "ChannelEvent",
    "ChannelEventKind",
    "ChannelGraph",
    "ForwardingEvent",
    "GraphEdge",
    "GraphNode",
    "HtlcEvent",
    "HtlcEventKind",
    "NodeIdentity",
    "Centrality",
    "CentralityKnown",
    "CentralityUnknown",
    "ChangeOrigin",
    "Channel",
    "ChannelPolicy",
    "ChannelSnapshot",
    "Decision",
    "DecisionKind",
    "FactorScore",
    "FactorStatus",
    "ForwardingStats",
    "LastChange",
    "LastChangeAt",
    "Message",
    "NeverChanged",
    "Node",
    "PeerPolicy",
    "PolicyChange",
    "PolicyUnknown",
    "TaggedMessage",
    "Uptime",
    "UptimeKnown",
    "UptimeUnknown",
]
