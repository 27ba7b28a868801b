"""The shadow report's effect estimate (pure): hand-computed examples and properties."""

from __future__ import annotations

import msgspec
from builders import policy
from hypothesis import given, settings
from hypothesis import strategies as st

from mcp_optimizer.journal.effect import NO_FORWARDS, estimate_effect, would_be_periods
from mcp_optimizer.journal.reports import shadow_report
from mcp_optimizer.journal.shadow import from_history, not_estimated
from mcp_optimizer.messages import (
    CONSTANT_VOLUME_BASIS,
    AsOnNode,
    ChangeAction,
    ChangeOrigin,
    ChangeRecord,
    ChangeState,
    ChannelEffect,
    ChannelNoForwards,
    EffectEstimated,
    EffectNotEstimated,
    ForwardingEvent,
    Mode,
    PolicyUnknown,
    WithoutDecision,
    WouldBePeriod,
)
from mcp_optimizer.providers.lnd.errors import LndUnreachable

NS = 1_000_000_000
ON_NODE = policy(base_fee_msat=1000, fee_rate_ppm=500)


def change(chan_id: int, at_s: int, ppm: int, state=ChangeState.SHADOWED, cid: int = 1,
           action=ChangeAction.UPDATE_POLICY) -> ChangeRecord:
    return ChangeRecord(
        change_id=cid, chan_id=chan_id, channel_point=f"{chan_id:064x}:0", action=action,
        origin=ChangeOrigin.EXTERNAL if state is ChangeState.EXTERNAL else ChangeOrigin.SERVICE,
        mode=Mode.SHADOW, state=state, old_policy=ON_NODE,
        new_policy=msgspec.structs.replace(ON_NODE, fee_rate_ppm=ppm),
        observed_policy=PolicyUnknown(reason="not read"), decision=WithoutDecision(),
        rolls_back=[], reasons=[], stopped_by=[], requested_at_s=at_s, updated_at_s=at_s,
        events=[],
    )


def fwd(at_s: float, chan_out: int, amt: int, fee: int, chan_in: int = 7) -> ForwardingEvent:
    return ForwardingEvent(timestamp_ns=int(at_s * NS), chan_id_in=chan_in, chan_id_out=chan_out,
                           amt_in_msat=amt + fee, amt_out_msat=amt, fee_msat=fee)


def test_would_be_periods_follow_the_would_be_changes_only():
    recs = [
        change(1, 900, 700, cid=1),                         # before the period: not counted
        change(1, 1200, 550, cid=2),
        change(1, 1300, 999, ChangeState.HELD, cid=3),      # held: never going to be written
        change(1, 1400, 300, ChangeState.EXTERNAL, cid=4),  # the operator's: actual fees only
        change(1, 1500, 600, ChangeState.NOT_EXECUTED, cid=5),
        change(1, 1500, 650, cid=6),                        # same second: the later one holds
        change(1, 2000, 800, cid=7),                        # at the period's end: excluded
        change(2, 1100, 100, ChangeState.REFUSED, cid=8),
        change(3, 1700, 900, cid=9),                        # channel not asked for
        change(1, 1600, 1, cid=10, action=ChangeAction.CLOSE_CHANNEL),
    ]
    got = would_be_periods(recs, [1, 2], 1000, 2000)
    assert [(p.chan_id, p.start_s, p.end_s) for p in got] == [
        (1, 1000, 1200), (1, 1200, 1500), (1, 1500, 2000), (2, 1000, 2000)
    ]
    assert got[0].policy == AsOnNode() and got[3].policy == AsOnNode()
    assert got[1].policy.fee_rate_ppm == 550 and got[2].policy.fee_rate_ppm == 650
    # a change right at the start replaces the node's own policy from the first second
    [p] = would_be_periods([change(1, 1000, 420)], [1], 1000, 2000)
    assert (p.start_s, p.end_s, p.policy.fee_rate_ppm) == (1000, 2000, 420)
    assert would_be_periods(recs, [1], 2000, 2000) == []


def test_estimate_by_hand():
    periods = would_be_periods([change(1, 1500, 600)], [1, 2], 1000, 2000)
    forwards = [
        fwd(999.5, 1, 5_000_000, 3500),   # before the period
        fwd(1200, 1, 1_000_000, 1500),    # node's own policy: would-be = actual
        fwd(1600, 1, 2_000_000, 2000),    # 1000 + 2_000_000 * 600 // 1e6 = 2200
        fwd(1999.9, 1, 333, 1000),        # 1000 + 333 * 600 // 1e6 = 1000 (rounded down)
        fwd(2000, 1, 9_000_000, 5500),    # at the end: excluded
        fwd(1600, 3, 1_000_000, 1500),    # out through a channel not in the report
        fwd(1600, 9, 1_000_000, 1500, chan_in=2),  # INTO channel 2: not its forward out
    ]
    e = estimate_effect(periods, forwards, "test node")
    assert e.basis == CONSTANT_VOLUME_BASIS and "constant volume" in e.basis
    assert e.source == "test node"
    one, two = e.channels
    assert isinstance(one, ChannelEffect) and one.chan_id == 1
    assert (one.forward_count, one.amt_out_msat) == (3, 3_000_333)
    assert (one.actual_fee_msat, one.would_be_fee_msat, one.difference_msat) == (
        4500, 4700, 200)
    assert [(p.forward_count, p.actual_fee_msat, p.would_be_fee_msat) for p in one.periods] == [
        (1, 1500, 1500), (2, 3000, 3200)]
    assert two == ChannelNoForwards(chan_id=2, reason=NO_FORWARDS)
    assert (e.forward_count, e.actual_fee_msat, e.would_be_fee_msat, e.difference_msat) == (
        3, 4500, 4700, 200)


def test_a_lower_would_be_fee_gives_a_negative_difference():
    periods = would_be_periods([change(5, 0, 100)], [5], 0, 10)
    e = estimate_effect(periods, [fwd(1, 5, 10_000_000, 6000)], "n")
    # would-be: 1000 + 10_000_000 * 100 // 1e6 = 2000
    assert (e.actual_fee_msat, e.would_be_fee_msat, e.difference_msat) == (6000, 2000, -4000)


def test_shadow_report_carries_the_effect_of_its_channels():
    recs = [change(1, 1500, 600, cid=1), change(2, 1100, 100, ChangeState.EXTERNAL, cid=2)]
    seen = []

    def effect(periods):
        seen.extend(periods)
        return estimate_effect(periods, [fwd(1600, 1, 2_000_000, 2000)], "n")

    report = shadow_report(recs, [], 1000, 2000, effect)
    assert [r.chan_id for r in report.channels] == [1, 2]
    assert {p.chan_id for p in seen} == {1, 2}
    assert report.effect.difference_msat == 200
    assert isinstance(report.effect.channels[1], ChannelNoForwards)
    out = shadow_report(recs, [], 1000, 2000, not_estimated("why not"))
    assert out.effect == EffectNotEstimated(reason="why not")


def test_from_history_reads_only_when_needed_and_turns_a_node_failure_into_a_reason():
    calls = []

    def pages(start, end):
        calls.append((start, end))
        yield [fwd(1200, 1, 1_000_000, 1500)]
        raise LndUnreachable("ForwardingHistory: the node is unreachable")

    eff = from_history(pages, "LND at x", 1000, 2000)
    assert eff([]) == EffectEstimated(basis=CONSTANT_VOLUME_BASIS, source="LND at x",
                                      channels=[], forward_count=0, actual_fee_msat=0,
                                      would_be_fee_msat=0, difference_msat=0)
    assert calls == []
    out = eff(would_be_periods([], [1], 1000, 2000))
    assert isinstance(out, EffectNotEstimated) and calls == [(1000, 2000)]
    assert "could not be read from LND at x" in out.reason and "unreachable" in out.reason


# ---- properties ----------------------------------------------------------------------------

policies = st.builds(
    lambda base, ppm: policy(base_fee_msat=base, fee_rate_ppm=ppm),
    st.integers(0, 10_000), st.integers(0, 10_000),
)
forward_lists = st.lists(
    st.tuples(st.integers(0, 9_999), st.sampled_from([1, 2, 3]), st.integers(1, 10**10)),
    max_size=60,
)
cut_lists = st.lists(st.integers(1, 9_999), max_size=5, unique=True)


def lnd_fee(p, amt: int) -> int:
    """What LND charges: base + amt * rate / 1e6, in integers (rounded down)."""
    return p.base_fee_msat + (amt * p.fee_rate_ppm) // 1_000_000


def _periods(cuts_by_chan: dict[int, list[int]], pol_at) -> list[WouldBePeriod]:
    out = []
    for chan, cuts in cuts_by_chan.items():
        edges = [0, *sorted(cuts), 10_000]
        out += [WouldBePeriod(chan_id=chan, start_s=s, end_s=e, policy=pol_at(chan, i))
                for i, (s, e) in enumerate(zip(edges, edges[1:], strict=False))]
    return out


@settings(max_examples=200, deadline=None)
@given(actual=policies, raw=forward_lists, c1=cut_lists, c2=cut_lists,
       as_on_node=st.lists(st.booleans(), min_size=6, max_size=6))
def test_equal_policies_make_no_difference(actual, raw, c1, c2, as_on_node):
    forwards = [fwd(t, c, a, lnd_fee(actual, a)) for t, c, a in raw]
    periods = _periods({1: c1, 2: c2},
                       lambda chan, i: AsOnNode() if as_on_node[i] else actual)
    e = estimate_effect(periods, forwards, "n")
    assert e.difference_msat == 0 and e.would_be_fee_msat == e.actual_fee_msat
    assert e.forward_count == sum(1 for _, c, _ in raw if c in (1, 2))
    for ch in e.channels:
        if isinstance(ch, ChannelEffect):
            assert ch.difference_msat == 0
            assert ch.forward_count == sum(p.forward_count for p in ch.periods) >= 1


@settings(max_examples=200, deadline=None)
@given(actual=policies, low=policies, extra_ppm=st.integers(0, 5_000),
       extra_base=st.integers(0, 5_000), raw=forward_lists, cuts=cut_lists)
def test_a_higher_rate_never_earns_less_at_constant_volume(
    actual, low, extra_ppm, extra_base, raw, cuts
):
    high = msgspec.structs.replace(low, fee_rate_ppm=low.fee_rate_ppm + extra_ppm,
                                   base_fee_msat=low.base_fee_msat + extra_base)
    forwards = [fwd(t, c, a, lnd_fee(actual, a)) for t, c, a in raw]
    e_low = estimate_effect(_periods({1: cuts, 2: cuts}, lambda c, i: low), forwards, "n")
    e_high = estimate_effect(_periods({1: cuts, 2: cuts}, lambda c, i: high), forwards, "n")
    assert e_high.would_be_fee_msat >= e_low.would_be_fee_msat
    assert e_high.difference_msat >= e_low.difference_msat
    assert e_high.actual_fee_msat == e_low.actual_fee_msat
    for h, lo in zip(e_high.channels, e_low.channels, strict=True):
        assert type(h) is type(lo)
        if isinstance(h, ChannelEffect):
            assert h.would_be_fee_msat >= lo.would_be_fee_msat
            # by hand: every forward charged at the high policy
            mine = [a for t, c, a in raw if c == h.chan_id]
            assert h.would_be_fee_msat == sum(lnd_fee(high, a) for a in mine)
