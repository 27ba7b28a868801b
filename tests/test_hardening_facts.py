"""Issue 10, item 11: local facts (centrality, LND uptime) never wait on a remote provider,
and a peer whose remote answer came too late says so in its decisions' reasons."""

from __future__ import annotations

import threading
import time

from mcp_optimizer.actors.provenance import record_sentence
from mcp_optimizer.messages import (
    CentralityKnown,
    NodeRecordUnknown,
    PeerRanksUnknown,
    UptimeKnown,
)
from mcp_optimizer.messages.actors import PeerNodeRecord
from mcp_optimizer.providers.facts import PeerFactsResolver
from mcp_optimizer.providers.http import Freshness, ProviderMetrics

PEERS = ["02" + f"{i:02x}" * 32 for i in range(1, 7)]
NOW = 1_800_000_000


class HangingMempool:
    """A remote provider that holds every call until released (a trickling server)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.calls = 0

    def node(self, pubkey):
        self.calls += 1
        self.release.wait(120)
        raise RuntimeError("released")

    def network_stats(self):
        raise RuntimeError("not asked here")


def resolver(mempool) -> PeerFactsResolver:
    return PeerFactsResolver(
        freshness=Freshness(reuse_s=0),
        metrics=ProviderMetrics(),
        mempool=mempool,
        local_centrality=lambda p: CentralityKnown(normalized_ppm=500_000, rank=3,
                                                   source="local-graph", observed_at_s=NOW,
                                                   estimated=False),
        lnd_uptime=lambda p: UptimeKnown(ratio_ppm=990_000, source="lnd", observed_at_s=NOW),
        wall_clock=lambda: NOW,
    )


def test_local_facts_arrive_while_a_remote_provider_hangs():
    mempool = HangingMempool()
    try:
        started = time.monotonic()
        facts = resolver(mempool).resolve_peers(PEERS, remote_budget_s=0.5)
        elapsed = time.monotonic() - started
    finally:
        mempool.release.set()
    assert elapsed < 60  # generous: without the budget it waits for the provider (120 s)
    assert list(facts) == PEERS
    for p in PEERS:
        f = facts[p]
        assert isinstance(f.centrality, CentralityKnown)
        assert isinstance(f.uptime, UptimeKnown)
        assert isinstance(f.node_record, NodeRecordUnknown)
        assert "within the 0.5 s" in f.node_record.reason
        assert isinstance(f.ranks, PeerRanksUnknown)
        rec = PeerNodeRecord(pubkey=p, record=f.node_record,
                             sources=[a for a in f.sources if a.fact == "node_record"])
        sentence = record_sentence(rec)  # what the decision's reasons say
        assert "no answer from the remote providers within the 0.5 s" in sentence
        assert "as LND's channel list gave them" in sentence


def test_answers_within_the_budget_are_used():
    class Quick:
        def node(self, pubkey):
            raise RuntimeError("mempool down")

    facts = resolver(Quick()).resolve_peers(PEERS[:2], remote_budget_s=60)
    for p in PEERS[:2]:
        assert isinstance(facts[p].centrality, CentralityKnown)
        assert "mempool down" in facts[p].node_record.reason


def test_a_bad_key_is_still_refused_at_once():
    facts = resolver(HangingMempool()).resolve_peers(["zz"], remote_budget_s=0.5)
    assert "zz" in facts and not isinstance(facts["zz"].centrality, CentralityKnown)
