"""Pure helpers of the scorer: which peers to ask about, and filling their facts in."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from mcp_optimizer.messages import (
    Centrality,
    ChannelGraph,
    ChannelSnapshot,
    CompetitorFeeSummary,
    GraphEdge,
    Uptime,
)
from mcp_optimizer.providers.local_graph.fees import competitor_fees


def peers_of(snapshots: Sequence[ChannelSnapshot]) -> list[str]:
    """Distinct peer keys, in first-seen order."""
    seen: dict[str, None] = {}
    for s in snapshots:
        seen.setdefault(s.channel.peer.pubkey, None)
    return list(seen)


def replace_peer(snapshot: ChannelSnapshot, **fields: Any) -> ChannelSnapshot:
    """The snapshot with its peer's ``fields`` replaced, everything else kept."""
    peer = msgspec.structs.replace(snapshot.channel.peer, **fields)
    channel = msgspec.structs.replace(snapshot.channel, peer=peer)
    return msgspec.structs.replace(snapshot, channel=channel)


def with_centrality(
    snapshots: Sequence[ChannelSnapshot], centrality: Mapping[str, Centrality]
) -> list[ChannelSnapshot]:
    """The snapshots with each peer's centrality replaced by ``centrality[pubkey]`` when given
    (a peer not in the mapping keeps what it had)."""
    return [
        replace_peer(s, centrality=centrality[s.channel.peer.pubkey])
        if s.channel.peer.pubkey in centrality else s
        for s in snapshots
    ]


def with_uptime(
    snapshots: Sequence[ChannelSnapshot], uptime: Mapping[str, Uptime]
) -> list[ChannelSnapshot]:
    """The snapshots with each peer's uptime replaced by ``uptime[pubkey]`` when given."""
    return [
        replace_peer(s, uptime=uptime[s.channel.peer.pubkey])
        if s.channel.peer.pubkey in uptime else s
        for s in snapshots
    ]


def lnd_uptimes(snapshots: Sequence[ChannelSnapshot]) -> dict[str, Uptime]:
    """What LND said of each peer's availability (the first channel's figure per peer)."""
    found: dict[str, Uptime] = {}
    for s in snapshots:
        found.setdefault(s.channel.peer.pubkey, s.channel.peer.uptime)
    return found


def with_competitors(
    snapshots: Sequence[ChannelSnapshot], fees: Mapping[str, CompetitorFeeSummary]
) -> list[ChannelSnapshot]:
    """The snapshots with the competitors' fees into each peer, when given."""
    return [
        msgspec.structs.replace(s, competitors=fees[s.channel.peer.pubkey])
        if s.channel.peer.pubkey in fees else s
        for s in snapshots
    ]


def competitors_into(
    graph: ChannelGraph, peers: Sequence[str], own_chan_ids: Sequence[int]
) -> dict[str, CompetitorFeeSummary]:
    """The competitors' fees into each peer (``providers.local_graph.fees``), our own node
    left out: it is the end of our channels that is not one of our peers. One pass over the
    graph's edges, then each peer's own edges only."""
    wanted = set(peers)
    own = set(own_chan_ids)
    ends: set[str] = set()
    by_peer: dict[str, list[GraphEdge]] = {p: [] for p in wanted}
    for e in graph.edges:
        if e.chan_id in own:
            ends.update((e.node1_pubkey, e.node2_pubkey))
        for key in (e.node1_pubkey, e.node2_pubkey):
            if key in by_peer:
                by_peer[key].append(e)
    us = ends - wanted
    return {
        p: competitor_fees(
            ChannelGraph(taken_at_s=graph.taken_at_s, nodes=[], edges=edges), p, exclude=us
        )
        for p, edges in by_peer.items()
    }
