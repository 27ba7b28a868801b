"""The simulator's gRPC server, tested on the wire with the generated stubs (no client code).

A real server on loopback, over TLS, serving the real simulated node of the shipped ``demo``
scenario (and of a 50,000+-forward scenario for paging).
"""

from __future__ import annotations

import ipaddress
import threading
import time

import grpc
import numpy as np
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from lnd_sim_support import Raw, serve, serve_big

from mcp_optimizer.providers.lnd.gen import lightning_pb2 as ln
from mcp_optimizer.providers.lnd.gen import router_pb2 as rt
from mcp_optimizer.simulator.grpc import ServerStartError, start_server
from mcp_optimizer.simulator.grpc.credentials import CredentialsError
from mcp_optimizer.simulator.grpc.servicer import private_edge
from mcp_optimizer.simulator.model import SimulatedNode

NS = 1_000_000_000


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    node = SimulatedNode.from_scenario("demo")
    server = serve(node, tmp_path_factory.mktemp("state"))
    yield node, server
    server.stop()


@pytest.fixture(scope="module")
def admin(sim):
    raw = Raw(sim[1], sim[1].admin_macaroon_path.read_bytes())
    yield raw
    raw.close()


@pytest.fixture(scope="module")
def readonly(sim):
    raw = Raw(sim[1], sim[1].readonly_macaroon_path.read_bytes())
    yield raw
    raw.close()


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    node, server = serve_big(tmp_path_factory)
    raw = Raw(server, server.admin_macaroon_path.read_bytes())
    yield node, raw
    raw.close()
    server.stop()


def _code(excinfo) -> grpc.StatusCode:
    return excinfo.value.code()


def _chan_point(text: str) -> ln.ChannelPoint:
    txid, index = text.split(":")
    return ln.ChannelPoint(funding_txid_str=txid, output_index=int(index))


def _update(cp: str | None = None, **fields) -> ln.PolicyUpdateRequest:
    fields.setdefault("time_lock_delta", 40)
    if cp is None:
        return ln.PolicyUpdateRequest(**{"global": True}, **fields)
    return ln.PolicyUpdateRequest(chan_point=_chan_point(cp), **fields)


# -- files and TLS ---------------------------------------------------------------------------


def test_state_dir_holds_lnd_style_credentials(sim):
    _, server = sim
    state = server.tls_cert_path.parent
    for name in ("tls.cert", "tls.key", "admin.macaroon", "readonly.macaroon"):
        assert (state / name).stat().st_size > 0, name
    assert (state / "tls.key").stat().st_mode & 0o077 == 0
    assert (state / "admin.macaroon").read_bytes() != (state / "readonly.macaroon").read_bytes()
    cert = x509.load_pem_x509_certificate((state / "tls.cert").read_bytes())
    key = cert.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1"
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in san.get_values_for_type(x509.DNSName)
    assert ipaddress.ip_address("127.0.0.1") in san.get_values_for_type(x509.IPAddress)


def test_restart_reuses_certificate_and_macaroons(tmp_path):
    node = SimulatedNode.from_scenario("demo")
    first = serve(node, tmp_path)
    cert, mac = first.tls_cert_path.read_bytes(), first.admin_macaroon_path.read_bytes()
    first.stop()
    second = serve(node, tmp_path)
    try:
        assert second.tls_cert_path.read_bytes() == cert
        assert second.admin_macaroon_path.read_bytes() == mac
        raw = Raw(second, mac)
        assert raw.call("GetInfo", ln.GetInfoRequest()).identity_pubkey == node.identity_pubkey
        raw.close()
    finally:
        second.stop()


def test_port_in_use_is_refused(sim, tmp_path):
    node, server = sim
    with pytest.raises(ServerStartError, match="cannot listen"):
        start_server(node, server.address, tmp_path)


def test_unusable_state_dir_is_a_clear_error(tmp_path):
    node = SimulatedNode.from_scenario("demo")
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(CredentialsError, match="cannot read or write credentials"):
        start_server(node, "127.0.0.1:0", blocker / "state")


def test_bad_listen_address_is_refused(tmp_path):
    node = SimulatedNode.from_scenario("demo")
    with pytest.raises(ServerStartError, match="HOST:PORT"):
        start_server(node, "no-port-here", tmp_path)


# -- authentication --------------------------------------------------------------------------


def test_missing_macaroon_is_unauthenticated(sim):
    raw = Raw(sim[1], None)
    with pytest.raises(grpc.RpcError) as exc:
        raw.call("GetInfo", ln.GetInfoRequest())
    assert _code(exc) == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.RpcError) as exc:
        next(iter(raw.call("SubscribeHtlcEvents", rt.SubscribeHtlcEventsRequest(), router=True)))
    assert _code(exc) == grpc.StatusCode.UNAUTHENTICATED
    raw.close()


def test_wrong_macaroon_is_unauthenticated(sim):
    raw = Raw(sim[1], b"\x02" * 48)
    with pytest.raises(grpc.RpcError) as exc:
        raw.call("ListChannels", ln.ListChannelsRequest())
    assert _code(exc) == grpc.StatusCode.UNAUTHENTICATED
    raw.close()


def test_readonly_macaroon_reads_but_cannot_write(sim, readonly):
    node, _ = sim
    assert len(readonly.call("ListChannels", ln.ListChannelsRequest()).channels) == len(
        node.channels()
    )
    cp = node.channels()[0].channel_point
    with pytest.raises(grpc.RpcError) as exc:
        readonly.call("UpdateChannelPolicy", _update(cp, fee_rate_ppm=10))
    assert _code(exc) == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.RpcError) as exc:
        readonly.call(
            "UpdateChanStatus",
            rt.UpdateChanStatusRequest(chan_point=_chan_point(cp), action=rt.DISABLE),
            router=True,
        )
    assert _code(exc) == grpc.StatusCode.PERMISSION_DENIED


# -- reads -----------------------------------------------------------------------------------


def test_get_info_reports_lnd_018_or_later(sim, admin):
    node, _ = sim
    info = admin.call("GetInfo", ln.GetInfoRequest())
    major, minor = (int(x) for x in info.version.split(".")[:2])
    assert (major, minor) >= (0, 18)
    assert info.identity_pubkey == node.identity_pubkey
    assert info.block_height == node.block_height()
    chans = node.channels()
    assert info.num_active_channels == sum(c.active for c in chans)
    assert info.num_active_channels + info.num_inactive_channels == len(chans)
    assert info.best_header_timestamp == node.now_s()


def test_list_channels_mirrors_the_model_and_filters(sim, admin):
    node, _ = sim
    chans = {c.chan_id: c for c in node.channels()}
    got = admin.call("ListChannels", ln.ListChannelsRequest()).channels
    assert {c.chan_id for c in got} == set(chans)
    for c in got:
        m = chans[c.chan_id]
        assert (c.channel_point, c.remote_pubkey, c.capacity) == (
            m.channel_point, m.remote_pubkey, m.capacity_sat,
        )
        # as LND reports them: the initiator's balance without the commitment fee
        fee = c.commit_fee
        assert fee == 2810 and c.local_constraints.chan_reserve_sat == round(m.capacity_sat / 100)
        assert (c.local_balance, c.remote_balance, c.active, c.initiator) == (
            max(0, m.local_balance_sat - fee) if m.initiator else m.local_balance_sat,
            m.remote_balance_sat if m.initiator else max(0, m.remote_balance_sat - fee),
            m.active, m.initiator,
        )
        assert (c.lifetime, c.uptime) == (m.lifetime_s, m.uptime_s)
    active = admin.call("ListChannels", ln.ListChannelsRequest(active_only=True)).channels
    assert all(c.active for c in active)
    peer = next(iter(chans.values())).remote_pubkey
    only = admin.call("ListChannels", ln.ListChannelsRequest(peer=bytes.fromhex(peer))).channels
    assert {c.remote_pubkey for c in only} == {peer}


def test_chan_info_by_id_and_by_point_and_unknown(sim, admin):
    node, _ = sim
    c = node.channels()[1]
    by_id = admin.call("GetChanInfo", ln.ChanInfoRequest(chan_id=c.chan_id))
    by_point = admin.call("GetChanInfo", ln.ChanInfoRequest(chan_point=c.channel_point))
    assert by_id == by_point
    assert by_id.node1_pub < by_id.node2_pub
    assert {by_id.node1_pub, by_id.node2_pub} == {node.identity_pubkey, c.remote_pubkey}
    ours = by_id.node1_policy if by_id.node1_pub == node.identity_pubkey else by_id.node2_policy
    assert ours.fee_rate_milli_msat == c.local_policy.fee_rate_ppm
    _, edges = node.graph()
    other = next(e for e in edges if node.identity_pubkey not in (e.node1_pub, e.node2_pub))
    by_point = admin.call("GetChanInfo", ln.ChanInfoRequest(chan_point=other.channel_point))
    assert by_point.channel_id == other.chan_id
    with pytest.raises(grpc.RpcError) as exc:
        admin.call("GetChanInfo", ln.ChanInfoRequest(chan_id=12345))
    assert _code(exc) == grpc.StatusCode.NOT_FOUND


def test_node_info_for_us_lists_our_channels(sim, admin):
    node, _ = sim
    info = admin.call(
        "GetNodeInfo", ln.NodeInfoRequest(pub_key=node.identity_pubkey, include_channels=True)
    )
    assert {e.channel_id for e in info.channels} == {c.chan_id for c in node.channels()}
    assert info.num_channels == len(node.channels())
    peer = node.channels()[0].remote_pubkey
    pinfo = admin.call("GetNodeInfo", ln.NodeInfoRequest(pub_key=peer))
    assert (pinfo.num_channels, pinfo.total_capacity) == node.node_channel_stats(peer)
    assert len(pinfo.channels) == 0
    with pytest.raises(grpc.RpcError) as exc:
        admin.call("GetNodeInfo", ln.NodeInfoRequest(pub_key="02" + "ab" * 32))
    assert _code(exc) == grpc.StatusCode.NOT_FOUND


def test_describe_graph_is_the_model_graph(sim, admin):
    node, _ = sim
    nodes, edges = node.graph()
    graph = admin.call("DescribeGraph", ln.ChannelGraphRequest())
    assert len(graph.nodes) == len(nodes) and len(graph.edges) == len(edges)
    assert {e.channel_id for e in graph.edges} >= {c.chan_id for c in node.channels()}
    with_private = admin.call("DescribeGraph", ln.ChannelGraphRequest(include_unannounced=True))
    # Every simulated channel is announced, so both answers hold the same edges.
    assert {e.channel_id for e in with_private.edges} == {e.channel_id for e in graph.edges}


def test_unannounced_channel_edge_is_in_bolt7_order(sim):
    node, _ = sim
    c = node.channels()[0]
    edge = private_edge(node.identity_pubkey, c)
    assert edge.node1_pub < edge.node2_pub
    mine = edge.node1_policy if edge.node1_pub == node.identity_pubkey else edge.node2_policy
    assert mine == c.local_policy


def test_fee_report_matches_policies_and_history(sim, admin):
    node, _ = sim
    report = admin.call("FeeReport", ln.FeeReportRequest())
    by_point = {r.channel_point: r for r in report.channel_fees}
    for c in node.channels():
        r = by_point[c.channel_point]
        assert (r.chan_id, r.base_fee_msat, r.fee_per_mil) == (
            c.chan_id, c.local_policy.base_fee_msat, c.local_policy.fee_rate_ppm,
        )
        assert r.inbound_fee_per_mil == c.local_policy.inbound_fee_rate_ppm
    now = node.now_s()
    month = node.forwards(now - 30 * 86_400, now + 1).columns.fee_msat
    assert report.month_fee_sum == int(np.sum(month)) // 1000
    assert report.day_fee_sum <= report.week_fee_sum <= report.month_fee_sum


# -- UpdateChannelPolicy rules ---------------------------------------------------------------


def _ours(admin, node, cp: str) -> ln.RoutingPolicy:
    edge = admin.call("GetChanInfo", ln.ChanInfoRequest(chan_point=cp))
    return edge.node1_policy if edge.node1_pub == node.identity_pubkey else edge.node2_policy


def test_fee_rate_and_fee_rate_ppm_together_are_invalid(sim, admin):
    node, _ = sim
    cp = node.channels()[2].channel_point
    before = _ours(admin, node, cp)
    with pytest.raises(grpc.RpcError) as exc:
        admin.call("UpdateChannelPolicy", _update(cp, fee_rate=0.001, fee_rate_ppm=100))
    assert _code(exc) == grpc.StatusCode.INVALID_ARGUMENT
    assert "cannot set both FeeRate and FeeRatePpm" in exc.value.details()
    assert _ours(admin, node, cp) == before


@pytest.mark.parametrize(
    ("delta", "message"), [(0, "too small"), (17, "too small"), (65536, "too big")]
)
def test_time_lock_delta_outside_lnd_bounds_is_refused(sim, admin, delta, message):
    node, _ = sim
    cp = node.channels()[2].channel_point
    with pytest.raises(grpc.RpcError) as exc:
        admin.call("UpdateChannelPolicy", _update(cp, fee_rate_ppm=10, time_lock_delta=delta))
    # LND returns these as plain errors, which gRPC carries as UNKNOWN.
    assert _code(exc) == grpc.StatusCode.UNKNOWN
    assert f"time lock delta of {delta} is {message}" in exc.value.details()


def test_time_lock_delta_18_is_the_lnd_minimum(sim, admin):
    node, _ = sim
    cp = node.channels()[2].channel_point
    r = admin.call("UpdateChannelPolicy", _update(cp, fee_rate_ppm=10, time_lock_delta=18))
    assert list(r.failed_updates) == []
    assert _ours(admin, node, cp).time_lock_delta == 18


def test_positive_inbound_fee_is_refused_by_default(sim, admin):
    node, _ = sim
    assert node.allow_positive_inbound is False
    cp = node.channels()[3].channel_point
    for inbound, what in (((5, 0), "base fee"), ((0, 5), "fee rate")):
        with pytest.raises(grpc.RpcError) as exc:
            admin.call(
                "UpdateChannelPolicy",
                _update(cp, fee_rate_ppm=10, inbound_fee=ln.InboundFee(
                    base_fee_msat=inbound[0], fee_rate_ppm=inbound[1])),
            )
        assert f"positive values for inbound {what}" in exc.value.details()
    r = admin.call(
        "UpdateChannelPolicy",
        _update(cp, fee_rate_ppm=10, inbound_fee=ln.InboundFee(base_fee_msat=-3, fee_rate_ppm=-7)),
    )
    assert list(r.failed_updates) == []
    p = _ours(admin, node, cp)
    assert (p.inbound_fee_base_msat, p.inbound_fee_rate_milli_msat) == (-3, -7)


def test_positive_inbound_fee_accepted_when_the_scenario_allows_it(tmp_path):
    node = SimulatedNode.from_scenario("demo")
    node.allow_positive_inbound = True
    server = serve(node, tmp_path)
    raw = Raw(server, server.admin_macaroon_path.read_bytes())
    try:
        cp = node.channels()[0].channel_point
        raw.call(
            "UpdateChannelPolicy",
            _update(
                cp, fee_rate_ppm=10, inbound_fee=ln.InboundFee(base_fee_msat=4, fee_rate_ppm=9)
            ),
        )
        p = node.channel(cp).local_policy
        assert (p.inbound_base_fee_msat, p.inbound_fee_rate_ppm) == (4, 9)
    finally:
        raw.close()
        server.stop()


def test_full_policy_is_written_and_htlc_limits_follow_lnd(sim, admin):
    node, _ = sim
    c = node.channels()[4]
    cp = c.channel_point
    admin.call(
        "UpdateChannelPolicy",
        _update(cp, base_fee_msat=1500, fee_rate_ppm=321, time_lock_delta=44,
                inbound_fee=ln.InboundFee(base_fee_msat=-1, fee_rate_ppm=-2)),
    )
    p = _ours(admin, node, cp)
    assert (p.fee_base_msat, p.fee_rate_milli_msat, p.time_lock_delta) == (1500, 321, 44)
    max_before, min_before = p.max_htlc_msat, p.min_htlc
    # Only the rate given: the base fee is written too (to 0), the max HTLC is unchanged
    # (max_htlc_msat 0), the min HTLC too (not specified), the inbound fee is kept (absent).
    admin.call("UpdateChannelPolicy", _update(cp, fee_rate_ppm=50, time_lock_delta=40))
    p = _ours(admin, node, cp)
    assert (p.fee_base_msat, p.fee_rate_milli_msat, p.time_lock_delta) == (0, 50, 40)
    assert (p.max_htlc_msat, p.min_htlc) == (max_before, min_before)
    assert (p.inbound_fee_base_msat, p.inbound_fee_rate_milli_msat) == (-1, -2)
    # max and min HTLC when given; a float fee_rate is converted to ppm.
    admin.call(
        "UpdateChannelPolicy",
        _update(cp, fee_rate=0.000777, max_htlc_msat=c.capacity_sat * 500,
                min_htlc_msat=2000, min_htlc_msat_specified=True),
    )
    p = _ours(admin, node, cp)
    assert (p.fee_rate_milli_msat, p.max_htlc_msat, p.min_htlc) == (777, c.capacity_sat * 500, 2000)


def test_failed_updates_for_unknown_channel_and_oversized_max_htlc(sim, admin):
    node, _ = sim
    unknown = "ab" * 32 + ":7"
    r = admin.call("UpdateChannelPolicy", _update(unknown, fee_rate_ppm=5))
    assert [(f.reason, f.outpoint.txid_str, f.outpoint.output_index) for f in r.failed_updates] == [
        (ln.UPDATE_FAILURE_NOT_FOUND, "ab" * 32, 7)
    ]
    c = node.channels()[5]
    before = _ours(admin, node, c.channel_point)
    r = admin.call(
        "UpdateChannelPolicy",
        _update(c.channel_point, fee_rate_ppm=5, max_htlc_msat=c.capacity_sat * 1000 + 1),
    )
    assert [f.reason for f in r.failed_updates] == [ln.UPDATE_FAILURE_INVALID_PARAMETER]
    assert _ours(admin, node, c.channel_point) == before


def test_channel_point_as_reversed_bytes_targets_the_same_channel(sim, admin):
    node, _ = sim
    cp = node.channels()[6].channel_point
    txid, index = cp.split(":")
    point = ln.ChannelPoint(funding_txid_bytes=bytes.fromhex(txid)[::-1], output_index=int(index))
    r = admin.call(
        "UpdateChannelPolicy",
        ln.PolicyUpdateRequest(chan_point=point, fee_rate_ppm=606, time_lock_delta=40),
    )
    assert list(r.failed_updates) == []
    assert node.channel(cp).local_policy.fee_rate_ppm == 606


def test_global_scope_updates_every_channel(tmp_path):
    node = SimulatedNode.from_scenario("demo")
    server = serve(node, tmp_path)
    raw = Raw(server, server.admin_macaroon_path.read_bytes())
    try:
        r = raw.call("UpdateChannelPolicy", _update(None, fee_rate_ppm=123, time_lock_delta=50))
        assert list(r.failed_updates) == []
        assert {c.local_policy.fee_rate_ppm for c in node.channels()} == {123}
        assert {c.local_policy.time_lock_delta for c in node.channels()} == {50}
    finally:
        raw.close()
        server.stop()


def test_update_chan_status_disables_and_reenables(sim, admin):
    node, _ = sim
    cp = node.channels()[7].channel_point
    for action, disabled in ((rt.DISABLE, True), (rt.ENABLE, False)):
        admin.call(
            "UpdateChanStatus",
            rt.UpdateChanStatusRequest(chan_point=_chan_point(cp), action=action),
            router=True,
        )
        assert _ours(admin, node, cp).disabled is disabled
    with pytest.raises(grpc.RpcError) as exc:
        admin.call(
            "UpdateChanStatus",
            rt.UpdateChanStatusRequest(chan_point=_chan_point("cd" * 32 + ":0"), action=rt.AUTO),
            router=True,
        )
    assert _code(exc) == grpc.StatusCode.NOT_FOUND


# -- ForwardingHistory paging ----------------------------------------------------------------


def _history(raw, **fields) -> ln.ForwardingHistoryResponse:
    return raw.call("ForwardingHistory", ln.ForwardingHistoryRequest(**fields))


def test_history_defaults_to_100_events_from_the_start(sim, admin):
    node, _ = sim
    r = _history(admin)
    assert len(r.forwarding_events) == 100 and r.last_offset_index == 100
    first = node.forwards(0, node.now_s() + 1)[0]
    e = r.forwarding_events[0]
    assert (e.timestamp_ns, e.chan_id_in, e.chan_id_out, e.fee_msat) == (
        first.timestamp_ns, first.chan_id_in, first.chan_id_out, first.fee_msat,
    )
    assert e.amt_in_msat - e.amt_out_msat == e.fee_msat
    assert e.timestamp == e.timestamp_ns // NS and e.amt_in == e.amt_in_msat // 1000


def test_history_time_window_is_inclusive_of_both_second_bounds(sim, admin):
    node, _ = sim
    view = node.forwards(0, node.now_s() + 1)
    t0 = view[1000].timestamp_ns // NS
    t1 = view[1500].timestamp_ns // NS
    r = _history(admin, start_time=t0, end_time=t1, num_max_events=50_000)
    ts = np.array([e.timestamp_ns for e in r.forwarding_events])
    expected = view.columns.timestamp_ns
    expected = expected[(expected >= t0 * NS) & (expected <= t1 * NS)]
    assert np.array_equal(ts, expected)


def test_history_pages_by_offset_cap_at_50000_and_end_empty(big):
    node, raw = big
    total = node.forward_count()
    assert total > 50_000
    first = _history(raw, num_max_events=1_000_000)
    assert len(first.forwarding_events) == 50_000 and first.last_offset_index == 50_000
    second = _history(raw, index_offset=first.last_offset_index, num_max_events=50_000)
    assert len(second.forwarding_events) == total - 50_000
    assert second.last_offset_index == total
    got = [e.timestamp_ns for e in first.forwarding_events] + [
        e.timestamp_ns for e in second.forwarding_events
    ]
    assert got == node.forwards(0, node.now_s() + 1).columns.timestamp_ns.tolist()
    past = _history(raw, index_offset=total, num_max_events=10)
    assert len(past.forwarding_events) == 0 and past.last_offset_index == total


# -- streams ---------------------------------------------------------------------------------


def _collect(call, into: list, stop_after: int) -> threading.Thread:
    def run() -> None:
        try:
            for msg in call:
                into.append(msg)
                if len(into) >= stop_after:
                    call.cancel()
        except grpc.RpcError:
            pass

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def test_htlc_and_channel_events_stream_as_the_clock_advances(tmp_path):
    node = SimulatedNode.from_scenario("demo")
    server = serve(node, tmp_path)
    raw = Raw(server, server.readonly_macaroon_path.read_bytes())
    try:
        htlcs: list = []
        chans: list = []
        h = raw.call("SubscribeHtlcEvents", rt.SubscribeHtlcEventsRequest(), router=True)
        c = raw.call("SubscribeChannelEvents", ln.ChannelEventSubscription())
        th, tc = _collect(h, htlcs, 50), _collect(c, chans, 1)
        got = []
        node.subscribe(got.append)
        # The subscriptions reach the server asynchronously: keep the clock moving until
        # the events arrive (each simulated hour brings new ones).
        deadline = time.monotonic() + 60
        while (len(htlcs) < 50 or not chans) and time.monotonic() < deadline:
            node.advance(3600)  # the demo's flapping peers go up and down every few hours
            time.sleep(0.02)
        th.join(10)
        h.cancel()
        c.cancel()
        tc.join(10)
        # As LND, the stream opens with a subscribed_event, then carries HTLC events.
        assert htlcs[0].WhichOneof("event") == "subscribed_event"
        kinds = {e.WhichOneof("event") for e in htlcs[1:]}
        assert len(htlcs) >= 50 and kinds <= {
            "forward_event", "settle_event", "forward_fail_event", "link_fail_event"
        }
        fails = [e for e in htlcs if e.WhichOneof("event") == "link_fail_event"]
        assert all(e.link_fail_event.failure_detail != rt.UNKNOWN for e in fails)
        assert any(type(e).__name__ == "SimChannelEvent" for e in got)
        assert chans and chans[0].WhichOneof("channel") in (
            "active_channel", "inactive_channel", "open_channel", "closed_channel"
        )
    finally:
        raw.close()
        server.stop()


def test_stopping_the_server_ends_open_streams(tmp_path):
    node = SimulatedNode.from_scenario("demo")
    server = serve(node, tmp_path)
    raw = Raw(server, server.admin_macaroon_path.read_bytes())
    call = raw.call("SubscribeHtlcEvents", rt.SubscribeHtlcEventsRequest(), router=True)
    received = threading.Event()
    done = threading.Event()

    def run() -> None:
        try:
            for _ in call:
                received.set()
        except grpc.RpcError:
            pass
        done.set()

    threading.Thread(target=run, daemon=True).start()
    deadline = time.monotonic() + 60
    while not received.is_set() and time.monotonic() < deadline:
        node.advance(600)  # until the stream is open and carrying events
        time.sleep(0.02)
    assert received.is_set()
    server.stop()
    assert done.wait(10)
    raw.close()
