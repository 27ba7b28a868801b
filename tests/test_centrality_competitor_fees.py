"""competitor_fees: what the other ends of a peer's channels charge to forward into it."""

from __future__ import annotations

import msgspec
from graph_builders import TAKEN_AT, UNKNOWN, disabled, enabled, graph, key

from mcp_optimizer.messages import CompetitorFees, CompetitorFeeSummary, CompetitorFeesUnknown
from mcp_optimizer.providers.local_graph import competitor_fees


def test_quartiles_of_the_competitors_directions_into_the_peer() -> None:
    # Competitors c1..c5 charge 100..500 ppm and 0..4000 msat into "peer"; the peer's own
    # direction (what it charges them) is 9999 ppm and must not count.
    edges = [(f"c{i}", "peer") for i in range(1, 6)]
    policies = {
        i: (enabled(fee_rate_ppm=100 * (i + 1), base_fee_msat=1000 * i), enabled(9999))
        for i in range(5)
    }
    got = competitor_fees(graph(edges, policies=policies), key("peer"))
    assert got == CompetitorFees(
        peer_pubkey=key("peer"),
        observed_at_s=TAKEN_AT,
        count=5,
        ignored_count=0,
        p25_fee_rate_ppm=200,
        median_fee_rate_ppm=300,
        p75_fee_rate_ppm=400,
        p25_base_fee_msat=1000,
        median_base_fee_msat=2000,
        p75_base_fee_msat=3000,
    )


def test_the_peer_may_be_either_end_of_the_channel() -> None:
    # key("a") < key("peer") < key("z"): the peer is node2 of one channel and node1 of the other.
    edges = [("a", "peer"), ("peer", "z")]
    policies = {0: (enabled(10), enabled(1)), 1: (enabled(1), enabled(30))}
    got = competitor_fees(graph(edges, policies=policies), key("peer"))
    assert isinstance(got, CompetitorFees)
    assert (got.count, got.median_fee_rate_ppm) == (2, 20)
    assert (got.p25_fee_rate_ppm, got.p75_fee_rate_ppm) == (15, 25)


def test_disabled_and_unknown_directions_are_ignored_and_counted() -> None:
    edges = [("c1", "peer"), ("c2", "peer"), ("c3", "peer"), ("c4", "peer")]
    policies = {
        0: (enabled(100), enabled()),
        1: (disabled(5000), enabled()),
        2: (UNKNOWN, enabled()),
        3: (enabled(300), UNKNOWN),  # the peer's side unknown: the competitor's side counts
    }
    got = competitor_fees(graph(edges, policies=policies), key("peer"))
    assert isinstance(got, CompetitorFees)
    assert (got.count, got.ignored_count, got.median_fee_rate_ppm) == (2, 2, 200)


def test_parallel_channels_of_one_competitor_each_count() -> None:
    edges = [("c1", "peer"), ("c1", "peer"), ("c2", "peer")]
    policies = {
        0: (enabled(100), enabled()),
        1: (enabled(100), enabled()),
        2: (enabled(400), enabled()),
    }
    got = competitor_fees(graph(edges, policies=policies), key("peer"))
    assert isinstance(got, CompetitorFees)
    assert (got.count, got.median_fee_rate_ppm) == (3, 100)


def test_excluded_nodes_are_not_competitors() -> None:
    edges = [("us", "peer"), ("c1", "peer")]
    policies = {0: (enabled(1), enabled()), 1: (enabled(700), enabled())}
    got = competitor_fees(graph(edges, policies=policies), key("peer"), exclude=[key("us")])
    assert isinstance(got, CompetitorFees)
    assert (got.count, got.median_fee_rate_ppm) == (1, 700)


def test_unknown_when_nothing_usable_with_the_reason() -> None:
    g = graph([("c1", "peer"), ("x", "y")], policies={0: (disabled(), enabled())})
    got = competitor_fees(g, key("peer"))
    assert got == CompetitorFeesUnknown(
        peer_pubkey=key("peer"),
        observed_at_s=TAKEN_AT,
        ignored_count=1,
        reason="all 1 channels into this peer have a disabled or unknown policy",
    )
    alone = competitor_fees(g, key("stranger"))
    assert isinstance(alone, CompetitorFeesUnknown)
    assert alone.reason == "no other node has a channel to this peer in the graph"
    assert alone.ignored_count == 0


def test_summary_round_trips_as_a_tagged_union() -> None:
    got = competitor_fees(graph([("c1", "peer")]), key("peer"))
    wire = msgspec.json.encode(got)
    assert msgspec.json.decode(wire, type=CompetitorFeeSummary) == got
    assert b'"type":"CompetitorFees"' in wire
