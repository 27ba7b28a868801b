"""``lnrpc.Lightning`` and ``routerrpc.Router`` served from a :class:`SimulatedNode`.

A thin shell: it checks the macaroon, maps protobuf requests to the model's methods and the
model's records to protobuf replies, and applies LND's request rules from :mod:`.rules`.
"""

from __future__ import annotations

import hashlib
import queue
import threading
from collections.abc import Iterator

import grpc
import numpy as np

from mcp_optimizer.providers.lnd.gen import (
    lightning_pb2 as ln,
)
from mcp_optimizer.providers.lnd.gen import (
    lightning_pb2_grpc as ln_grpc,
)
from mcp_optimizer.providers.lnd.gen import (
    router_pb2 as rt,
)
from mcp_optimizer.providers.lnd.gen import (
    router_pb2_grpc as rt_grpc,
)
from mcp_optimizer.simulator.model import (
    SimChannel,
    SimChannelEvent,
    SimGraphEdge,
    SimGraphNode,
    SimHtlcEvent,
    SimPolicy,
    SimulatedNode,
)

from . import chain, rules
from .credentials import ADMIN

NETWORK = "simnet"
WRITE_METHODS = frozenset({"UpdateChannelPolicy", "UpdateChanStatus", "CloseChannel"})
"""Methods that need LND's offchain:write permission (the admin macaroon)."""


class Auth:
    """Checks the ``macaroon`` metadata of a call, as LND's interceptor does."""

    def __init__(self, macaroons: dict[bytes, str]) -> None:
        self._by_hex = {m.hex(): perm for m, perm in macaroons.items()}

    def check(self, context: grpc.ServicerContext, method: str) -> None:
        values = [v for k, v in context.invocation_metadata() if k == "macaroon"]
        if len(values) != 1:
            context.abort(
                grpc.StatusCode.UNAUTHENTICATED, f"expected 1 macaroon, got {len(values)}"
            )
        value = values[0]
        if isinstance(value, bytes):
            value = value.decode("ascii", "replace")
        perm = self._by_hex.get(value.strip().lower())
        if perm is None:
            context.abort(
                grpc.StatusCode.UNAUTHENTICATED,
                "verification failed: signature mismatch after caveat verification",
            )
        if method in WRITE_METHODS and perm != ADMIN:
            context.abort(grpc.StatusCode.PERMISSION_DENIED, "permission denied")


class Streams:
    """Open server streams, so that stopping the server ends them at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: set[queue.Queue] = set()
        self.closed = False

    def open(self) -> queue.Queue:
        q: queue.Queue = queue.Queue()
        with self._lock:
            if self.closed:
                q.put(None)
            self._queues.add(q)
        return q

    def close(self, q: queue.Queue) -> None:
        with self._lock:
            self._queues.discard(q)

    def close_all(self) -> None:
        with self._lock:
            self.closed = True
            for q in self._queues:
                q.put(None)


# -- conversions ---------------------------------------------------------------------------


def parse_channel_point(text: str) -> tuple[str, int]:
    txid, _, index = text.partition(":")
    return txid, int(index)


def channel_point_text(cp: ln.ChannelPoint) -> str:
    """``txid:index`` of a ChannelPoint given as display hex or as raw (reversed) bytes."""
    which = cp.WhichOneof("funding_txid")
    if which == "funding_txid_bytes":
        txid = bytes(reversed(cp.funding_txid_bytes)).hex()
    elif which == "funding_txid_str":
        txid = cp.funding_txid_str.lower()
    else:
        raise ValueError("channel point has no funding txid")
    return f"{txid}:{cp.output_index}"


def channel_point_msg(text: str) -> ln.ChannelPoint:
    txid, index = parse_channel_point(text)
    return ln.ChannelPoint(funding_txid_bytes=bytes.fromhex(txid)[::-1], output_index=index)


def routing_policy(p: SimPolicy) -> ln.RoutingPolicy:
    return ln.RoutingPolicy(
        time_lock_delta=p.time_lock_delta,
        min_htlc=p.min_htlc_msat,
        fee_base_msat=p.base_fee_msat,
        fee_rate_milli_msat=p.fee_rate_ppm,
        disabled=p.disabled,
        max_htlc_msat=p.max_htlc_msat,
        last_update=p.last_update_s,
        inbound_fee_base_msat=p.inbound_base_fee_msat,
        inbound_fee_rate_milli_msat=p.inbound_fee_rate_ppm,
    )


def channel_edge(e: SimGraphEdge) -> ln.ChannelEdge:
    msg = ln.ChannelEdge(
        channel_id=e.chan_id,
        chan_point=e.channel_point,
        last_update=e.last_update_s,
        node1_pub=e.node1_pub,
        node2_pub=e.node2_pub,
        capacity=e.capacity_sat,
    )
    if e.node1_policy is not None:
        msg.node1_policy.CopyFrom(routing_policy(e.node1_policy))
    if e.node2_policy is not None:
        msg.node2_policy.CopyFrom(routing_policy(e.node2_policy))
    return msg


def private_edge(our_pubkey: str, c: SimChannel) -> SimGraphEdge:
    """Our channel as an edge, for a channel the public graph does not hold (unannounced)."""
    ours_first = our_pubkey < c.remote_pubkey
    return SimGraphEdge(
        chan_id=c.chan_id,
        channel_point=c.channel_point,
        node1_pub=our_pubkey if ours_first else c.remote_pubkey,
        node2_pub=c.remote_pubkey if ours_first else our_pubkey,
        capacity_sat=c.capacity_sat,
        node1_policy=c.local_policy if ours_first else c.remote_policy,
        node2_policy=c.remote_policy if ours_first else c.local_policy,
        last_update_s=max(c.local_policy.last_update_s, c.remote_policy.last_update_s),
    )


def lightning_node(n: SimGraphNode) -> ln.LightningNode:
    return ln.LightningNode(
        last_update=n.last_update_s,
        pub_key=n.pubkey,
        alias=n.alias,
        addresses=[ln.NodeAddress(network="tcp", addr=a) for a in n.addresses],
        color="#3399ff",
    )


def channel_msg(c: SimChannel, peer_alias: str) -> ln.Channel:
    return ln.Channel(
        active=c.active,
        remote_pubkey=c.remote_pubkey,
        channel_point=c.channel_point,
        chan_id=c.chan_id,
        capacity=c.capacity_sat,
        **chain.onchain_fields(c),
        private=False,
        initiator=c.initiator,
        lifetime=c.lifetime_s,
        uptime=c.uptime_s,
        peer_alias=peer_alias,
    )


_FAILURE_DETAIL = {name: value for name, value in rt.FailureDetail.items()}


def htlc_event_msg(e: SimHtlcEvent) -> rt.HtlcEvent:
    msg = rt.HtlcEvent(
        incoming_channel_id=e.incoming_chan_id,
        outgoing_channel_id=e.outgoing_chan_id,
        timestamp_ns=e.timestamp_ns,
        event_type=rt.HtlcEvent.FORWARD,
    )
    if e.kind == "forward":
        msg.forward_event.SetInParent()
    elif e.kind == "settle":
        msg.settle_event.SetInParent()
    elif e.kind == "forward_fail":
        msg.forward_fail_event.SetInParent()
    elif e.kind == "link_fail":
        msg.link_fail_event.failure_detail = _FAILURE_DETAIL.get(e.failure_detail, rt.UNKNOWN)
        msg.link_fail_event.wire_failure = ln.Failure.FailureCode.Value(e.wire_failure)
        msg.link_fail_event.failure_string = (
            e.failure_detail if e.wire_failure == "TEMPORARY_CHANNEL_FAILURE" else e.wire_failure
        ).lower().replace("_", " ")
    return msg


# -- Lightning -----------------------------------------------------------------------------


class LightningServicer(ln_grpc.LightningServicer):
    def __init__(self, node: SimulatedNode, auth: Auth, streams: Streams) -> None:
        self.node = node
        self.auth = auth
        self.streams = streams

    def _alias(self, pubkey: str) -> str:
        n = self.node.graph_node(pubkey)
        return n.alias if n is not None else ""

    def GetInfo(self, request, context):
        self.auth.check(context, "GetInfo")
        node = self.node
        chans = node.channels()
        height = node.block_height()
        active = sum(1 for c in chans if c.active)
        return ln.GetInfoResponse(
            version=node.version,
            commit_hash="0" * 40,
            identity_pubkey=node.identity_pubkey,
            alias=node.alias,
            num_pending_channels=0,
            num_active_channels=active,
            num_inactive_channels=len(chans) - active,
            num_peers=len({c.remote_pubkey for c in chans if c.active}),
            block_height=height,
            block_hash=hashlib.sha256(f"simulated block {height}".encode()).hexdigest(),
            best_header_timestamp=node.now_s(),
            synced_to_chain=True,
            synced_to_graph=True,
            chains=[ln.Chain(chain="bitcoin", network=NETWORK)],
        )

    def ListChannels(self, request, context):
        self.auth.check(context, "ListChannels")
        peer = request.peer.hex() if request.peer else ""
        out = []
        for c in self.node.channels():
            if request.active_only and not c.active:
                continue
            if request.inactive_only and c.active:
                continue
            if request.private_only:  # every simulated channel is public
                continue
            if peer and c.remote_pubkey != peer:
                continue
            alias = self._alias(c.remote_pubkey) if request.peer_alias_lookup else ""
            out.append(channel_msg(c, alias))
        return ln.ListChannelsResponse(channels=out)

    def SubscribeChannelEvents(self, request, context) -> Iterator[ln.ChannelEventUpdate]:
        self.auth.check(context, "SubscribeChannelEvents")
        return self._stream(context, SimChannelEvent, self._channel_event)

    def _channel_event(self, e: SimChannelEvent) -> ln.ChannelEventUpdate | None:
        U = ln.ChannelEventUpdate
        if e.kind == "active":
            return U(type=U.ACTIVE_CHANNEL, active_channel=channel_point_msg(e.channel_point))
        if e.kind == "inactive":
            return U(type=U.INACTIVE_CHANNEL, inactive_channel=channel_point_msg(e.channel_point))
        if e.kind == "closed":
            return U(
                type=U.CLOSED_CHANNEL,
                closed_channel=ln.ChannelCloseSummary(
                    channel_point=e.channel_point, chan_id=e.chan_id
                ),
            )
        if e.kind == "opened":
            try:
                c = self.node.channel(e.channel_point)
            except KeyError:
                return None
            return U(type=U.OPEN_CHANNEL, open_channel=channel_msg(c, ""))
        return None

    def _stream(self, context, kind, convert, first=None):
        q = self.streams.open()

        def listener(event) -> None:
            if isinstance(event, kind):
                q.put(event)

        unsubscribe = self.node.subscribe(listener)
        context.add_callback(lambda: q.put(None))
        try:
            if first is not None:
                yield first
            while True:
                event = q.get()
                if event is None or not context.is_active():
                    return
                msg = convert(event)
                if msg is not None:
                    yield msg
        finally:
            unsubscribe()
            self.streams.close(q)

    def DescribeGraph(self, request, context):
        self.auth.check(context, "DescribeGraph")
        nodes, edges = self.node.graph()
        resp = ln.ChannelGraph()
        resp.nodes.extend(lightning_node(n) for n in nodes)
        resp.edges.extend(channel_edge(e) for e in edges)
        if request.include_unannounced:
            known = {e.chan_id for e in edges}
            me = self.node.identity_pubkey
            resp.edges.extend(
                channel_edge(private_edge(me, c))
                for c in self.node.channels()
                if c.chan_id not in known
            )
        return resp

    def _our_edge(self, chan_id: int = 0, channel_point: str = "") -> SimGraphEdge | None:
        for c in self.node.channels():
            if c.chan_id == chan_id or (channel_point and c.channel_point == channel_point):
                return private_edge(self.node.identity_pubkey, c)
        return None

    def GetChanInfo(self, request, context):
        self.auth.check(context, "GetChanInfo")
        edge = None
        if request.chan_id:
            edge = self.node.edge(request.chan_id) or self._our_edge(chan_id=request.chan_id)
        elif request.chan_point:
            edge = self._our_edge(channel_point=request.chan_point)
            if edge is not None:
                edge = self.node.edge(edge.chan_id) or edge
            else:
                _, edges = self.node.graph()
                edge = next((e for e in edges if e.channel_point == request.chan_point), None)
        if edge is None:
            context.abort(grpc.StatusCode.NOT_FOUND, "edge not found")
        return channel_edge(edge)

    def GetNodeInfo(self, request, context):
        self.auth.check(context, "GetNodeInfo")
        n = self.node.graph_node(request.pub_key)
        if n is None:
            context.abort(
                grpc.StatusCode.NOT_FOUND, f"unable to find node {request.pub_key}"
            )
        num, capacity = self.node.node_channel_stats(request.pub_key)
        resp = ln.NodeInfo(node=lightning_node(n), num_channels=num, total_capacity=capacity)
        if request.include_channels:
            if request.pub_key == self.node.identity_pubkey:
                edges = [self.node.edge(c.chan_id) for c in self.node.channels()]
                resp.channels.extend(channel_edge(e) for e in edges if e is not None)
            else:
                _, edges = self.node.graph()
                resp.channels.extend(
                    channel_edge(e)
                    for e in edges
                    if request.pub_key in (e.node1_pub, e.node2_pub)
                )
        return resp

    def FeeReport(self, request, context):
        self.auth.check(context, "FeeReport")
        now = self.node.now_s()
        reports = []
        for c in self.node.channels():
            p = c.local_policy
            reports.append(
                ln.ChannelFeeReport(
                    chan_id=c.chan_id,
                    channel_point=c.channel_point,
                    base_fee_msat=p.base_fee_msat,
                    fee_per_mil=p.fee_rate_ppm,
                    fee_rate=p.fee_rate_ppm / 1_000_000,
                    inbound_base_fee_msat=p.inbound_base_fee_msat,
                    inbound_fee_per_mil=p.inbound_fee_rate_ppm,
                )
            )

        def fee_sum_sat(days: int) -> int:
            view = self.node.forwards(now - days * 86_400, now + 1)
            return int(np.sum(view.columns.fee_msat, dtype=np.int64)) // 1000

        return ln.FeeReportResponse(
            channel_fees=reports,
            day_fee_sum=fee_sum_sat(1),
            week_fee_sum=fee_sum_sat(7),
            month_fee_sum=fee_sum_sat(30),
        )

    def UpdateChannelPolicy(self, request, context):
        self.auth.check(context, "UpdateChannelPolicy")
        scope = request.WhichOneof("scope")
        if scope is None:
            context.abort(grpc.StatusCode.UNKNOWN, "unknown scope: <nil>")
        inbound = None
        if request.HasField("inbound_fee"):
            inbound = (request.inbound_fee.base_fee_msat, request.inbound_fee.fee_rate_ppm)
        try:
            update = rules.validate_policy_update(
                base_fee_msat=request.base_fee_msat,
                fee_rate=request.fee_rate,
                fee_rate_ppm=request.fee_rate_ppm,
                time_lock_delta=request.time_lock_delta,
                max_htlc_msat=request.max_htlc_msat,
                min_htlc_msat=request.min_htlc_msat,
                min_htlc_msat_specified=request.min_htlc_msat_specified,
                inbound=inbound,
                allow_positive_inbound=self.node.allow_positive_inbound,
            )
        except rules.RuleError as exc:
            context.abort(exc.code, exc.message)
        channels = {c.channel_point: c for c in self.node.channels()}
        if scope == "global":
            targets = list(channels)
        else:
            try:
                targets = [channel_point_text(request.chan_point)]
            except ValueError as exc:
                context.abort(grpc.StatusCode.UNKNOWN, str(exc))
        now = self.node.now_s()
        failed = []
        for cp in targets:
            c = channels.get(cp)
            if c is None:
                failed.append(_failed(cp, ln.UPDATE_FAILURE_NOT_FOUND, "not found"))
                continue
            try:
                new = rules.apply_policy_update(
                    c.local_policy, update, capacity_sat=c.capacity_sat, now_s=now
                )
            except ValueError as exc:
                failed.append(_failed(cp, ln.UPDATE_FAILURE_INVALID_PARAMETER, str(exc)))
                continue
            try:
                self.node.set_local_policy(cp, new)
            except KeyError:
                failed.append(_failed(cp, ln.UPDATE_FAILURE_NOT_FOUND, "not found"))
        return ln.PolicyUpdateResponse(failed_updates=failed)

    def ForwardingHistory(self, request, context):
        self.auth.check(context, "ForwardingHistory")
        now = self.node.now_s()
        start_s = request.start_time
        end_s = request.end_time if request.end_time != 0 else now
        # LND's time filter is inclusive of the end second's first nanosecond.
        view = self.node.forwards(start_s, end_s + 1) if end_s >= start_s else None
        resp = ln.ForwardingHistoryResponse()
        if view is None:
            resp.last_offset_index = request.index_offset
            return resp
        cols = view.columns
        inside = int(np.searchsorted(cols.timestamp_ns, end_s * 1_000_000_000, side="right"))
        first, count, last = rules.page_forwards(
            cols.timestamp_ns[:inside],
            index_offset=request.index_offset,
            num_max_events=request.num_max_events,
        )
        sl = slice(first, first + count)
        events = resp.forwarding_events
        for ts, ci, co, ai, ao, fee in zip(
            cols.timestamp_ns[sl].tolist(),
            cols.chan_id_in[sl].tolist(),
            cols.chan_id_out[sl].tolist(),
            cols.amt_in_msat[sl].tolist(),
            cols.amt_out_msat[sl].tolist(),
            cols.fee_msat[sl].tolist(),
            strict=True,
        ):
            events.add(
                timestamp=ts // 1_000_000_000,
                timestamp_ns=ts,
                chan_id_in=ci,
                chan_id_out=co,
                amt_in=ai // 1000,
                amt_out=ao // 1000,
                fee=fee // 1000,
                fee_msat=fee,
                amt_in_msat=ai,
                amt_out_msat=ao,
            )
        resp.last_offset_index = last
        return resp


    def CloseChannel(self, request, context) -> Iterator[ln.CloseStatusUpdate]:
        """A cooperative close: ``close_pending`` at once, ``chan_close`` once it confirmed
        (after a few simulated blocks; the stream waits for them, as LND's does)."""
        self.auth.check(context, "CloseChannel")
        point = channel_point_text(request.channel_point)
        if request.force:
            context.abort(grpc.StatusCode.UNIMPLEMENTED,
                          "the simulated node closes cooperatively only")
        try:
            chan_id = self.node.channel(point).chan_id
        except KeyError:
            context.abort(grpc.StatusCode.NOT_FOUND, f"unable to find channel {point}")
        rate = request.sat_per_vbyte or 1
        txid = self.node.close_channel(point, rate)
        raw = bytes.fromhex(txid)[::-1]
        yield ln.CloseStatusUpdate(close_pending=ln.PendingUpdate(txid=raw, output_index=0))
        while context.is_active() and not self.node.close_settled(chan_id):
            threading.Event().wait(0.2)
        if context.is_active():
            yield ln.CloseStatusUpdate(
                chan_close=ln.ChannelCloseUpdate(closing_txid=raw, success=True)
            )

    def GetTransactions(self, request, context):
        self.auth.check(context, "GetTransactions")
        return ln.TransactionDetails(
            transactions=chain.funding_transactions(
                self.node, request.start_height, request.end_height
            )
        )


def _failed(channel_point: str, reason: int, error: str) -> ln.FailedUpdate:
    txid, index = parse_channel_point(channel_point)
    try:
        raw = bytes.fromhex(txid)[::-1]
    except ValueError:
        raw = b""
    return ln.FailedUpdate(
        outpoint=ln.OutPoint(txid_bytes=raw, txid_str=txid, output_index=index),
        reason=reason,
        update_error=error,
    )


# -- Router --------------------------------------------------------------------------------


class RouterServicer(rt_grpc.RouterServicer):
    def __init__(self, lightning: LightningServicer) -> None:
        self.ln = lightning

    def SubscribeHtlcEvents(self, request, context) -> Iterator[rt.HtlcEvent]:
        self.ln.auth.check(context, "SubscribeHtlcEvents")
        # As LND does, the first message says the subscription is in place.
        subscribed = rt.HtlcEvent(subscribed_event=rt.SubscribedEvent())
        return self.ln._stream(context, SimHtlcEvent, htlc_event_msg, first=subscribed)

    def UpdateChanStatus(self, request, context):
        self.ln.auth.check(context, "UpdateChanStatus")
        try:
            cp = channel_point_text(request.chan_point)
        except ValueError as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        action = rt.ChanStatusAction.Name(request.action).lower()
        try:
            self.ln.node.set_channel_status(cp, action)
        except KeyError:
            context.abort(grpc.StatusCode.NOT_FOUND, f"unable to find channel {cp}")
        except ValueError as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        return rt.UpdateChanStatusResponse()
