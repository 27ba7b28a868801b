"""The LND provider: reads a node over gRPC into messages/ types, and writes policies.

Works unchanged against a real LND (>= 0.18; older nodes degrade, see below) and against the
project's simulator (``mcp-optimizer simulate``), since both speak the same wire protocol.

* The macaroon travels as call metadata (``macaroon: <hex>``) on every call, not through a
  per-call credentials plugin (grpcio runs such a plugin on a thread per call).
* Every unary call has a deadline (``LndSettings.timeout_s``; DescribeGraph gets
  ``graph_timeout_s``) and the channel accepts large messages (a mainnet graph is tens of MB).
* Every failure is raised as a subclass of :class:`~.errors.LndError` with a sentence.
* Forwarding history is read by time window in pages of 50,000: each next page starts at the
  second of the last event received, skipping (by ``index_offset``) only the events of that
  one second already held. Real LND walks every record before ``index_offset`` on each
  request, so offset paging through a long history is quadratic; this stays linear.
* Channel age comes from the short channel id: (current height - funding height) x 600 s.
  LND's ``lifetime`` is not used for it because LND resets it on restart; it is the fallback
  for alias SCIDs (zero-conf), whose "height" is not a block height.
* LND older than 0.18 has no inbound fees: policy writes then leave inbound fees out, and the
  client says so once with a WARNING.
* The event streams' conversions (channel and HTLC events) and :class:`~.events.EventStream`
  live in ``events.py``, the forwarding log and its wire decoding in ``forwarding.py``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import grpc
from loguru import logger

from mcp_optimizer.messages import (
    CentralityUnknown,
    Channel,
    ChannelEvent,
    ChannelGraph,
    ChannelPolicy,
    ForwardingEvent,
    GraphEdge,
    GraphNode,
    HtlcEvent,
    Node,
    NodeIdentity,
    PeerPolicy,
    PolicyUnknown,
    Uptime,
    UptimeKnown,
    UptimeUnknown,
)
from mcp_optimizer.scid import scid_block_height, scid_text

from .errors import (
    LndError,
    LndInboundFeesUnsupported,
    LndNotFound,
    LndPolicyUpdateFailed,
    classify,
)
from .events import EventStream, channel_event, htlc_event
from .forwarding import Columns, column_pages
from .forwarding import ForwardingLog as ForwardingLog  # re-exported: its home was here
from .gen import lightning_pb2 as ln
from .gen import lightning_pb2_grpc as ln_grpc
from .gen import router_pb2 as rt
from .gen import router_pb2_grpc as rt_grpc
from .settings import LndSettings

PAGE_SIZE = 50_000
"""Forwarding events per ForwardingHistory request (LND's maximum per response)."""
CONCURRENCY = 32
"""Calls in flight at once when many small reads are needed (one per peer or channel)."""
BLOCK_INTERVAL_S = 600
ALIAS_SCID_MIN_HEIGHT = 16_000_000
"""LND allocates alias SCIDs from this "block height" up; they say nothing about age."""
INBOUND_FEES_MIN_VERSION = (0, 18)
PEER_INFO_MAX_AGE_S = 86_400
"""How long a peer's GetNodeInfo (alias, capacity, channel count) is reused by the channel
list before it is read again (by clock: the node's own on the simulator)."""
NS = 1_000_000_000


def parse_version(version: str) -> tuple[int, int, int]:
    """(major, minor, patch) of an LND version string like ``0.18.4-beta commit=v0.18.4``."""
    head = version.strip().split(" ")[0].split("-")[0]
    parts = head.split(".")
    nums = []
    for part in parts[:3]:
        digits = "".join(ch for ch in part if ch.isdigit())
        nums.append(int(digits) if digits else 0)
    while len(nums) < 3:
        nums.append(0)
    return nums[0], nums[1], nums[2]


def split_channel_point(channel_point: str) -> tuple[str, int]:
    txid, sep, index = channel_point.partition(":")
    if not sep or len(txid) != 64 or not index.isdigit():
        raise ValueError(f"channel point {channel_point!r} is not TXID:INDEX")
    bytes.fromhex(txid)
    return txid.lower(), int(index)


def _policy(p: ln.RoutingPolicy) -> ChannelPolicy:
    return ChannelPolicy(
        base_fee_msat=p.fee_base_msat,
        fee_rate_ppm=p.fee_rate_milli_msat,
        inbound_base_fee_msat=p.inbound_fee_base_msat,
        inbound_fee_rate_ppm=p.inbound_fee_rate_milli_msat,
        time_lock_delta=p.time_lock_delta,
        min_htlc_msat=p.min_htlc,
        max_htlc_msat=p.max_htlc_msat,
        disabled=p.disabled,
        last_update_s=p.last_update,
    )


def _edge_side(edge: ln.ChannelEdge, pubkey: str) -> tuple[PeerPolicy, PeerPolicy]:
    """(policy of ``pubkey``'s side, policy of the other side) of an edge."""
    first = edge.node1_pub == pubkey
    mine = "node1_policy" if first else "node2_policy"
    theirs = "node2_policy" if first else "node1_policy"

    def get(name: str, who: str) -> PeerPolicy:
        if edge.HasField(name):
            return _policy(getattr(edge, name))
        return PolicyUnknown(reason=f"no channel update from {who} known for this channel")

    return get(mine, "this side"), get(theirs, "the peer")


class LndClient:
    """One connection to one LND node. Thread-safe, like the grpc channel under it."""

    def __init__(self, settings: LndSettings, *, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self._clock = clock
        cert = settings.read_tls_cert()
        self._metadata = (("macaroon", settings.read_macaroon_hex()),)
        options = [
            ("grpc.max_receive_message_length", settings.max_message_bytes),
            ("grpc.max_send_message_length", settings.max_message_bytes),
            ("grpc.primary_user_agent", "mcp-optimizer"),
        ]
        self._channel = grpc.secure_channel(
            settings.host, grpc.ssl_channel_credentials(root_certificates=cert), options
        )
        self._ln = ln_grpc.LightningStub(self._channel)
        self._router = rt_grpc.RouterStub(self._channel)
        self._lock = threading.Lock()
        self._identity: NodeIdentity | None = None
        self._inbound_warned = False
        self._peer_info_cache: dict[str, tuple[int, object]] = {}

    # -- plumbing ----------------------------------------------------------------------------

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> LndClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _error(self, exc: grpc.RpcError, call: str, timeout_s: float) -> LndError:
        return classify(exc, call=call, target=self.settings.host, timeout_s=timeout_s)

    def _call(self, name: str, request, *, timeout_s: float | None = None, router: bool = False):
        stub = self._router if router else self._ln
        timeout = self.settings.timeout_s if timeout_s is None else timeout_s
        try:
            return getattr(stub, name)(request, metadata=self._metadata, timeout=timeout)
        except grpc.RpcError as exc:
            raise self._error(exc, name, timeout) from None

    def _futures(self, name: str, requests: list) -> list:
        """Send ``requests`` concurrently, ``CONCURRENCY`` at a time; results or LndErrors."""
        timeout = self.settings.timeout_s
        method = getattr(self._ln, name)
        out = []
        for i in range(0, len(requests), CONCURRENCY):
            batch = [
                method.future(r, metadata=self._metadata, timeout=timeout)
                for r in requests[i : i + CONCURRENCY]
            ]
            for f in batch:
                try:
                    out.append(f.result())
                except grpc.RpcError as exc:
                    out.append(self._error(exc, name, timeout))
        return out

    def now_s(self) -> int:
        return int(self._clock())

    # -- identity ----------------------------------------------------------------------------

    def get_info(self) -> NodeIdentity:
        r = self._call("GetInfo", ln.GetInfoRequest())
        identity = NodeIdentity(
            pubkey=r.identity_pubkey,
            alias=r.alias,
            version=r.version,
            block_height=r.block_height,
            synced_to_chain=r.synced_to_chain,
            num_active_channels=r.num_active_channels,
            num_inactive_channels=r.num_inactive_channels,
            supports_inbound_fees=parse_version(r.version)[:2] >= INBOUND_FEES_MIN_VERSION,
        )
        with self._lock:
            self._identity = identity
        return identity

    def node_time_s(self) -> int:
        """The node's own notion of now: its best block header's timestamp (GetInfo).

        On the simulator this is the simulated clock; on a real node it trails the wall
        clock by up to a block interval.
        """
        return int(self._call("GetInfo", ln.GetInfoRequest()).best_header_timestamp)

    def _me(self) -> NodeIdentity:
        with self._lock:
            identity = self._identity
        return identity if identity is not None else self.get_info()

    # -- channels ----------------------------------------------------------------------------

    def list_channels(self) -> list[Channel]:
        """Our open channels, with both directions' policies and each peer's public facts.

        One ListChannels, one GetNodeInfo of our own node (every public channel's edge and
        both policies), a GetChanInfo for any channel missing there (unannounced), and one
        GetNodeInfo per peer, sent concurrently, reused for ``PEER_INFO_MAX_AGE_S`` (a day).
        A channel whose own policy LND cannot give
        (missing edge) is left out with a WARNING: nothing can be decided about it.
        """
        me = self.get_info()
        chans = self._call("ListChannels", ln.ListChannelsRequest()).channels
        edges: dict[int, ln.ChannelEdge] = {}
        try:
            own = self._call(
                "GetNodeInfo", ln.NodeInfoRequest(pub_key=me.pubkey, include_channels=True)
            )
            edges = {e.channel_id: e for e in own.channels}
        except LndNotFound:
            edges = {}
        missing = [c.chan_id for c in chans if c.chan_id not in edges]
        for chan_id, res in zip(
            missing,
            self._futures("GetChanInfo", [ln.ChanInfoRequest(chan_id=i) for i in missing]),
            strict=True,
        ):
            if isinstance(res, LndNotFound):
                continue
            if isinstance(res, LndError):
                raise res
            edges[chan_id] = res
        infos = self._peer_infos(sorted({c.remote_pubkey for c in chans}))
        now = self.now_s()
        out = []
        for c in chans:
            edge = edges.get(c.chan_id)
            if edge is None:
                logger.warning(
                    "channel {} ({}) has no edge in LND's graph: its policy is unknown, "
                    "so it is left out",
                    c.chan_id,
                    c.channel_point,
                )
                continue
            ours, theirs = _edge_side(edge, me.pubkey)
            if not isinstance(ours, ChannelPolicy):
                logger.warning(
                    "channel {} ({}) has no policy of ours in LND's graph; it is left out",
                    c.chan_id,
                    c.channel_point,
                )
                continue
            out.append(
                Channel(
                    chan_id=c.chan_id,
                    channel_point=c.channel_point,
                    peer=self._peer(c, infos.get(c.remote_pubkey), now),
                    capacity_sat=c.capacity,
                    local_balance_sat=c.local_balance,
                    remote_balance_sat=c.remote_balance,
                    age_s=self._age_s(c, me.block_height),
                    initiator=c.initiator,
                    active=c.active,
                    our_policy=ours,
                    peer_policy=theirs,
                )
            )
        return out

    def _peer_infos(self, peers: list[str]) -> dict[str, object]:
        """Each peer's GetNodeInfo (or LndNotFound: not in the public graph), re-read when
        older than ``PEER_INFO_MAX_AGE_S``: a peer's alias, capacity and channel count move
        slowly, and reading 2,000 of them was most of a cycle's channel list."""
        now = self.now_s()
        with self._lock:
            cached = dict(self._peer_info_cache)
        stale = [p for p in peers if p not in cached or now - cached[p][0] >= PEER_INFO_MAX_AGE_S]
        fresh = dict(zip(
            stale,
            self._futures("GetNodeInfo", [ln.NodeInfoRequest(pub_key=p) for p in stale]),
            strict=True,
        ))
        for res in fresh.values():
            if isinstance(res, LndError) and not isinstance(res, LndNotFound):
                raise res
        with self._lock:
            for p, res in fresh.items():
                self._peer_info_cache[p] = (now, res)
            wanted = set(peers)
            for p in [p for p in self._peer_info_cache if p not in wanted]:
                del self._peer_info_cache[p]  # no channel with it any more
            return {p: self._peer_info_cache[p][1] for p in peers}

    @staticmethod
    def _age_s(c: ln.Channel, height: int) -> int:
        h = scid_block_height(c.chan_id)
        if 0 < h <= height and h < ALIAS_SCID_MIN_HEIGHT:
            return (height - h) * BLOCK_INTERVAL_S
        return max(0, c.lifetime)

    @staticmethod
    def _uptime(c: ln.Channel, now: int) -> Uptime:
        if c.lifetime <= 0:
            return UptimeUnknown(reason="LND has not monitored this peer yet (lifetime 0)")
        ratio = min(1_000_000, c.uptime * 1_000_000 // c.lifetime)
        return UptimeKnown(ratio_ppm=ratio, source="lnd", observed_at_s=now)

    def _peer(self, c: ln.Channel, info, now: int) -> Node:
        if isinstance(info, ln.NodeInfo):
            alias, capacity, count = info.node.alias, info.total_capacity, info.num_channels
        else:  # not in the public graph (private peer): only what ListChannels says
            alias, capacity, count = c.peer_alias, 0, 0
        return Node(
            pubkey=c.remote_pubkey,
            alias=alias,
            capacity_sat=capacity,
            channel_count=count,
            centrality=CentralityUnknown(reason="not scored yet"),
            uptime=self._uptime(c, now),
        )

    def node_info(self, pubkey: str) -> Node:
        """A node of the graph (GetNodeInfo); centrality and uptime are not known from it."""
        r = self._call("GetNodeInfo", ln.NodeInfoRequest(pub_key=pubkey))
        return Node(
            pubkey=r.node.pub_key or pubkey,
            alias=r.node.alias,
            capacity_sat=r.total_capacity,
            channel_count=r.num_channels,
            centrality=CentralityUnknown(reason="not scored yet"),
            uptime=UptimeUnknown(reason="GetNodeInfo does not report uptime"),
        )

    def get_policy(self, chan_id: int) -> ChannelPolicy:
        """Our current policy on a channel, read back from LND's graph (GetChanInfo)."""
        edge = self._call("GetChanInfo", ln.ChanInfoRequest(chan_id=chan_id))
        ours, _ = _edge_side(edge, self._me().pubkey)
        if not isinstance(ours, ChannelPolicy):
            raise LndNotFound(
                f"LND at {self.settings.host} has no policy of ours on {scid_text(chan_id)}"
            )
        return ours

    def get_policies(self, chan_ids: list[int]) -> dict[int, ChannelPolicy]:
        """Our current policy on each channel in one read: GetNodeInfo of our node (every
        public channel's edge), GetChanInfo (concurrently) for any channel missing there. A
        channel whose policy LND cannot give is absent (``get_policy`` says why)."""
        me = self._me()
        wanted = set(chan_ids)
        try:
            own = self._call(
                "GetNodeInfo", ln.NodeInfoRequest(pub_key=me.pubkey, include_channels=True)
            )
            edges = {e.channel_id: e for e in own.channels if e.channel_id in wanted}
        except LndNotFound:
            edges = {}
        missing = [c for c in dict.fromkeys(chan_ids) if c not in edges]
        for chan_id, res in zip(
            missing,
            self._futures("GetChanInfo", [ln.ChanInfoRequest(chan_id=i) for i in missing]),
            strict=True,
        ):
            if not isinstance(res, LndError):
                edges[chan_id] = res
        out = {}
        for chan_id, edge in edges.items():
            ours, _ = _edge_side(edge, me.pubkey)
            if isinstance(ours, ChannelPolicy):
                out[chan_id] = ours
        return out

    def update_policy(self, channel_point: str, policy: ChannelPolicy) -> ChannelPolicy:
        """Write our full policy on one channel; returns what was actually asked of LND.

        Base fee, rate, time lock delta, min and max HTLC are all written (LND rewrites the
        full policy on every call). ``disabled`` and ``last_update_s`` are not set this way.
        On LND older than 0.18 the inbound fee is left out (a WARNING says so once) and the
        returned policy shows the inbound fee as zero.
        """
        try:
            txid, index = split_channel_point(channel_point)
        except ValueError as exc:
            raise LndError(str(exc)) from None
        me = self._me()
        request = ln.PolicyUpdateRequest(
            chan_point=ln.ChannelPoint(funding_txid_str=txid, output_index=index),
            base_fee_msat=policy.base_fee_msat,
            fee_rate_ppm=policy.fee_rate_ppm,
            time_lock_delta=policy.time_lock_delta,
            max_htlc_msat=policy.max_htlc_msat,
            min_htlc_msat=policy.min_htlc_msat,
            min_htlc_msat_specified=True,
        )
        asked = policy
        if me.supports_inbound_fees:
            request.inbound_fee.CopyFrom(
                ln.InboundFee(
                    base_fee_msat=policy.inbound_base_fee_msat,
                    fee_rate_ppm=policy.inbound_fee_rate_ppm,
                )
            )
        else:
            if not self._inbound_warned and (
                policy.inbound_base_fee_msat or policy.inbound_fee_rate_ppm
            ):
                self._inbound_warned = True
                logger.warning(
                    "{}; inbound fee changes are skipped",
                    LndInboundFeesUnsupported(
                        f"LND {me.version} at {self.settings.host} is older than 0.18 and "
                        "has no inbound fees"
                    ),
                )
            asked = ChannelPolicy(
                **{
                    **{f: getattr(policy, f) for f in policy.__struct_fields__},
                    "inbound_base_fee_msat": 0,
                    "inbound_fee_rate_ppm": 0,
                }
            )
        r = self._call("UpdateChannelPolicy", request)
        if r.failed_updates:
            reasons = "; ".join(
                f"{ln.UpdateFailure.Name(f.reason)}: {f.update_error}" for f in r.failed_updates
            )
            raise LndPolicyUpdateFailed(
                f"LND at {self.settings.host} did not update {channel_point}: {reasons}"
            )
        return asked

    def set_channel_status(self, channel_point: str, action: str) -> None:
        """Router.UpdateChanStatus: ``enable``, ``disable`` or ``auto``."""
        try:
            txid, index = split_channel_point(channel_point)
            value = rt.ChanStatusAction.Value(action.upper())
        except ValueError as exc:
            raise LndError(f"cannot set status {action!r} on {channel_point}: {exc}") from None
        self._call(
            "UpdateChanStatus",
            rt.UpdateChanStatusRequest(
                chan_point=ln.ChannelPoint(funding_txid_str=txid, output_index=index),
                action=value,
            ),
            router=True,
        )

    # -- forwarding history ------------------------------------------------------------------

    def forwarding_events(self, start_s: int, end_s: int) -> list[ForwardingEvent]:
        """Every forward with ``start_s <= timestamp < end_s`` (seconds), oldest first."""
        out: list[ForwardingEvent] = []
        for page in self.forwarding_event_pages(start_s, end_s):
            out.extend(page)
        return out

    def forwarding_event_pages(
        self, start_s: int, end_s: int
    ) -> Iterator[list[ForwardingEvent]]:
        """``forwarding_events`` one page (up to 50,000 events) at a time."""
        if end_s <= start_s:
            return
        end_ns = end_s * NS
        cursor_s, skip = start_s, 0
        while True:
            r = self._call(
                "ForwardingHistory",
                ln.ForwardingHistoryRequest(
                    start_time=cursor_s,
                    end_time=end_s,
                    index_offset=skip,
                    num_max_events=PAGE_SIZE,
                ),
            )
            events = r.forwarding_events
            page = [
                ForwardingEvent(
                    timestamp_ns=e.timestamp_ns,
                    chan_id_in=e.chan_id_in,
                    chan_id_out=e.chan_id_out,
                    amt_in_msat=e.amt_in_msat,
                    amt_out_msat=e.amt_out_msat,
                    fee_msat=e.fee_msat,
                )
                for e in events
                if e.timestamp_ns < end_ns  # LND's end second is inclusive; ours is not
            ]
            if page:
                yield page
            if len(events) < PAGE_SIZE:
                return
            # Next page: from the second of the last event, skipping the events of that
            # second already received (all of them are at the tail of what we hold).
            last_s = events[-1].timestamp_ns // NS
            in_last_second = 0
            for e in reversed(events):
                if e.timestamp_ns // NS != last_s:
                    break
                in_last_second += 1
            skip = (skip + in_last_second) if last_s == cursor_s else in_last_second
            cursor_s = last_s

    def forwarding_column_pages(self, start_s: int, end_s: int) -> Iterator[Columns]:
        """``forwarding_event_pages`` as numpy columns decoded from the wire
        (:func:`.forwarding.decode_page`): no message object per event."""
        timeout = self.settings.timeout_s
        method = self._channel.unary_unary(
            "/lnrpc.Lightning/ForwardingHistory",
            request_serializer=ln.ForwardingHistoryRequest.SerializeToString,
            response_deserializer=None,
        )

        def fetch(request: ln.ForwardingHistoryRequest) -> bytes:
            try:
                return method(request, metadata=self._metadata, timeout=timeout)
            except grpc.RpcError as exc:
                raise self._error(exc, "ForwardingHistory", timeout) from None

        return column_pages(fetch, start_s, end_s)

    # -- graph --------------------------------------------------------------------------------

    def describe_graph(self, include_unannounced: bool = False) -> ChannelGraph:
        r = self._call(
            "DescribeGraph",
            ln.ChannelGraphRequest(include_unannounced=include_unannounced),
            timeout_s=self.settings.graph_timeout_s,
        )
        nodes = [
            GraphNode(
                pubkey=n.pub_key,
                alias=n.alias,
                address_count=len(n.addresses),
                last_update_s=n.last_update,
            )
            for n in r.nodes
        ]
        edges = []
        for e in r.edges:
            p1, p2 = _edge_side(e, e.node1_pub)
            edges.append(
                GraphEdge(
                    chan_id=e.channel_id,
                    node1_pubkey=e.node1_pub,
                    node2_pubkey=e.node2_pub,
                    capacity_sat=e.capacity,
                    node1_policy=p1,
                    node2_policy=p2,
                )
            )
        return ChannelGraph(taken_at_s=self.now_s(), nodes=nodes, edges=edges)

    # -- event streams -------------------------------------------------------------------------

    def channel_events(self) -> EventStream[ChannelEvent]:
        """Our channels' events as they happen; iterate it, ``cancel()`` to stop."""
        call = self._ln.SubscribeChannelEvents(
            ln.ChannelEventSubscription(), metadata=self._metadata
        )
        return EventStream(
            call,
            lambda u: channel_event(u, self.now_s),
            lambda exc: self._error(exc, "SubscribeChannelEvents", 0),
        )

    def htlc_events(self) -> EventStream[HtlcEvent]:
        """HTLC events at our node as they happen; iterate it, ``cancel()`` to stop."""
        call = self._router.SubscribeHtlcEvents(
            rt.SubscribeHtlcEventsRequest(), metadata=self._metadata
        )
        return EventStream(
            call, htlc_event, lambda exc: self._error(exc, "SubscribeHtlcEvents", 0)
        )
