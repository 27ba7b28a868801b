"""Peers' node records into the snapshots, and their sources into the decisions (pure)."""

from __future__ import annotations

import msgspec
from builders import node, snapshot

from mcp_optimizer.actors.provenance import (
    network_sentence,
    record_sentence,
    with_fact_sources,
    with_node_records,
)
from mcp_optimizer.messages import (
    DecisionKind,
    NetworkStatsKnown,
    NetworkStatsUnknown,
    NodeRecordKnown,
    NodeRecordUnknown,
    SourceAttempt,
    SourceOutcome,
)
from mcp_optimizer.messages.actors import PeerNodeRecord
from mcp_optimizer.policies.config import load_policy
from mcp_optimizer.policies.engine import evaluate_channel

AT = 1_795_766_400  # 2026-11-27 08:00 UTC


def attempt(source: str, outcome: SourceOutcome, detail: str = "") -> SourceAttempt:
    return SourceAttempt(fact="node_record", source=source, outcome=outcome, detail=detail,
                         at_s=AT)


def known(pubkey: str, source: str = "mempool", alias: str = "big-node") -> NodeRecordKnown:
    return NodeRecordKnown(pubkey=pubkey, alias=alias, capacity_sat=123_456_789,
                           channel_count=321, source=source, observed_at_s=AT)


STATS = NetworkStatsKnown(
    node_count=17_000, channel_count=50_000, total_capacity_sat=1, avg_capacity_sat=1,
    med_capacity_sat=1, avg_fee_rate_ppm=600, med_fee_rate_ppm=150, avg_base_fee_msat=900,
    med_base_fee_msat=1000, source="mempool", observed_at_s=AT,
)


def test_known_record_replaces_alias_capacity_and_channel_count_only() -> None:
    s = snapshot()
    key = s.channel.peer.pubkey
    rec = PeerNodeRecord(pubkey=key, record=known(key), sources=[])
    (out,) = with_node_records([s], {key: rec})
    peer = out.channel.peer
    assert (peer.alias, peer.capacity_sat, peer.channel_count) == ("big-node", 123_456_789, 321)
    assert peer.centrality == s.channel.peer.centrality and peer.uptime == s.channel.peer.uptime
    assert msgspec.structs.replace(out.channel, peer=s.channel.peer) == s.channel


def test_unknown_missing_or_mismatched_record_leaves_the_snapshot() -> None:
    s = snapshot()
    key = s.channel.peer.pubkey
    unknown = PeerNodeRecord(pubkey=key, record=NodeRecordUnknown(pubkey=key, reason="x"),
                             sources=[])
    other = PeerNodeRecord(pubkey=key, record=known("03" + "ab" * 32), sources=[])
    assert with_node_records([s], {key: unknown}) == [s]
    assert with_node_records([s], {key: other}) == [s]
    assert with_node_records([s], {}) == [s]


def test_sentences_name_the_source_and_why_a_fallback_was_taken() -> None:
    key = "02" + "11" * 32
    direct = PeerNodeRecord(pubkey=key, record=known(key),
                            sources=[attempt("mempool", SourceOutcome.USED)])
    assert record_sentence(direct) == (
        "peer record from mempool (read 2026-11-27 08:00 UTC): alias 'big-node', "
        "123,456,789 sat in 321 channels"
    )
    fallback = PeerNodeRecord(
        pubkey=key, record=known(key, source="lnd"),
        sources=[attempt("mempool", SourceOutcome.UNAVAILABLE, "HTTP 503 after 4 attempts"),
                 attempt("lnd", SourceOutcome.USED)],
    )
    text = record_sentence(fallback)
    assert text.startswith("peer record from lnd (read 2026-11-27 08:00 UTC)")
    assert text.endswith("; fell back because mempool unavailable: HTTP 503 after 4 attempts")
    none = PeerNodeRecord(pubkey=key, record=NodeRecordUnknown(pubkey=key, reason="all down"),
                          sources=[])
    assert record_sentence(none).startswith("peer record unknown (all down)")
    assert "median 150 ppm + 1000 msat, mean 600 ppm" in network_sentence(STATS)
    assert network_sentence(NetworkStatsUnknown(reason="no provider")) == ""


def test_decisions_get_their_peers_record_and_fee_changes_the_network() -> None:
    policy = load_policy(None, {})
    quiet = snapshot(channel_kw={"chan_id": 1})
    other = snapshot(channel_kw={"chan_id": 2, "peer": node(pubkey="03" + "cd" * 32)})
    decisions = [evaluate_channel(s, policy) for s in (quiet, other)]
    fee_change = msgspec.structs.replace(decisions[0], kind=DecisionKind.LOWER_FEES)
    key = quiet.channel.peer.pubkey
    rec = PeerNodeRecord(pubkey=key, record=known(key), sources=[])
    out = with_fact_sources([fee_change, decisions[1]], [quiet, other], [rec], STATS)
    assert out[0].reasons[: len(fee_change.reasons)] == fee_change.reasons
    assert out[0].reasons[-2:] == [record_sentence(rec), network_sentence(STATS)]
    assert out[1] == decisions[1]  # no record for that peer, no fee change: untouched
    assert with_fact_sources(decisions, [quiet, other], [], NetworkStatsUnknown(reason="x")) \
        == decisions
