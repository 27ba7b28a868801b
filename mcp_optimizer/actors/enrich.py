"""Pure helpers of the scorer: which peers to ask about, and filling their facts in."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import msgspec

from mcp_optimizer.messages import Centrality, ChannelSnapshot, Uptime


def peers_of(snapshots: Sequence[ChannelSnapshot]) -> list[str]:
    """Distinct peer keys, in first-seen order."""
    seen: dict[str, None] = {}
    for s in snapshots:
        seen.setdefault(s.channel.peer.pubkey, None)
    return list(seen)


def with_centrality(
    snapshots: Sequence[ChannelSnapshot], centrality: Mapping[str, Centrality]
) -> list[ChannelSnapshot]:
    """The snapshots with each peer's centrality replaced by ``centrality[pubkey]`` when given
    (a peer not in the mapping keeps what it had)."""
    out = []
    for s in snapshots:
        c = centrality.get(s.channel.peer.pubkey)
        if c is None:
            out.append(s)
            continue
        peer = msgspec.structs.replace(s.channel.peer, centrality=c)
        channel = msgspec.structs.replace(s.channel, peer=peer)
        out.append(msgspec.structs.replace(s, channel=channel))
    return out


def with_uptime(
    snapshots: Sequence[ChannelSnapshot], uptime: Mapping[str, Uptime]
) -> list[ChannelSnapshot]:
    """The snapshots with each peer's uptime replaced by ``uptime[pubkey]`` when given."""
    out = []
    for s in snapshots:
        u = uptime.get(s.channel.peer.pubkey)
        if u is None:
            out.append(s)
            continue
        peer = msgspec.structs.replace(s.channel.peer, uptime=u)
        channel = msgspec.structs.replace(s.channel, peer=peer)
        out.append(msgspec.structs.replace(s, channel=channel))
    return out


def lnd_uptimes(snapshots: Sequence[ChannelSnapshot]) -> dict[str, Uptime]:
    """What LND said of each peer's availability (the first channel's figure per peer)."""
    found: dict[str, Uptime] = {}
    for s in snapshots:
        found.setdefault(s.channel.peer.pubkey, s.channel.peer.uptime)
    return found
