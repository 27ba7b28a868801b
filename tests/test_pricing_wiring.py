"""What feeds the price learner and what it spends: fee spans from a real journal file, what
each span earned from forwarding columns, competitors' fees from a graph, the gossip budget
sized for the node and ranked by expected gain; and the engine and the gates agreeing by
construction (issue 10 item 9)."""

from __future__ import annotations

import msgspec
from builders import CHAN, DAY, NOW, node, policy, replace, snapshot
from hypothesis import given, settings
from hypothesis import strategies as st
from journal_support import Clock

from mcp_optimizer.actors.enrich import competitors_into
from mcp_optimizer.actors.pipeline import by_gain
from mcp_optimizer.journal import Journal
from mcp_optimizer.journal.price_history import fee_spans
from mcp_optimizer.messages import (
    CentralityUnknown,
    ChangeOrigin,
    ChangeState,
    ChannelGraph,
    CompetitorFees,
    DecisionKind,
    FeeEpoch,
    ForwardingEvent,
    GraphEdge,
    HtlcEvent,
    HtlcEventKind,
    LastChangeAt,
    Mode,
    PolicyUnknown,
    UptimeUnknown,
)
from mcp_optimizer.messages.actors import ChannelPointPolicy
from mcp_optimizer.messages.forwarding import FeeSpan
from mcp_optimizer.policies.config import load_policy
from mcp_optimizer.policies.engine import evaluate_channel
from mcp_optimizer.preprocess import NS, ForwardColumns, aggregate_epochs
from mcp_optimizer.safety import gates
from mcp_optimizer.safety.settings import limits_from_env

POLICY = load_policy(environ={})

# --- fee spans from the journal -------------------------------------------------------------


def _change(j, chan_id, old, new, state=ChangeState.VERIFIED, origin=ChangeOrigin.SERVICE):
    cid = j.record_change(
        chan_id=chan_id, channel_point="ab" * 32 + ":1", origin=origin, mode=Mode.LIVE,
        state=ChangeState.INTENT if state is ChangeState.VERIFIED else state,
        old_policy=policy(fee_rate_ppm=old), new_policy=policy(fee_rate_ppm=new),
        reasons=["t"], detail="t",
    )
    if state is ChangeState.VERIFIED:
        j.transition(cid, ChangeState.APPLIED, "accepted")
        j.transition(cid, ChangeState.VERIFIED, "read back",
                     observed=policy(fee_rate_ppm=new), known_after=True)
    return cid


def current(chan_id, ppm, opened_at_s=NOW - 100 * DAY):
    return ChannelPointPolicy(chan_id=chan_id, fee_rate_ppm=ppm, base_fee_msat=1000,
                              inbound_fee_rate_ppm=0, opened_at_s=opened_at_s)


def test_fee_spans_follow_the_changes_that_took_effect(tmp_path):
    clock = Clock(NOW - 10 * DAY)
    with Journal.open(tmp_path, clock) as j:
        j.set_baseline(CHAN, "ab" * 32 + ":1", policy(fee_rate_ppm=500))
        clock.advance(2 * DAY)
        _change(j, CHAN, 500, 600)  # at -8 days
        clock.advance(3 * DAY)
        held = _change(j, CHAN, 600, 900, state=ChangeState.HELD)  # never took effect
        assert held
        clock.advance(DAY)
        _change(j, CHAN, 600, 450, state=ChangeState.EXTERNAL, origin=ChangeOrigin.EXTERNAL)
        spans = fee_spans(j, NOW - 30 * DAY, NOW, [current(CHAN, 450), current(7, 100)])
    got = [(s.chan_id, s.start_s - NOW, s.end_s - NOW, s.fee_rate_ppm) for s in spans]
    assert got == [
        (CHAN, -30 * DAY, -8 * DAY, 500),
        (CHAN, -8 * DAY, -4 * DAY, 600),
        (CHAN, -4 * DAY, 0, 450),
        (7, -30 * DAY, 0, 100),  # never changed: one span at its current level
    ]


def test_fee_spans_start_at_the_channel_opening_and_end_on_the_node_level(tmp_path):
    with Journal.open(tmp_path, Clock(NOW - DAY)) as j:
        spans = fee_spans(j, NOW - 30 * DAY, NOW, [current(CHAN, 300, NOW - 3 * DAY)])
    assert [(s.start_s, s.end_s, s.fee_rate_ppm) for s in spans] == [(NOW - 3 * DAY, NOW, 300)]


# --- what each span earned --------------------------------------------------------------------


def _fwd(t_s, cin, cout, amt, fee):
    return ForwardingEvent(timestamp_ns=t_s * NS, chan_id_in=cin, chan_id_out=cout,
                           amt_in_msat=amt + fee, amt_out_msat=amt, fee_msat=fee)


events_st = st.lists(
    st.tuples(st.integers(NOW - 10 * DAY, NOW), st.sampled_from([1, 2, 3]),
              st.sampled_from([1, 2, 3]), st.integers(1, 10**9), st.integers(0, 10**6)),
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(events_st, st.lists(st.integers(NOW - 10 * DAY, NOW), max_size=10),
       st.lists(st.integers(NOW - 10 * DAY, NOW), min_size=1, max_size=6))
def test_epoch_aggregates_equal_a_per_event_count(raw, fail_times, cuts):
    events = [_fwd(*r) for r in raw]
    fails = [HtlcEvent(kind=HtlcEventKind.LINK_FAIL, incoming_chan_id=2, outgoing_chan_id=1,
                       timestamp_ns=t * NS, failure_detail="INSUFFICIENT_BALANCE",
                       wire_failure="TEMPORARY_CHANNEL_FAILURE")
             for t in fail_times]
    points = sorted({NOW - 10 * DAY, *cuts, NOW})
    spans = [FeeSpan(chan_id=c, start_s=a, end_s=b, fee_rate_ppm=10, base_fee_msat=0,
                     inbound_fee_rate_ppm=0)
             for c in (1, 2) for a, b in zip(points, points[1:], strict=False)]
    got = aggregate_epochs(spans, ForwardColumns.from_events(events), fails)
    for sp, e in zip(spans, got, strict=True):
        inside = [x for x in events if sp.start_s * NS <= x.timestamp_ns < sp.end_s * NS]
        out = [x for x in inside if x.chan_id_out == sp.chan_id]
        assert e.forwards_out == len(out)
        assert e.amount_out_msat == sum(x.amt_out_msat for x in out)
        assert e.fees_earned_msat == sum(x.fee_msat for x in out)
        assert e.forwards_in == sum(1 for x in inside if x.chan_id_in == sp.chan_id)
        assert e.failed_balance == (
            sum(1 for t in fail_times if sp.start_s <= t < sp.end_s) if sp.chan_id == 1 else 0
        )
        assert type(e.forwards_out) is int and type(e.fees_earned_msat) is int


# --- competitors' fees ------------------------------------------------------------------------


def test_competitors_into_a_peer_leave_our_own_node_out():
    us, peer, a, b = "02" + "11" * 32, "03" + "22" * 32, "02" + "33" * 32, "02" + "44" * 32

    def edge(cid, n1, n2, p1, p2):
        return GraphEdge(chan_id=cid, node1_pubkey=n1, node2_pubkey=n2, capacity_sat=10**6,
                         node1_policy=p1, node2_policy=p2)

    unknown = PolicyUnknown(reason="t")
    graph = ChannelGraph(taken_at_s=NOW, nodes=[], edges=[
        edge(CHAN, us, peer, policy(fee_rate_ppm=5000), unknown),  # ours: not a competitor
        edge(2, a, peer, policy(fee_rate_ppm=100), unknown),
        edge(3, peer, b, unknown, policy(fee_rate_ppm=300)),
        edge(4, a, b, policy(fee_rate_ppm=9999), policy(fee_rate_ppm=9999)),  # elsewhere
    ])
    fees = competitors_into(graph, [peer], [CHAN])[peer]
    assert isinstance(fees, CompetitorFees)
    assert (fees.count, fees.median_fee_rate_ppm) == (2, 200)


# --- the gossip budget ------------------------------------------------------------------------


def test_default_caps_grow_with_the_node_and_set_ones_are_kept():
    limits = limits_from_env({})
    assert limits.scaled
    big = limits.sized(2000, POLICY.pricing.gossip_budget_per_channel_day)
    assert (big.day_cap(), big.hour_cap()) == (500, 125)
    small = limits.sized(21, POLICY.pricing.gossip_budget_per_channel_day)
    assert (small.day_cap(), small.hour_cap()) == (48, 12)
    fixed = limits_from_env({"MCP_MAX_CHANGES_PER_DAY": "48"}).sized(2000, 0.25)
    assert (fixed.day_cap(), fixed.hour_cap()) == (48, 6)
    timing = gates.Timing(now_s=NOW, last_change_at_s=0, last_change_id=0,
                          last_change_external=False, changes_last_hour=100,
                          changes_last_day=400)
    assert gates.check_timing(timing, POLICY, big) == []
    stops = gates.check_timing(timing, POLICY, fixed)
    assert {s.gate.value for s in stops} == {"hourly_cap", "daily_cap"}
    assert "(2000 channels)" not in stops[0].reason


def test_changes_are_offered_largest_expected_gain_first():
    def snap(cid, epochs):
        s = snapshot(channel_kw={"chan_id": cid, "our_policy": policy(fee_rate_ppm=500)})
        s = replace(s, price_history=epochs)
        return replace(s, recent=replace(s.recent, chan_id=cid),
                       history=replace(s.history, chan_id=cid))

    def ep(a, b, ppm, fwd):
        return FeeEpoch(start_s=NOW - a * DAY, end_s=NOW - b * DAY, fee_rate_ppm=ppm,
                        base_fee_msat=1000, inbound_fee_rate_ppm=0, forwards_out=fwd,
                        amount_out_msat=fwd * 10**8, fees_earned_msat=fwd * 50_000,
                        forwards_in=fwd, failed_balance=0)

    small = snap(1, [ep(6, 3, 400, 45), ep(3, 0, 500, 20)])   # back to 400: a small gain
    large = snap(2, [ep(6, 3, 400, 300), ep(3, 0, 500, 20)])  # back to 400: a large gain
    still = snap(3, [ep(3, 0, 500, 20)])
    decisions = [evaluate_channel(s, POLICY) for s in (small, large, still)]
    decisions[2] = msgspec.structs.replace(decisions[2], kind=DecisionKind.NO_ACTION,
                                           proposed_policy=decisions[2].current_policy)
    assert [d.kind for d in decisions[:2]] == [DecisionKind.LOWER_FEES] * 2
    ranked = by_gain(decisions, [small, large, still], POLICY)
    assert [d.chan_id for d in ranked] == [2, 1, 3]


# --- engine and gates agree by construction (issue 10 item 9) --------------------------------


def test_only_weighted_factor_unknown_is_an_unknown_score_not_zero():
    p = load_policy(environ={
        "MCP_POLICY__FACTORS__CENTRALITY__WEIGHT": "3",
        "MCP_POLICY__FACTORS__UPTIME__ENABLED": "false",
        "MCP_POLICY__FACTORS__VOLUME__WEIGHT": "0",
        "MCP_POLICY__FACTORS__CHANNEL_AGE__WEIGHT": "0",
        "MCP_POLICY__FACTORS__FORWARD_ACTIVITY__WEIGHT": "0",
        "MCP_POLICY__PRICING__ENABLED": "false",
    })
    dead = {"forwards_in": 0, "forwards_out": 0, "amount_in_msat": 0, "amount_out_msat": 0,
            "fees_earned_msat": 0}
    s = snapshot(channel_kw={"age_s": 300 * DAY,
                             "peer": node(centrality=CentralityUnknown(reason="down"),
                                          uptime=UptimeUnknown(reason="down"))},
                 history_kw=dead, recent_kw=dead)
    d = evaluate_channel(s, p)
    assert d.kind is DecisionKind.NO_ACTION, d.reasons  # was LOWER_FEES / CLOSE on a 0.0
    assert "no factor could be scored" in d.reasons[0]


def test_fees_each_out_of_bounds_by_less_than_the_minimum_change_are_not_proposed():
    # the rate and the inbound rate each clamped into the bounds by 2 ppm (minimum change 5):
    # the engine proposed it, the min-change gate refused it
    p = load_policy(environ={"MCP_POLICY__PRICING__ENABLED": "false"})
    strong = {"forwards_in": 80, "forwards_out": 80, "amount_out_msat": 9_000_000_000}
    s = snapshot(channel_kw={"our_policy": policy(fee_rate_ppm=2502, inbound_fee_rate_ppm=2)},
                 history_kw=strong)
    d = evaluate_channel(s, p)  # strong: +10%, held at 2500; the inbound rate brought to 0
    assert d.kind is DecisionKind.NO_ACTION, d.reasons
    assert any("less than the minimum change 5 ppm" in r for r in d.reasons), d.reasons
    assert gates.check_min_change(  # what the gate would have said of the old proposal
        d.current_policy, replace(d.current_policy, fee_rate_ppm=2500, inbound_fee_rate_ppm=0), p
    )


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 3000), st.integers(-3000, 100), st.integers(0, 6000),
       st.integers(0, 20), st.booleans(), st.integers(0, 100))
def test_no_proposal_is_ever_refused_by_the_bounds_step_or_minimum_change_gate(
    rate, inbound, base, minc, learn, local
):
    p = load_policy(environ={
        "MCP_POLICY__STEPS__MIN_CHANGE_PPM": str(minc),
        "MCP_POLICY__PRICING__ENABLED": "true" if learn else "false",
    })
    s = snapshot(channel_kw={
        "our_policy": policy(fee_rate_ppm=rate, inbound_fee_rate_ppm=inbound, base_fee_msat=base),
        "local_balance_sat": 50_000 * local, "remote_balance_sat": 50_000 * (100 - local) - 10,
    }, recent_kw={"forwards_out": local % 3, "failed_htlcs": 0})
    d = evaluate_channel(s, p)
    if d.kind in (DecisionKind.INCREASE_FEES, DecisionKind.LOWER_FEES):
        old, new = d.current_policy, d.proposed_policy
        assert gates.check_bounds(new, p) + gates.check_step(old, new, p) + (
            gates.check_min_change(old, new, p)
        ) == [], d.reasons


def test_negative_times_are_defects_like_negative_amounts():
    d = evaluate_channel(snapshot(last_change=LastChangeAt(at_s=-5)), POLICY)
    assert d.reasons[0].startswith("snapshot rejected")
    assert "last policy change time is -5, below 0" in d.reasons[0], d.reasons
    bad = FeeEpoch(start_s=-10, end_s=NOW, fee_rate_ppm=1, base_fee_msat=0,
                   inbound_fee_rate_ppm=0, forwards_out=0, amount_out_msat=0,
                   fees_earned_msat=0, forwards_in=0, failed_balance=0)
    d = evaluate_channel(replace(snapshot(), price_history=[bad]), POLICY)
    assert "fee epoch 1 start is -10, below 0" in d.reasons[0], d.reasons
