"""Fallback chains per fact, with the remote providers on real loopback HTTP servers."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from providers_loopback import Hit, LoopbackServer, Reply, json_reply, refused_url

from mcp_optimizer.messages import (
    CentralityKnown,
    CentralityUnknown,
    NetworkStatsKnown,
    NetworkStatsUnknown,
    Node,
    NodeRecordKnown,
    NodeRecordUnknown,
    PeerFacts,
    PeerRanksKnown,
    PeerRanksUnknown,
    SourceOutcome,
    UptimeKnown,
    UptimeUnknown,
)
from mcp_optimizer.providers.amboss import RANKS_QUERY, AmbossProvider
from mcp_optimizer.providers.facts import PeerFactsResolver, centrality_from_map
from mcp_optimizer.providers.http import (
    Freshness,
    ProviderHttpClient,
    ProviderMetrics,
    RetryPolicy,
)
from mcp_optimizer.providers.mempool import MempoolProvider

PEERS = ["02" + f"{i:02x}" * 32 for i in range(1, 7)]
PEER = PEERS[0]
BUDGET_S = 0.5
POLICY = RetryPolicy(
    connect_timeout_s=0.2,
    read_timeout_s=0.2,
    max_attempts=3,
    total_budget_s=BUDGET_S,
    backoff_initial_s=0.02,
    backoff_max_s=0.05,
    breaker_failures=3,
    breaker_cooldown_s=0.4,
)
FRESH = Freshness(
    centrality_max_age_s=3600, uptime_max_age_s=3600, node_max_age_s=3600, stats_max_age_s=3600
)


def now_s() -> int:
    return int(time.time())


def iso(at_s: int) -> str:
    return datetime.fromtimestamp(at_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def amboss_answer():
    """A healthy Amboss: it is only ever asked the (verified) ranks query."""

    def answer(hit: Hit) -> Reply:
        sent = json.loads(hit.body)
        if sent["query"] != RANKS_QUERY:
            return Reply(500, body=b"the test expected only the ranks query")
        metrics = {"capacity": "500000000", "capacity_rank": 7, "channels": 90,
                   "channels_rank": 12}
        return json_reply({"data": {"getNode": {"graph_info": {"metrics": metrics}}}})

    return answer


def mempool_node(hit: Hit) -> Reply:
    pubkey = hit.path.rsplit("/", 1)[1]
    return json_reply(
        {
            "public_key": pubkey,
            "alias": "from-mempool",
            "capacity": "700000",
            "active_channel_count": 4,
            "opened_channel_count": 4,
            "closed_channel_count": 0,
            "first_seen": 1600000000,
            "updated_at": 1700000000,
        }
    )


class Lnd:
    """Stands in for the LND part: plain callables, as the resolver is given them."""

    def __init__(self, fail: bool = False, uptime_age_s: int = 10) -> None:
        self.fail = fail
        self.uptime_age_s = uptime_age_s
        self.node_calls: list[str] = []

    def node_info(self, pubkey: str) -> Node:
        self.node_calls.append(pubkey)
        if self.fail:
            raise ConnectionError("lnd is restarting")
        return Node(
            pubkey=pubkey,
            alias="from-lnd",
            capacity_sat=650000,
            channel_count=3,
            centrality=CentralityUnknown(reason="not asked"),
            uptime=UptimeUnknown(reason="not asked"),
        )

    def uptime(self, pubkey: str) -> UptimeKnown:
        if self.fail:
            raise ConnectionError("lnd is restarting")
        at_s = now_s() - self.uptime_age_s
        return UptimeKnown(ratio_ppm=900000, source="lnd", observed_at_s=at_s)


def local_map(observed_at_s: int | None = None):
    at = now_s() - 30 if observed_at_s is None else observed_at_s
    table = {
        PEER: CentralityKnown(normalized_ppm=40000, rank=55, source="local-graph",
                              observed_at_s=at, estimated=False)
    }
    return lambda: table


def resolver(
    *,
    amboss_url: str | None,
    mempool_url: str | None,
    lnd: Lnd,
    local=None,
    metrics: ProviderMetrics | None = None,
    freshness: Freshness = FRESH,
    wall_clock=time.time,
    mempool_clock=time.time,
) -> PeerFactsResolver:
    metrics = metrics or ProviderMetrics()
    amboss = None
    if amboss_url is not None:
        amboss = AmbossProvider(
            ProviderHttpClient(
                "amboss",
                amboss_url + "/graphql",
                POLICY,
                metrics=metrics,
                headers={"Authorization": "Bearer k"},
            )
        )
    mempool = None
    if mempool_url is not None:
        client = ProviderHttpClient("mempool", mempool_url, POLICY, metrics=metrics)
        mempool = MempoolProvider(client, wall_clock=mempool_clock)
    return PeerFactsResolver(
        freshness=freshness,
        metrics=metrics,
        amboss=amboss,
        mempool=mempool,
        local_centrality=centrality_from_map(local or local_map()),
        lnd_node_info=lnd.node_info,
        lnd_uptime=lnd.uptime,
        wall_clock=wall_clock,
    )


def outcomes(facts: PeerFacts, fact: str) -> list[tuple[str, SourceOutcome]]:
    return [(a.source, a.outcome) for a in facts.sources if a.fact == fact]


@pytest.fixture
def amboss_srv():
    with LoopbackServer() as srv:
        yield srv


@pytest.fixture
def mempool_srv():
    with LoopbackServer() as srv:
        yield srv


def test_all_healthy_uses_remote_sources(amboss_srv: LoopbackServer, mempool_srv) -> None:
    amboss_srv.script("POST", "/graphql", amboss_answer())
    mempool_srv.script("GET", f"/api/v1/lightning/nodes/{PEER}", mempool_node)
    lnd = Lnd()
    r = resolver(amboss_url=amboss_srv.url, mempool_url=mempool_srv.url, lnd=lnd)
    facts = r.resolve_peer(PEER)
    assert isinstance(facts.node_record, NodeRecordKnown)
    assert facts.node_record.source == "mempool" and facts.node_record.alias == "from-mempool"
    assert facts.centrality == CentralityKnown(
        normalized_ppm=40000, rank=55, source="local-graph",
        observed_at_s=facts.centrality.observed_at_s,
        estimated=False,
    )
    assert isinstance(facts.uptime, UptimeKnown) and facts.uptime.source == "lnd"
    assert isinstance(facts.ranks, PeerRanksKnown) and facts.ranks.capacity_rank == 7
    assert all(a.outcome is SourceOutcome.USED for a in facts.sources)
    assert lnd.node_calls == []
    # Amboss is asked the ranks only (its centrality and uptime fields are not verified)
    assert [json.loads(h.body)["query"] for h in amboss_srv.hits] == [RANKS_QUERY]
    assert outcomes(facts, "centrality") == [("local-graph", SourceOutcome.USED)]
    assert outcomes(facts, "uptime") == [("lnd", SourceOutcome.USED)]
    assert r.metrics.value("mcp_fact_results_total", fact="ranks", source="amboss") == 1
    assert r.metrics.value("mcp_fact_results_total", fact="centrality", source="local-graph") == 1
    assert r.metrics.value("mcp_fact_fallbacks_total", fact="node_record", source="mempool") == 0


def test_amboss_500s_leave_ranks_unknown_and_nothing_else(amboss_srv, mempool_srv) -> None:
    amboss_srv.script("POST", "/graphql", Reply(500, body=b"oops"))
    mempool_srv.script("GET", f"/api/v1/lightning/nodes/{PEER}", mempool_node)
    r = resolver(amboss_url=amboss_srv.url, mempool_url=mempool_srv.url, lnd=Lnd())
    facts = r.resolve_peer(PEER)
    assert isinstance(facts.centrality, CentralityKnown)
    assert facts.centrality.source == "local-graph" and facts.centrality.rank == 55
    assert isinstance(facts.uptime, UptimeKnown) and facts.uptime.source == "lnd"
    assert facts.node_record.source == "mempool"  # type: ignore[union-attr]
    assert isinstance(facts.ranks, PeerRanksUnknown)
    assert "amboss: HTTP 500" in facts.ranks.reason
    assert outcomes(facts, "ranks") == [("amboss", SourceOutcome.UNAVAILABLE)]
    assert r.metrics.value("mcp_fact_results_total", fact="ranks", source="none") == 1
    assert r.metrics.value("mcp_fact_results_total", fact="uptime", source="lnd") == 1
    calls = list(r.amboss.client.calls)
    assert calls and all(c.ended_at - c.started_at <= BUDGET_S + POLICY.read_timeout_s
                         for c in calls)
    assert all(a.started_at < c.deadline for c in calls for a in c.attempts)


def test_not_configured_is_recorded_not_counted_as_fallback() -> None:
    r = resolver(amboss_url=None, mempool_url=None, lnd=Lnd())
    facts = r.resolve_peer(PEER)
    assert outcomes(facts, "ranks") == [("amboss", SourceOutcome.NOT_CONFIGURED)]
    assert outcomes(facts, "node_record") == [
        ("mempool", SourceOutcome.NOT_CONFIGURED),
        ("lnd", SourceOutcome.USED),
    ]
    assert isinstance(facts.centrality, CentralityKnown)
    assert r.metrics.value("mcp_fact_fallbacks_total", fact="node_record", source="mempool") == 0


def test_mempool_refused_falls_back_to_lnd() -> None:
    lnd = Lnd()
    r = resolver(amboss_url=None, mempool_url=refused_url(), lnd=lnd)
    started = time.monotonic()
    facts = r.resolve_peer(PEER)
    assert time.monotonic() - started <= BUDGET_S + POLICY.read_timeout_s
    assert isinstance(facts.node_record, NodeRecordKnown)
    assert facts.node_record.source == "lnd" and facts.node_record.alias == "from-lnd"
    assert outcomes(facts, "node_record") == [
        ("mempool", SourceOutcome.UNAVAILABLE),
        ("lnd", SourceOutcome.USED),
    ]
    assert lnd.node_calls == [PEER]


def test_mempool_rate_limited_beyond_budget_falls_back_at_once(mempool_srv) -> None:
    mempool_srv.script(
        "GET", f"/api/v1/lightning/nodes/{PEER}", Reply(429, headers={"Retry-After": "120"})
    )
    r = resolver(amboss_url=None, mempool_url=mempool_srv.url, lnd=Lnd())
    started = time.monotonic()
    facts = r.resolve_peer(PEER)
    assert time.monotonic() - started < 0.3
    assert facts.node_record.source == "lnd"  # type: ignore[union-attr]
    detail = [a.detail for a in facts.sources if a.source == "mempool"][0]
    assert "Retry-After 120.0 s" in detail


@pytest.mark.parametrize(
    ("reply", "outcome", "mentions"),
    [
        (Reply(body=b'{"public_key": "'), SourceOutcome.PARSE_ERROR, "not valid JSON"),
        (json_reply({"alias": "x"}), SourceOutcome.PARSE_ERROR, "$.public_key"),
        (Reply(404, body=b"Node not found"), SourceOutcome.NOT_FOUND, "Node not found"),
        (Reply(delay_s=3.0), SourceOutcome.UNAVAILABLE, "timed out"),
        (Reply(body=b"{}", truncate_to=1), SourceOutcome.UNAVAILABLE, "connection broken"),
    ],
)
def test_mempool_bad_answers_fall_back_to_lnd(mempool_srv, reply, outcome, mentions) -> None:
    mempool_srv.script("GET", f"/api/v1/lightning/nodes/{PEER}", reply)
    r = resolver(amboss_url=None, mempool_url=mempool_srv.url, lnd=Lnd())
    facts = r.resolve_peer(PEER)
    assert facts.node_record.source == "lnd"  # type: ignore[union-attr]
    first = facts.sources[0]
    assert (first.fact, first.source, first.outcome) == ("node_record", "mempool", outcome)
    assert mentions in first.detail
    call = r.mempool.client.last_call
    assert call.ended_at - call.started_at <= BUDGET_S + POLICY.read_timeout_s


def test_everything_down_gives_explicit_unknowns_and_no_exception() -> None:
    lnd = Lnd(fail=True)
    dead = refused_url()
    r = resolver(amboss_url=dead, mempool_url=dead, lnd=lnd, local=lambda: {})
    facts = r.resolve_peer(PEER)
    assert isinstance(facts.node_record, NodeRecordUnknown)
    assert "mempool: cannot connect" in facts.node_record.reason
    assert "lnd: ConnectionError: lnd is restarting" in facts.node_record.reason
    assert isinstance(facts.centrality, CentralityUnknown)
    assert "local-graph: peer not in the local graph" in facts.centrality.reason
    assert isinstance(facts.uptime, UptimeUnknown)
    assert isinstance(facts.ranks, PeerRanksUnknown)
    assert r.metrics.value("mcp_fact_results_total", fact="node_record", source="none") == 1
    assert {a.outcome for a in facts.sources} == {
        SourceOutcome.UNAVAILABLE,
        SourceOutcome.ERROR,
        SourceOutcome.UNKNOWN,
    }


def test_stale_local_centrality_is_unknown_with_stale_reason(amboss_srv) -> None:
    amboss_srv.script("POST", "/graphql", Reply(503))
    old = now_s() - 7200
    r = resolver(amboss_url=amboss_srv.url, mempool_url=None, lnd=Lnd(), local=local_map(old))
    facts = r.resolve_peer(PEER)
    assert isinstance(facts.centrality, CentralityUnknown)
    assert facts.centrality.reason.startswith("stale: local-graph: data observed")
    assert "older than the 3600 s limit" in facts.centrality.reason
    assert "amboss: HTTP 503" in facts.ranks.reason  # type: ignore[union-attr]
    assert outcomes(facts, "centrality")[-1] == ("local-graph", SourceOutcome.STALE)


def test_stale_node_record_falls_back_to_fresh_lnd(mempool_srv) -> None:
    # a mempool whose record is stamped a day back (its clock lags): too old, LND answers
    mempool_srv.script("GET", f"/api/v1/lightning/nodes/{PEER}", mempool_node)
    r = resolver(amboss_url=None, mempool_url=mempool_srv.url, lnd=Lnd(),
                 mempool_clock=lambda: time.time() - 90000)
    facts = r.resolve_peer(PEER)
    assert isinstance(facts.node_record, NodeRecordKnown) and facts.node_record.source == "lnd"
    assert outcomes(facts, "node_record") == [
        ("mempool", SourceOutcome.STALE),
        ("lnd", SourceOutcome.USED),
    ]


def test_stale_everywhere_uptime_reason() -> None:
    r = resolver(amboss_url=None, mempool_url=None, lnd=Lnd(uptime_age_s=7200))
    facts = r.resolve_peer(PEER)
    assert isinstance(facts.uptime, UptimeUnknown)
    assert facts.uptime.reason.startswith("stale: lnd: data observed 7200 s ago")
    assert outcomes(facts, "uptime") == [("lnd", SourceOutcome.STALE)]


def test_data_from_the_future_is_not_trusted(mempool_srv) -> None:
    mempool_srv.script("GET", f"/api/v1/lightning/nodes/{PEER}", mempool_node)
    r = resolver(amboss_url=None, mempool_url=mempool_srv.url, lnd=Lnd(),
                 mempool_clock=lambda: time.time() + 86400)
    facts = r.resolve_peer(PEER)
    assert facts.node_record.source == "lnd"  # type: ignore[union-attr]
    assert outcomes(facts, "node_record")[0] == ("mempool", SourceOutcome.ERROR)


def test_schema_drifted_amboss_names_field_and_touches_nothing_else(amboss_srv) -> None:
    metrics = {"capacity": "1", "capacity_rank": "high", "channels": 2, "channels_rank": 3}
    body = {"data": {"getNode": {"graph_info": {"metrics": metrics}}}}
    amboss_srv.script("POST", "/graphql", json_reply(body))
    r = resolver(amboss_url=amboss_srv.url, mempool_url=None, lnd=Lnd())
    facts = r.resolve_peer(PEER)
    assert facts.centrality.source == "local-graph"  # type: ignore[union-attr]
    assert isinstance(facts.ranks, PeerRanksUnknown)
    assert outcomes(facts, "ranks") == [("amboss", SourceOutcome.PARSE_ERROR)]
    amboss_detail = [a.detail for a in facts.sources if a.fact == "ranks"][0]
    assert "$.data.getNode.graph_info.metrics.capacity_rank" in amboss_detail


def test_outage_opens_circuit_then_recovery_is_probed(amboss_srv, mempool_srv) -> None:
    amboss_srv.script("POST", "/graphql", Reply(500))
    for key in PEERS:
        mempool_srv.script("GET", f"/api/v1/lightning/nodes/{key}", mempool_node)
    r = resolver(amboss_url=amboss_srv.url, mempool_url=mempool_srv.url, lnd=Lnd())
    started = time.monotonic()
    cycle = r.resolve_peers(PEERS, workers=1)
    elapsed = time.monotonic() - started
    assert list(cycle) == PEERS
    # the first three peers' Amboss calls open the circuit: later peers are not even tried
    assert len(amboss_srv.hits) <= POLICY.breaker_failures * POLICY.max_attempts
    assert elapsed <= POLICY.breaker_failures * (BUDGET_S + POLICY.read_timeout_s) + 1.0
    last = cycle[PEERS[-1]]
    assert outcomes(last, "ranks")[0] == ("amboss", SourceOutcome.CIRCUIT_OPEN)
    assert isinstance(last.ranks, PeerRanksUnknown)
    assert "amboss: circuit open" in last.ranks.reason
    assert isinstance(last.centrality, CentralityUnknown)  # not in the local graph
    assert cycle[PEER].centrality.source == "local-graph"  # type: ignore[union-attr]
    assert r.metrics.value("mcp_provider_circuit_open", provider="amboss") == 1

    # Amboss comes back; after the cool-down the probe call goes through and closes the circuit
    amboss_srv.script("POST", "/graphql", amboss_answer())
    time.sleep(POLICY.breaker_cooldown_s + 0.05)
    facts = r.resolve_peer(PEER)
    assert facts.node_record.source == "mempool"  # type: ignore[union-attr]
    assert isinstance(facts.ranks, PeerRanksKnown) and facts.ranks.source == "amboss"
    assert facts.uptime.source == "lnd"  # type: ignore[union-attr]
    assert r.metrics.value("mcp_provider_circuit_open", provider="amboss") == 0


def test_concurrent_cycle_with_amboss_down(amboss_srv, mempool_srv) -> None:
    peers = ["03" + f"{i:02x}" * 32 for i in range(1, 13)] + [PEER]
    amboss_srv.script("POST", "/graphql", Reply(500))
    for key in peers:
        mempool_srv.script("GET", f"/api/v1/lightning/nodes/{key}", mempool_node)
    r = resolver(amboss_url=amboss_srv.url, mempool_url=mempool_srv.url, lnd=Lnd())
    workers = 4
    cycle = r.resolve_peers(peers + [PEER], workers=workers)
    assert list(cycle) == peers  # distinct keys, in order
    assert all(f.node_record.source == "mempool" for f in cycle.values())  # type: ignore
    assert cycle[PEER].centrality.source == "local-graph"  # type: ignore[union-attr]
    # calls already in flight when the circuit opens still finish, no more
    most = (POLICY.breaker_failures + workers - 1) * POLICY.max_attempts
    assert len(amboss_srv.hits) <= most
    assert sum(
        a.outcome is SourceOutcome.CIRCUIT_OPEN for f in cycle.values() for a in f.sources
    ) >= len(peers) - (POLICY.breaker_failures + workers - 1)


def test_remote_answers_are_reused_then_asked_again(amboss_srv, mempool_srv) -> None:
    amboss_srv.script("POST", "/graphql", amboss_answer())
    mempool_srv.script("GET", f"/api/v1/lightning/nodes/{PEER}", mempool_node)
    clock = [time.time()]
    r = resolver(
        amboss_url=amboss_srv.url,
        mempool_url=mempool_srv.url,
        lnd=Lnd(),
        freshness=replace(FRESH, reuse_s=600),
        wall_clock=lambda: clock[0],
    )
    first = r.resolve_peer(PEER)
    hits = len(amboss_srv.hits) + len(mempool_srv.hits)
    assert hits == 2  # the ranks query and the node record
    clock[0] += 300
    second = r.resolve_peer(PEER)
    assert len(amboss_srv.hits) + len(mempool_srv.hits) == hits  # nothing asked again
    assert second.ranks == first.ranks and second.node_record == first.node_record
    remote = {a.detail for a in second.sources if a.source in ("amboss", "mempool")}
    assert remote == {"reused answer from 300 s ago"}
    clock[0] += 301
    r.resolve_peer(PEER)
    assert len(amboss_srv.hits) + len(mempool_srv.hits) == 2 * hits  # too old to reuse


def test_reuse_disabled(amboss_srv) -> None:
    amboss_srv.script("POST", "/graphql", amboss_answer())
    r = resolver(
        amboss_url=amboss_srv.url, mempool_url=None, lnd=Lnd(), freshness=replace(FRESH, reuse_s=0)
    )
    r.resolve_peer(PEER)
    r.resolve_peer(PEER)
    assert len(amboss_srv.hits) == 2


def test_invalid_pubkey_gives_unknowns_without_requests(amboss_srv) -> None:
    r = resolver(amboss_url=amboss_srv.url, mempool_url=None, lnd=Lnd())
    facts = r.resolve_peer("not-a-key")
    assert isinstance(facts.centrality, CentralityUnknown)
    assert "not a node public key" in facts.centrality.reason
    assert facts.sources == [] and amboss_srv.hits == []


def test_network_stats_fresh_and_stale(mempool_srv) -> None:
    latest = {
        "added": iso(now_s() - 600), "node_count": 1, "channel_count": 2, "total_capacity": 3,
        "avg_capacity": 4, "med_capacity": 5, "avg_fee_rate": 6, "med_fee_rate": 7,
        "avg_base_fee_mtokens": 8, "med_base_fee_mtokens": 9,
    }
    path = "/api/v1/lightning/statistics/latest"
    mempool_srv.script("GET", path, json_reply({"latest": latest}))
    r = resolver(amboss_url=None, mempool_url=mempool_srv.url, lnd=Lnd())
    stats = r.network_stats()
    assert isinstance(stats, NetworkStatsKnown) and stats.med_fee_rate_ppm == 7
    stale = replace(FRESH, stats_max_age_s=300)
    r = resolver(amboss_url=None, mempool_url=mempool_srv.url, lnd=Lnd(), freshness=stale)
    stats = r.network_stats()
    assert isinstance(stats, NetworkStatsUnknown) and stats.reason.startswith("stale: mempool")


def test_peer_facts_round_trip_through_json(amboss_srv, mempool_srv) -> None:
    import msgspec

    amboss_srv.script("POST", "/graphql", Reply(500))
    mempool_srv.script("GET", f"/api/v1/lightning/nodes/{PEER}", mempool_node)
    r = resolver(amboss_url=amboss_srv.url, mempool_url=mempool_srv.url, lnd=Lnd())
    facts = r.resolve_peer(PEER)
    assert msgspec.json.decode(msgspec.json.encode(facts), type=PeerFacts) == facts
