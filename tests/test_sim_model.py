"""The simulated node's public interface: channels, graph, forwards, market rules, events."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import replace

import numpy as np
import pytest

from mcp_optimizer.simulator.model import (
    SimChannelEvent,
    SimForward,
    SimHtlcEvent,
    SimulatedNode,
)

DAY = 86_400


@pytest.fixture(scope="module")
def demo() -> SimulatedNode:
    """A shared demo node that tests only read."""
    return SimulatedNode.from_scenario("demo")


def fresh() -> SimulatedNode:
    return SimulatedNode.from_scenario("demo")


def test_identity_and_clock(demo: SimulatedNode) -> None:
    assert len(demo.identity_pubkey) == 66 and demo.identity_pubkey[:2] in ("02", "03")
    assert demo.alias == "sim-demo"
    major, minor = (int(x) for x in demo.version.split(".")[:2])
    assert (major, minor) >= (0, 18)
    assert demo.now_s() == 1_770_076_800  # 2026-02-03T00:00:00Z, the scenario start
    assert 930_000 < demo.block_height() < 940_000
    assert demo.allow_positive_inbound is False


def test_channels_are_consistent(demo: SimulatedNode) -> None:
    chans = demo.channels()
    assert len(chans) == 21
    assert len({c.chan_id for c in chans}) == 21
    assert len({c.channel_point for c in chans}) == 21
    assert len({c.remote_pubkey for c in chans}) == 21
    assert {c.profile for c in chans} == {
        "star", "balanced", "saturated", "inactive", "abused", "flapping", "new"
    }
    for c in chans:
        assert 0 <= c.local_balance_sat and 0 <= c.remote_balance_sat
        # balances are held in msat; each side rounds down to whole sat
        assert c.capacity_sat - 1 <= c.local_balance_sat + c.remote_balance_sat <= c.capacity_sat
        assert c.opened_at_s < demo.now_s()
        assert 0 <= c.uptime_s <= c.lifetime_s <= 30 * DAY
        assert c.local_policy.time_lock_delta == 80
        assert c.chan_id >> 40 > 800_000  # a block height in the short channel id
        assert demo.channel(c.channel_point) == c
    with pytest.raises(KeyError, match="no channel"):
        demo.channel("00" * 32 + ":0")


def test_graph_contains_our_node_and_channels_in_bolt7_order(demo: SimulatedNode) -> None:
    nodes, edges = demo.graph()
    assert len(nodes) == 2001
    pubkeys = {n.pubkey for n in nodes}
    assert demo.identity_pubkey in pubkeys and len(pubkeys) == len(nodes)
    assert len({e.chan_id for e in edges}) == len(edges)
    for e in edges:
        assert e.node1_pub < e.node2_pub
        assert e.node1_pub in pubkeys and e.node2_pub in pubkeys
    ours = {e.chan_id: e for e in edges if demo.identity_pubkey in (e.node1_pub, e.node2_pub)}
    chans = demo.channels()
    assert set(ours) == {c.chan_id for c in chans}
    for c in chans:
        e = ours[c.chan_id]
        mine = e.node1_policy if e.node1_pub == demo.identity_pubkey else e.node2_policy
        theirs = e.node2_policy if e.node1_pub == demo.identity_pubkey else e.node1_policy
        assert mine == c.local_policy and theirs == c.remote_policy
        assert demo.edge(c.chan_id) == e
    other = next(e for e in edges if e.chan_id not in ours)
    assert demo.edge(other.chan_id) == other
    assert demo.edge(12345) is None
    assert demo.graph_node(demo.identity_pubkey).alias == "sim-demo"
    assert demo.graph_node("02" + "00" * 32) is None
    assert demo.node_channel_stats(demo.identity_pubkey) == (
        21,
        sum(c.capacity_sat for c in chans),
    )
    peer = chans[0].remote_pubkey
    count = sum(1 for e in edges if peer in (e.node1_pub, e.node2_pub))
    cap = sum(e.capacity_sat for e in edges if peer in (e.node1_pub, e.node2_pub))
    assert demo.node_channel_stats(peer) == (count, cap)
    assert demo.node_channel_stats("02" + "11" * 32) == (0, 0)


def test_history_holds_30_days_of_forwards_sorted_with_the_outgoing_fee(
    demo: SimulatedNode,
) -> None:
    now = demo.now_s()
    view = demo.forwards(now - 30 * DAY, now)
    assert len(view) > 10_000
    assert len(demo.forwards(0, now - 30 * DAY)) == 0  # nothing before the history
    assert demo.forward_count() == len(view)
    cols = view.columns
    assert np.all(np.diff(cols.timestamp_ns) >= 0)
    assert cols.timestamp_ns[0] >= (now - 30 * DAY) * 10**9
    assert cols.timestamp_ns[-1] < now * 10**9
    policy = {c.chan_id: c.local_policy for c in demo.channels()}
    # history runs with the scenario's policies; no inbound fees in the demo
    for f in list(view[:500]) + list(view[-500:]):
        assert isinstance(f, SimForward)
        p = policy[f.chan_id_out]
        assert f.fee_msat == p.base_fee_msat + f.amt_out_msat * p.fee_rate_ppm // 1_000_000
        assert f.amt_in_msat == f.amt_out_msat + f.fee_msat
        assert f.chan_id_in != f.chan_id_out
    # [start, end) windows tile the history
    mid = now - 10 * DAY
    assert len(demo.forwards(now - 30 * DAY, mid)) + len(demo.forwards(mid, now)) == len(view)
    assert view[-1] == view[len(view) - 1]
    assert len(view[10:20]) == 10 and view[10:20][0] == view[10]
    with pytest.raises(IndexError):
        view[len(view)]


def test_same_seed_same_history_other_seed_other_history(tmp_path) -> None:
    a, b = fresh(), fresh()
    ca, cb = a.forwards(0, a.now_s()).columns, b.forwards(0, b.now_s()).columns
    for field in ("timestamp_ns", "chan_id_in", "chan_id_out", "amt_in_msat", "fee_msat"):
        assert np.array_equal(getattr(ca, field), getattr(cb, field))
    assert a.channels() == b.channels()
    assert a.graph() == b.graph()
    a.advance(6 * 3600)
    b.advance(6 * 3600)
    assert a.forward_count() == b.forward_count() and a.channels() == b.channels()
    from mcp_optimizer.simulator import scenario as sc

    text = sc.resources.files(sc.SHIPPED_PACKAGE).joinpath("demo.yml").read_text()
    other = tmp_path / "other.yml"
    other.write_text(text.replace("seed: 20260203", "seed: 99"))
    c = SimulatedNode.from_scenario(str(other))
    assert c.identity_pubkey != a.identity_pubkey
    assert c.forward_count() != a.forward_count()


def test_forwards_move_liquidity_between_our_channels() -> None:
    node = fresh()
    before = {c.chan_id: c for c in node.channels()}
    t0 = node.now_s()
    node.advance(2 * DAY)
    after = {c.chan_id: c for c in node.channels()}
    cols = node.forwards(t0, node.now_s()).columns
    assert len(cols) > 1000
    for cid, c in after.items():
        gained = int(cols.amt_in_msat[cols.chan_id_in == cid].sum())
        lost = int(cols.amt_out_msat[cols.chan_id_out == cid].sum())
        delta_msat = gained - lost
        delta_sat = c.local_balance_sat - before[cid].local_balance_sat
        assert abs(delta_sat * 1000 - delta_msat) < 1000, c.profile
        assert c.capacity_sat - 1 <= c.local_balance_sat + c.remote_balance_sat <= c.capacity_sat
    assert node.now_s() == t0 + 2 * DAY
    with pytest.raises(ValueError, match="negative"):
        node.advance(-1)


def test_higher_fee_fewer_forwards() -> None:
    cheap, dear = fresh(), fresh()
    star = next(c for c in cheap.channels() if c.profile == "star")
    t0 = cheap.now_s()
    ref = star.local_policy.fee_rate_ppm
    cheap.set_local_policy(star.channel_point, replace(star.local_policy, fee_rate_ppm=0))
    dear.set_local_policy(star.channel_point, replace(star.local_policy, fee_rate_ppm=ref * 20))
    assert dear.channel(star.channel_point).local_policy.fee_rate_ppm == ref * 20
    assert dear.channel(star.channel_point).local_policy.last_update_s == t0
    for n in (cheap, dear):
        n.advance(3 * DAY)

    def out_count(n: SimulatedNode) -> int:
        cols = n.forwards(t0, n.now_s()).columns
        return int((cols.chan_id_out == star.chan_id).sum())

    assert out_count(cheap) > 3 * out_count(dear)
    # and the new fee is what the forwards earn
    for f in dear.forwards(t0, dear.now_s()):
        if f.chan_id_out == star.chan_id:
            p = dear.channel(star.channel_point).local_policy
            assert f.fee_msat == p.base_fee_msat + f.amt_out_msat * p.fee_rate_ppm // 1_000_000


def test_events_link_fail_and_offline_peers_carry_nothing() -> None:
    node = fresh()
    events: list[SimChannelEvent | SimHtlcEvent] = []
    unsubscribe = node.subscribe(events.append)
    by_id = {c.chan_id: c for c in node.channels()}
    active = {c.chan_id: c.active for c in by_id.values()}
    node.advance(3 * DAY)
    kinds = Counter(e.kind for e in events)
    assert kinds["forward"] == kinds["settle"] > 100
    assert kinds["link_fail"] > 10
    assert kinds["inactive"] > 0 and kinds["active"] > 0  # flapping peers
    point = {c.channel_point: c.chan_id for c in by_id.values()}
    failing = Counter()
    for e in events:
        if isinstance(e, SimChannelEvent):
            assert point[e.channel_point] == e.chan_id
            active[e.chan_id] = e.kind == "active"
        else:
            assert active[e.incoming_chan_id] and active[e.outgoing_chan_id], e
            if e.kind == "link_fail":
                assert e.failure_detail == "INSUFFICIENT_BALANCE"
                failing[by_id[e.outgoing_chan_id].profile] += 1
            else:
                assert e.failure_detail == ""
    assert set(failing) <= {"saturated", "abused", "balanced", "flapping", "star", "new"}
    assert failing["saturated"] > 0
    ts = [e.timestamp_ns for e in events if isinstance(e, SimHtlcEvent)]
    assert ts == sorted(ts)
    fails = node.htlc_failures(node.now_s() - 3 * DAY, node.now_s())
    assert len(fails) == kinds["link_fail"]
    unsubscribe()
    n = len(events)
    node.advance(3600)
    assert len(events) == n


def test_disabled_channel_carries_nothing_out_until_enabled() -> None:
    node = fresh()
    star = next(c for c in node.channels() if c.profile == "star")
    node.set_channel_status(star.channel_point, "disable")
    assert node.channel(star.channel_point).local_policy.disabled is True
    t0 = node.now_s()
    node.advance(DAY)
    cols = node.forwards(t0, node.now_s()).columns
    assert int((cols.chan_id_out == star.chan_id).sum()) == 0
    assert int((cols.chan_id_in == star.chan_id).sum()) > 0  # incoming still accepted
    node.set_channel_status(star.channel_point, "auto")
    assert node.channel(star.channel_point).local_policy.disabled is False
    t1 = node.now_s()
    node.advance(DAY)
    cols = node.forwards(t1, node.now_s()).columns
    assert int((cols.chan_id_out == star.chan_id).sum()) > 50
    with pytest.raises(ValueError, match="enable, disable or auto"):
        node.set_channel_status(star.channel_point, "off")
    with pytest.raises(KeyError):
        node.set_channel_status("ab" * 32 + ":1", "enable")
    with pytest.raises(KeyError):
        node.set_local_policy("ab" * 32 + ":1", star.local_policy)


def test_inbound_fee_adds_to_the_fee() -> None:
    node = fresh()
    star = next(c for c in node.channels() if c.profile == "star")
    node.set_local_policy(
        star.channel_point,
        replace(star.local_policy, inbound_base_fee_msat=-200, inbound_fee_rate_ppm=-50),
    )
    t0 = node.now_s()
    node.advance(DAY)
    policy = {c.chan_id: c.local_policy for c in node.channels()}
    seen = 0
    for f in node.forwards(t0, node.now_s()):
        if f.chan_id_in == star.chan_id:
            p = policy[f.chan_id_out]
            out_fee = p.base_fee_msat + f.amt_out_msat * p.fee_rate_ppm // 1_000_000
            in_fee = -200 + ((f.amt_out_msat + out_fee) * -50) // 1_000_000
            assert f.fee_msat == max(out_fee + in_fee, 0)
            seen += 1
    assert seen > 50


def test_reads_are_safe_while_the_clock_advances() -> None:
    node = fresh()
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        try:
            while not stop.is_set():
                chans = node.channels()
                assert len(chans) == 21
                view = node.forwards(0, node.now_s() + 1)
                if len(view):
                    view[len(view) - 1]
                node.graph_node(chans[0].remote_pubkey)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    for _ in range(50):
        node.advance(1800)
    stop.set()
    for t in threads:
        t.join(timeout=10)
    assert not errors
    assert node.now_s() == 1_770_076_800 + 50 * 1800


def test_inbound_discount_attracts_incoming_flow() -> None:
    plain, discounted = fresh(), fresh()
    chan = min(
        (c for c in plain.channels() if c.profile == "balanced"),
        key=lambda c: c.local_balance_sat / c.capacity_sat,
    )
    discounted.set_local_policy(
        chan.channel_point, replace(chan.local_policy, inbound_fee_rate_ppm=-100_000)
    )
    t0 = plain.now_s()
    for n in (plain, discounted):
        n.advance(2 * DAY)

    def in_count(n: SimulatedNode) -> int:
        cols = n.forwards(t0, n.now_s()).columns
        return int((cols.chan_id_in == chan.chan_id).sum())

    assert in_count(discounted) > 1.3 * in_count(plain) > 0
