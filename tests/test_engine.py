"""The pure decision engine: factors, every decision kind, defects, and its properties."""

from __future__ import annotations

import math

import msgspec
import pytest
from builders import CHAN, DAY, NOW, channel, node, policy, replace, snapshot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mcp_optimizer.messages import (
    CentralityUnknown,
    DecisionKind,
    DisabledFactor,
    LastChangeAt,
    NeverChanged,
    ScoredFactor,
    UnknownFactor,
    UptimeKnown,
    UptimeUnknown,
)
from mcp_optimizer.policies.config import FACTOR_NAMES, load_policy
from mcp_optimizer.policies.engine import evaluate_channel
from mcp_optimizer.policies.factors import score_factor, score_factors

POLICY = load_policy(environ={})
# The score-based rules of earlier versions, kept behind ``pricing.enabled: false``; the price
# learner that replaces them by default is tested in tests/test_pricing*.py.
SCORE_RULES = load_policy(environ={"MCP_POLICY__PRICING__ENABLED": "false"})


def with_env(**env: str):
    return load_policy(environ={f"MCP_POLICY__{k}": v for k, v in env.items()})


def factor(decision, name):
    return next(f for f in decision.factors if f.name == name)


# --- factors -------------------------------------------------------------------------------


def test_centrality_factor_uses_normalised_value():
    f = score_factor("centrality", snapshot(), POLICY)
    assert isinstance(f, ScoredFactor)
    assert f.value == pytest.approx(0.5)
    assert f.contribution == pytest.approx(0.5 * POLICY.factors.centrality.weight)
    assert "#100" in f.detail


def test_centrality_unknown_is_reported_not_guessed():
    s = snapshot(channel_kw={"peer": node(centrality=CentralityUnknown(reason="amboss down"))})
    f = score_factor("centrality", s, POLICY)
    # unknown input: no value and no contribution, its weight left out of the score
    assert f == UnknownFactor(
        name="centrality", weight=POLICY.factors.centrality.weight, detail=f.detail
    )
    assert "amboss down" in f.detail
    factors, score = score_factors(s, POLICY)
    scored = [g for g in factors if isinstance(g, ScoredFactor)]
    assert score == pytest.approx(
        sum(g.contribution for g in scored) / sum(g.weight for g in scored)
    )


def test_volume_factor_is_turnover_over_target_capped():
    s = snapshot(history_kw={"amount_out_msat": 2_500_000_000})  # 0.5x of 5M sat capacity
    assert score_factor("volume", s, POLICY).value == pytest.approx(0.5)
    s = snapshot(history_kw={"amount_out_msat": 50_000_000_000})
    assert score_factor("volume", s, POLICY).value == 1.0


def test_uptime_factor():
    s = snapshot(channel_kw={"peer": node(uptime=UptimeKnown(
        ratio_ppm=750_000, source="lnd", observed_at_s=NOW))})
    assert score_factor("uptime", s, POLICY).value == pytest.approx(0.75)
    s = snapshot(channel_kw={"peer": node(uptime=UptimeUnknown(reason="never seen"))})
    assert isinstance(score_factor("uptime", s, POLICY), UnknownFactor)


def test_channel_age_factor():
    s = snapshot(channel_kw={"age_s": 45 * DAY})
    assert score_factor("channel_age", s, POLICY).value == pytest.approx(0.5)
    s = snapshot(channel_kw={"age_s": 400 * DAY})
    assert score_factor("channel_age", s, POLICY).value == 1.0


def test_forward_activity_factor():
    s = snapshot(history_kw={"forwards_in": 30, "forwards_out": 20})
    assert score_factor("forward_activity", s, POLICY).value == pytest.approx(0.5)


def test_disabled_factor_contributes_nothing_and_says_so():
    p = with_env(FACTORS__VOLUME__ENABLED="false")
    d = evaluate_channel(snapshot(), p)
    f = factor(d, "volume")
    # disabled: no value, no weight, no contribution
    assert f == DisabledFactor(name="volume", detail="disabled by the policy")
    assert "disabled" in f.detail


def test_score_is_weighted_mean_of_scored_factors():
    d = evaluate_channel(snapshot(), POLICY)
    scored = [f for f in d.factors if isinstance(f, ScoredFactor)]
    expected = sum(f.contribution for f in scored) / sum(f.weight for f in scored)
    assert d.score == pytest.approx(expected)
    assert [f.name for f in d.factors] == list(FACTOR_NAMES)


# --- decision kinds ------------------------------------------------------------------------


def test_no_action_within_band():
    d = evaluate_channel(snapshot(), SCORE_RULES)
    assert d.kind is DecisionKind.NO_ACTION
    assert d.proposed_policy == d.current_policy
    assert "no change" in d.reasons[0]


def test_underperformance_raises_by_configured_pct():
    s = snapshot(
        channel_kw={"local_balance_sat": 100_000, "remote_balance_sat": 4_890_000},
        recent_kw={"forwards_out": 3, "failed_htlcs": 9},
    )
    d = evaluate_channel(s, SCORE_RULES)
    assert d.kind is DecisionKind.INCREASE_FEES
    assert d.proposed_policy.fee_rate_ppm == 600  # 500 + 20%
    assert "under-performing" in d.reasons[0] and "9 HTLCs failed" in d.reasons[0]
    d = evaluate_channel(s, with_env(UNDERPERFORMANCE__RAISE_PCT="40", PRICING__ENABLED="false"))
    assert d.proposed_policy.fee_rate_ppm == 700


def test_underperformance_names_the_failures_by_kind():
    s = snapshot(
        channel_kw={"local_balance_sat": 100_000, "remote_balance_sat": 4_890_000},
        recent_kw={"forwards_out": 3, "failed_htlcs": 9, "failed_balance": 4, "failed_fee": 3,
                   "failed_downstream": 1},
    )
    d = evaluate_channel(s, SCORE_RULES)
    assert d.kind is DecisionKind.INCREASE_FEES
    assert ("9 HTLCs failed (4 for want of balance, 3 offering less than our fee, 1 further "
            "along the route)") in d.reasons[0], d.reasons[0]


def test_underperformance_needs_a_full_window():
    s = snapshot(
        channel_kw={"local_balance_sat": 100_000, "remote_balance_sat": 4_890_000},
        recent_kw={"forwards_out": 3, "failed_htlcs": 9, "window_s": 3600},
    )
    d = evaluate_channel(s, SCORE_RULES)
    assert "under-performing" not in d.reasons[0]


def test_strong_channel_increases():
    s = snapshot(history_kw={"forwards_in": 80, "forwards_out": 80,
                             "amount_out_msat": 9_000_000_000})
    d = evaluate_channel(s, SCORE_RULES)
    assert d.kind is DecisionKind.INCREASE_FEES
    assert d.proposed_policy.fee_rate_ppm == 550
    assert "strong channel" in d.reasons[0]


def test_idle_outbound_lowers():
    s = snapshot(
        channel_kw={"local_balance_sat": 4_500_000, "remote_balance_sat": 490_000},
        recent_kw={"forwards_out": 0, "forwards_in": 0},
    )
    d = evaluate_channel(s, SCORE_RULES)
    assert d.kind is DecisionKind.LOWER_FEES
    assert d.proposed_policy.fee_rate_ppm == 450
    assert "idle outbound" in d.reasons[0]


def test_weak_channel_lowers():
    s = snapshot(
        channel_kw={"age_s": 5 * DAY, "peer": node(centrality=CentralityUnknown(reason="x"))},
        history_kw={"forwards_in": 1, "forwards_out": 1, "amount_out_msat": 1000},
        recent_kw={"forwards_out": 1, "forwards_in": 0},
    )
    s = replace(s, channel=replace(s.channel, peer=replace(
        s.channel.peer, uptime=UptimeKnown(ratio_ppm=200_000, source="t", observed_at_s=NOW))))
    d = evaluate_channel(s, SCORE_RULES)
    assert d.kind is DecisionKind.LOWER_FEES, d.reasons
    assert "weak channel" in d.reasons[0]


def dead_channel_snapshot():
    s = snapshot(
        channel_kw={"age_s": 200 * DAY,
                    "peer": node(centrality=CentralityUnknown(reason="x"),
                                 uptime=UptimeKnown(ratio_ppm=100_000, source="t",
                                                    observed_at_s=NOW))},
        history_kw={"forwards_in": 0, "forwards_out": 0, "amount_out_msat": 0,
                    "amount_in_msat": 0, "fees_earned_msat": 0},
        recent_kw={"forwards_in": 0, "forwards_out": 0, "amount_out_msat": 0,
                   "amount_in_msat": 0, "fees_earned_msat": 0},
    )
    return s


def test_close_is_a_recommendation_by_default():
    d = evaluate_channel(dead_channel_snapshot(), POLICY)
    assert d.kind is DecisionKind.CLOSE_CHANNEL
    assert d.executable is False
    assert any("recommendation only" in r for r in d.reasons)
    assert d.proposed_policy == d.current_policy


def test_close_executable_only_when_enabled():
    d = evaluate_channel(dead_channel_snapshot(), with_env(CLOSE__EXECUTE="true"))
    assert d.kind is DecisionKind.CLOSE_CHANNEL and d.executable is True


def test_offline_peer_no_action():
    d = evaluate_channel(snapshot(channel_kw={"active": False}), POLICY)
    assert d.kind is DecisionKind.NO_ACTION and "offline" in d.reasons[0]


def test_cooldown_blocks_changes():
    s = snapshot(
        history_kw={"forwards_in": 80, "forwards_out": 80, "amount_out_msat": 9_000_000_000},
        last_change=LastChangeAt(at_s=NOW - 3600),
    )
    d = evaluate_channel(s, POLICY)
    assert d.kind is DecisionKind.NO_ACTION and "cooldown" in d.reasons[0]


def test_step_cap_and_bounds():
    s = snapshot(
        channel_kw={"our_policy": policy(fee_rate_ppm=2400)},
        history_kw={"forwards_in": 80, "forwards_out": 80, "amount_out_msat": 9_000_000_000},
    )
    d = evaluate_channel(s, SCORE_RULES)
    assert d.proposed_policy.fee_rate_ppm == 2500  # max bound, 240 would exceed it
    assert any("held at the policy's maximum of 2500" in r for r in d.reasons)
    s = snapshot(
        channel_kw={"our_policy": policy(fee_rate_ppm=2000),
                    "local_balance_sat": 100_000, "remote_balance_sat": 4_890_000},
        recent_kw={"forwards_out": 3, "failed_htlcs": 9},
    )
    d = evaluate_channel(s, with_env(BOUNDS__MAX_FEE_RATE_PPM="5000", PRICING__ENABLED="false"))
    assert d.proposed_policy.fee_rate_ppm == 2250  # 20% = 400, capped at the 250 ppm step
    assert any("capped at the largest step of 250" in r for r in d.reasons)


def test_fee_far_outside_bounds_is_left_to_the_operator():
    s = snapshot(
        channel_kw={"our_policy": policy(fee_rate_ppm=9000)},
        history_kw={"forwards_in": 80, "forwards_out": 80, "amount_out_msat": 9_000_000_000},
    )
    d = evaluate_channel(s, SCORE_RULES)
    assert d.kind is DecisionKind.NO_ACTION
    assert any("outside the policy's bounds" in r for r in d.reasons)


def test_below_minimum_change_is_not_sent():
    s = snapshot(
        channel_kw={"our_policy": policy(fee_rate_ppm=20),
                    "local_balance_sat": 4_500_000, "remote_balance_sat": 490_000},
        recent_kw={"forwards_out": 0, "forwards_in": 0},
    )
    d = evaluate_channel(s, SCORE_RULES)  # 10% of 20 = 2 ppm < 5 ppm minimum
    assert d.kind is DecisionKind.NO_ACTION
    assert any("less than the minimum change 5 ppm" in r for r in d.reasons)


# --- corrupted, absent and aberrant data ---------------------------------------------------


@pytest.mark.parametrize(
    "build, needle",
    [
        (lambda: snapshot(channel_kw={"local_balance_sat": -5}), "local balance (sat) is -5"),
        (lambda: snapshot(channel_kw={"local_balance_sat": 4_000_000,
                                      "remote_balance_sat": 4_000_000}), "exceed the capacity"),
        (lambda: snapshot(channel_kw={"capacity_sat": 0}), "capacity is 0 sat"),
        (lambda: snapshot(channel_kw={"capacity_sat": float("nan")}), "not an integer"),
        (lambda: snapshot(channel_kw={"our_policy": policy(fee_rate_ppm=float("inf"))}),
         "fee rate (ppm) is inf"),
        (lambda: snapshot(channel_kw={"our_policy": policy(fee_rate_ppm=50_000_000)}),
         "above the plausible maximum"),
        (lambda: snapshot(channel_kw={"age_s": -3 * DAY}), "opened in the future"),
        (lambda: snapshot(last_change=LastChangeAt(at_s=NOW + 999)), "after the snapshot time"),
        (lambda: snapshot(channel_kw={"peer": node(uptime=UptimeKnown(
            ratio_ppm=5_000_000, source="x", observed_at_s=NOW))}), "peer uptime (ppm)"),
        (lambda: snapshot(channel_kw={"peer": node(uptime=UptimeKnown(
            ratio_ppm=5, source="x", observed_at_s=NOW + 3600))}), "after the snapshot time"),
        (lambda: snapshot(channel_kw={"peer": node(uptime=UptimeKnown(
            ratio_ppm=5, source="x", observed_at_s=NOW + 601))}), "after the snapshot time"),
        (lambda: snapshot(history_kw={"chan_id": 42}), "for channel 0x0x42"),
        (lambda: snapshot(history_kw={"forwards_out": -1}), "forwards out is -1"),
        (lambda: snapshot(recent_kw={"failed_htlcs": 3, "failed_balance": 2, "failed_fee": 2}),
         "recent failures by kind (2 balance, 0 downstream, 2 fee) exceed the 3 failed HTLCs"),
        (lambda: snapshot(history_kw={"failed_fee": -2}), "history failed fee is -2"),
        (lambda: snapshot(recent_kw={"window_s": 0}), "window length"),
        (lambda: snapshot(taken_at_s=-1), "snapshot time"),
        (lambda: snapshot(channel_kw={"our_policy": None}), "our policy is missing"),
        (lambda: snapshot(channel_kw={"peer": None}), "malformed"),
    ],
)
def test_defective_snapshot_gives_no_action_naming_the_defect(build, needle):
    d = evaluate_channel(build(), POLICY)
    assert d.kind is DecisionKind.NO_ACTION
    assert d.reasons[0].startswith("snapshot rejected")
    assert needle in d.reasons[0], d.reasons[0]


# --- properties ----------------------------------------------------------------------------

ints = st.integers
snapshots = st.builds(
    lambda cap, local_share, rate, base, fout, fail, rfout, age, up, cent, hist_amt, last: (
        snapshot(
            channel_kw={
                "capacity_sat": cap,
                "local_balance_sat": cap * local_share // 100,
                "remote_balance_sat": cap - cap * local_share // 100,
                "age_s": age,
                "our_policy": policy(fee_rate_ppm=rate, base_fee_msat=base),
                "peer": node(
                    uptime=UptimeKnown(ratio_ppm=up, source="h", observed_at_s=NOW),
                    centrality=(CentralityUnknown(reason="h") if cent < 0 else
                                replace(node().centrality, normalized_ppm=cent)),
                ),
            },
            recent_kw={"forwards_out": rfout, "failed_htlcs": fail},
            history_kw={"forwards_out": fout, "amount_out_msat": hist_amt},
            last_change=last,
        )
    ),
    ints(1, 10**9), ints(0, 100), ints(0, 6000), ints(0, 8000), ints(0, 1000), ints(0, 100),
    ints(0, 50), ints(0, 1000 * DAY), ints(0, 1_000_000), ints(-1, 1_000_000),
    ints(0, 10**15),
    st.one_of(st.none(), ints(0, 60 * DAY)).map(
        lambda x: NeverChanged() if x is None else LastChangeAt(at_s=NOW - x)
    ),
)
policies = st.builds(
    lambda lo, span, step, minc, inc, low, raise_pct, learn: load_policy(environ={
        "MCP_POLICY__PRICING__ENABLED": "true" if learn else "false",
        "MCP_POLICY__BOUNDS__MIN_FEE_RATE_PPM": str(lo),
        "MCP_POLICY__BOUNDS__MAX_FEE_RATE_PPM": str(lo + span),
        "MCP_POLICY__STEPS__MAX_FEE_RATE_STEP_PPM": str(step),
        # a minimum change above the largest step is refused at load (no fee could move)
        "MCP_POLICY__STEPS__MIN_CHANGE_PPM": str(min(minc, step)),
        "MCP_POLICY__ADJUSTMENTS__INCREASE_PCT": str(inc),
        "MCP_POLICY__ADJUSTMENTS__LOWER_PCT": str(low),
        "MCP_POLICY__UNDERPERFORMANCE__RAISE_PCT": str(raise_pct),
    }),
    ints(0, 500), ints(0, 5000), ints(1, 1000), ints(0, 50), ints(0, 300), ints(0, 100),
    ints(0, 300), st.booleans(),
)
PROPS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPS
@given(snapshots, policies)
def test_proposed_fees_always_within_bounds(s, p):
    d = evaluate_channel(s, p)
    if d.kind in (DecisionKind.INCREASE_FEES, DecisionKind.LOWER_FEES):
        b, new = p.bounds, d.proposed_policy
        assert b.min_fee_rate_ppm <= new.fee_rate_ppm <= b.max_fee_rate_ppm
        assert b.min_base_fee_msat <= new.base_fee_msat <= b.max_base_fee_msat
        assert b.min_inbound_fee_rate_ppm <= new.inbound_fee_rate_ppm <= b.max_inbound_fee_rate_ppm
        assert (b.min_inbound_base_fee_msat <= new.inbound_base_fee_msat
                <= b.max_inbound_base_fee_msat)
    else:
        assert d.proposed_policy == d.current_policy


@PROPS
@given(snapshots, policies)
def test_one_change_never_exceeds_the_largest_step(s, p):
    d = evaluate_channel(s, p)
    old, new = d.current_policy, d.proposed_policy
    assert abs(new.fee_rate_ppm - old.fee_rate_ppm) <= p.steps.max_fee_rate_step_ppm
    assert abs(new.base_fee_msat - old.base_fee_msat) <= p.steps.max_base_fee_step_msat
    if d.kind is DecisionKind.INCREASE_FEES:
        assert new.fee_rate_ppm >= old.fee_rate_ppm
    if d.kind is DecisionKind.LOWER_FEES:
        assert new.fee_rate_ppm <= old.fee_rate_ppm


@PROPS
@given(snapshots, st.sampled_from(FACTOR_NAMES), st.sampled_from(FACTOR_NAMES))
def test_disabling_a_factor_never_changes_another_contribution(s, off, other):
    base = evaluate_channel(s, POLICY)
    p = with_env(**{f"FACTORS__{off.upper()}__ENABLED": "false"})
    d = evaluate_channel(s, p)
    assert isinstance(factor(d, off), DisabledFactor)  # contributes nothing
    if other != off:
        assert factor(d, other) == factor(base, other)


@PROPS
@given(snapshots, policies)
def test_deterministic_and_explained(s, p):
    a, b = evaluate_channel(s, p), evaluate_channel(s, p)
    assert msgspec.json.encode(a) == msgspec.json.encode(b)
    assert a.reasons and all(isinstance(r, str) and r for r in a.reasons)
    assert 0.0 <= a.score <= 1.0 and not math.isnan(a.score)
    assert a.chan_id == CHAN and a.evaluated_at_s == NOW


@settings(max_examples=200, deadline=None)
@given(st.integers(-10**20, 10**20), st.integers(-10**20, 10**20), st.integers(-10**20, 10**20))
def test_never_raises_on_arbitrary_integers(cap, local, rate):
    s = snapshot(channel_kw={"capacity_sat": cap, "local_balance_sat": local,
                             "our_policy": policy(fee_rate_ppm=rate)})
    d = evaluate_channel(s, POLICY)
    assert d.reasons


def test_peer_facts_gathered_during_the_cycle_are_current():
    """Facts fetched while the cycle runs are dated a little after its snapshot: not defects."""
    s = snapshot(channel_kw={"peer": node(
        uptime=UptimeKnown(ratio_ppm=990_000, source="amboss", observed_at_s=NOW + 600),
        centrality=replace(node().centrality, observed_at_s=NOW + 30))})
    d = evaluate_channel(s, POLICY)
    assert not d.reasons[0].startswith("snapshot rejected"), d.reasons


def test_channel_builder_sanity():
    assert channel().capacity_sat >= channel().local_balance_sat


def test_no_factor_scored_is_not_a_zero_score():
    # Only the peer facts weigh, and no provider knows them: nothing was scored. A score of 0
    # standing for "unknown" made every channel "weak" (fees lowered) and every mature idle
    # channel a close candidate.
    p = with_env(
        FACTORS__VOLUME__ENABLED="false",
        FACTORS__CHANNEL_AGE__ENABLED="false",
        FACTORS__FORWARD_ACTIVITY__ENABLED="false",
        PRICING__ENABLED="false",
    )
    unknown_peer = node(
        centrality=CentralityUnknown(reason="amboss down"),
        uptime=UptimeUnknown(reason="never seen"),
    )
    s = snapshot(
        channel_kw={"local_balance_sat": 2_500_000, "remote_balance_sat": 2_490_000,
                    "age_s": 200 * DAY, "peer": unknown_peer},
        history_kw={"forwards_in": 0, "forwards_out": 0, "amount_out_msat": 0,
                    "amount_in_msat": 0, "fees_earned_msat": 0},
        recent_kw={"forwards_in": 0, "forwards_out": 0, "amount_out_msat": 0,
                   "amount_in_msat": 0, "fees_earned_msat": 0},
    )
    d = evaluate_channel(s, p)
    assert not any(isinstance(f, ScoredFactor) for f in d.factors)
    assert d.kind is DecisionKind.NO_ACTION, d.reasons
    assert d.proposed_policy == d.current_policy
    assert any("no factor could be scored" in r for r in d.reasons), d.reasons
    # the liquidity rules do not need a score: an idle, full outbound side is still lowered
    idle = replace(s, channel=replace(
        s.channel, local_balance_sat=4_500_000, remote_balance_sat=490_000))
    d = evaluate_channel(idle, p)
    assert d.kind is DecisionKind.LOWER_FEES and "idle outbound" in d.reasons[0], d.reasons


def test_swapped_windows_are_a_defect_not_a_close():
    # Both windows end at the snapshot time, so the recent one lies inside the history one.
    # Swapped, the "history" said nothing routed in 2 days and the mature channel was
    # recommended for closing although it routed 40 forwards in 30 days.
    s = snapshot(
        channel_kw={"age_s": 200 * DAY},
        recent_kw={"window_s": 30 * DAY},
        history_kw={"window_s": 2 * DAY, "forwards_in": 0, "forwards_out": 0,
                    "amount_in_msat": 0, "amount_out_msat": 0, "fees_earned_msat": 0},
    )
    d = evaluate_channel(s, POLICY)
    assert d.kind is DecisionKind.NO_ACTION, d.reasons
    assert d.reasons[0].startswith("snapshot rejected")
    assert "recent window" in d.reasons[0] and "history window" in d.reasons[0], d.reasons


def test_recent_window_longer_than_history_is_refused_by_the_policy():
    from mcp_optimizer.policies.config import PolicyError

    with pytest.raises(PolicyError) as err:
        with_env(UNDERPERFORMANCE__WINDOW_S=str(40 * DAY))
    assert "underperformance.window_s" in str(err.value)
    assert "windows.history_s" in str(err.value)


def test_a_change_that_rounds_to_nothing_is_not_proposed():
    # minimum change 0: 10% of 4 ppm rounds to 0 ppm; LOWER_FEES proposing the current policy
    # unchanged claimed a change that is none
    p = with_env(STEPS__MIN_CHANGE_PPM="0", PRICING__ENABLED="false")
    s = snapshot(
        channel_kw={"local_balance_sat": 4_500_000, "remote_balance_sat": 490_000,
                    "our_policy": policy(fee_rate_ppm=4)},
        recent_kw={"forwards_out": 0, "forwards_in": 0},
    )
    d = evaluate_channel(s, p)
    assert d.kind is DecisionKind.NO_ACTION, d.reasons
    assert d.proposed_policy == d.current_policy
    assert "idle outbound" in d.reasons[0]
    assert any("equals the current one" in r for r in d.reasons[1:]), d.reasons
