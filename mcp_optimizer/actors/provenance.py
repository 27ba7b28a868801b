"""Pure helpers: peers' node records into the snapshots, and where they came from into the
decisions.

The node-record chain (mempool, then LND GetNodeInfo; :mod:`mcp_optimizer.providers.facts`)
gives each peer's alias, capacity and channel count with its source. The scorer puts a known
record into the snapshot's ``Node`` (:func:`with_node_records`); the decider adds one sentence
per decision saying which source the peer's record came from and why a fallback was taken
(:func:`record_sentence`), and, for a fee change, the network's fee levels it can be compared
with (:func:`network_sentence`). A peer without a record in the request keeps what LND's
channel list said, and its decisions say nothing more.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import msgspec

from mcp_optimizer.messages import (
    ChannelSnapshot,
    Decision,
    DecisionKind,
    NetworkStats,
    NetworkStatsKnown,
    NodeRecordKnown,
    SourceOutcome,
)
from mcp_optimizer.messages.actors import PeerNodeRecord

from .enrich import replace_peer

_FEE_CHANGES = (DecisionKind.INCREASE_FEES, DecisionKind.LOWER_FEES)


def _when(at_s: int) -> str:
    return datetime.fromtimestamp(at_s, UTC).strftime("%Y-%m-%d %H:%M UTC")


def by_peer(records: Sequence[PeerNodeRecord]) -> dict[str, PeerNodeRecord]:
    """The records by peer key (a later record of the same peer wins)."""
    return {r.pubkey: r for r in records}


def with_node_records(
    snapshots: Sequence[ChannelSnapshot], records: Mapping[str, PeerNodeRecord]
) -> list[ChannelSnapshot]:
    """The snapshots with each peer's alias, capacity and channel count taken from its known
    node record; a peer without one (or with an unknown record) keeps what it had."""
    out = []
    for s in snapshots:
        found = records.get(s.channel.peer.pubkey)
        record = found.record if found is not None else None
        if not isinstance(record, NodeRecordKnown) or record.pubkey != s.channel.peer.pubkey:
            out.append(s)
            continue
        out.append(replace_peer(
            s,
            alias=record.alias,
            capacity_sat=record.capacity_sat,
            channel_count=record.channel_count,
        ))
    return out


def _failures(rec: PeerNodeRecord) -> list[str]:
    return [
        f"{a.source} {a.outcome.value}: {a.detail}"
        for a in rec.sources
        if a.outcome not in (SourceOutcome.USED, SourceOutcome.NOT_CONFIGURED)
    ]


def record_sentence(rec: PeerNodeRecord) -> str:
    """Where the peer's alias, capacity and channel count came from, in one sentence."""
    record = rec.record
    failures = _failures(rec)
    if isinstance(record, NodeRecordKnown):
        text = (
            f"peer record from {record.source} (read {_when(record.observed_at_s)}): "
            f"alias {record.alias!r}, {record.capacity_sat:,} sat in "
            f"{record.channel_count} channels"
        )
        if failures:
            text += "; fell back because " + "; ".join(failures)
        return text
    return (
        f"peer record unknown ({record.reason}): alias, capacity and channel count as LND's "
        "channel list gave them"
    )


def network_sentence(stats: NetworkStats) -> str:
    """The network's fee levels, in one sentence; empty when they are unknown."""
    if not isinstance(stats, NetworkStatsKnown):
        return ""
    return (
        f"network fees ({stats.source} statistics of {_when(stats.observed_at_s)}, "
        f"{stats.channel_count:,} channels): median {stats.med_fee_rate_ppm} ppm + "
        f"{stats.med_base_fee_msat} msat, mean {stats.avg_fee_rate_ppm} ppm"
    )


def with_fact_sources(
    decisions: Sequence[Decision],
    snapshots: Sequence[ChannelSnapshot],
    records: Sequence[PeerNodeRecord],
    network: NetworkStats,
) -> list[Decision]:
    """Each decision with a sentence on its peer's record source added to its reasons (when
    the request had a record for that peer) and, for a fee change, the network's fees."""
    peer_of = {s.channel.chan_id: s.channel.peer.pubkey for s in snapshots}
    found = by_peer(records)
    net = network_sentence(network)
    out = []
    for d in decisions:
        extra = []
        rec = found.get(peer_of.get(d.chan_id, ""))
        if rec is not None:
            extra.append(record_sentence(rec))
        if net and d.kind in _FEE_CHANGES:
            extra.append(net)
        out.append(msgspec.structs.replace(d, reasons=[*d.reasons, *extra]) if extra else d)
    return out
