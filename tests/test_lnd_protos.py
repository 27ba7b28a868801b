"""The project's LND protos stay wire-compatible with LND, and the committed stubs are current.

``LND_FIELDS`` is recorded by hand from LND's own lnrpc/lightning.proto and
lnrpc/routerrpc/router.proto (v0.18 series; see docs/lnd-interface.md): for every message
we declare, each field we declare must carry LND's number and type. A field added to our
protos without a row here fails the test, so the table is kept in step on purpose.
"""

from __future__ import annotations

import filecmp
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from google.protobuf.descriptor import FieldDescriptor as F

from mcp_optimizer.providers.lnd.gen import lightning_pb2, router_pb2, walletkit_pb2

ROOT = Path(__file__).resolve().parents[1]

B, S, BY = F.TYPE_BOOL, F.TYPE_STRING, F.TYPE_BYTES
U32, U64, I32, I64, D = F.TYPE_UINT32, F.TYPE_UINT64, F.TYPE_INT32, F.TYPE_INT64, F.TYPE_DOUBLE
M, E = F.TYPE_MESSAGE, F.TYPE_ENUM

LND_FIELDS: dict[str, dict[str, tuple[int, int]]] = {
    "lnrpc.GetInfoRequest": {},
    "lnrpc.Chain": {"chain": (1, S), "network": (2, S)},
    "lnrpc.GetInfoResponse": {
        "version": (14, S), "commit_hash": (20, S), "identity_pubkey": (1, S), "alias": (2, S),
        "num_pending_channels": (3, U32), "num_active_channels": (4, U32),
        "num_inactive_channels": (15, U32), "num_peers": (5, U32), "block_height": (6, U32),
        "block_hash": (8, S), "best_header_timestamp": (13, I64), "synced_to_chain": (9, B),
        "synced_to_graph": (18, B), "chains": (16, M),
    },
    "lnrpc.ChannelPoint": {
        "funding_txid_bytes": (1, BY), "funding_txid_str": (2, S), "output_index": (3, U32),
    },
    "lnrpc.OutPoint": {"txid_bytes": (1, BY), "txid_str": (2, S), "output_index": (3, U32)},
    "lnrpc.ChannelConstraints": {
        "csv_delay": (1, U32), "chan_reserve_sat": (2, U64), "dust_limit_sat": (3, U64),
        "max_pending_amt_msat": (4, U64), "min_htlc_msat": (5, U64),
        "max_accepted_htlcs": (6, U32),
    },
    "lnrpc.Channel": {
        "active": (1, B), "remote_pubkey": (2, S), "channel_point": (3, S), "chan_id": (4, U64),
        "capacity": (5, I64), "local_balance": (6, I64), "remote_balance": (7, I64),
        "commit_fee": (8, I64), "commit_weight": (9, I64), "fee_per_kw": (10, I64),
        "csv_delay": (16, U32), "private": (17, B), "initiator": (18, B),
        "local_chan_reserve_sat": (20, I64), "remote_chan_reserve_sat": (21, I64),
        "lifetime": (23, I64), "uptime": (24, I64), "local_constraints": (29, M),
        "remote_constraints": (30, M), "peer_alias": (34, S),
    },
    "lnrpc.GetTransactionsRequest": {
        "start_height": (1, I32), "end_height": (2, I32), "account": (3, S),
    },
    "lnrpc.Transaction": {
        "tx_hash": (1, S), "amount": (2, I64), "num_confirmations": (3, I32),
        "block_hash": (4, S), "block_height": (5, I32), "time_stamp": (6, I64),
        "total_fees": (7, I64), "raw_tx_hex": (9, S), "label": (10, S),
    },
    "lnrpc.TransactionDetails": {"transactions": (1, M)},
    "lnrpc.CloseChannelRequest": {
        "channel_point": (1, M), "force": (2, B), "target_conf": (3, I32),
        "delivery_address": (5, S), "sat_per_vbyte": (6, U64), "max_fee_per_vbyte": (7, U64),
        "no_wait": (8, B),
    },
    "lnrpc.ChannelCloseUpdate": {"closing_txid": (1, BY), "success": (2, B)},
    "lnrpc.InstantUpdate": {},
    "lnrpc.CloseStatusUpdate": {"close_pending": (1, M), "chan_close": (3, M),
                                "close_instant": (4, M)},
    "walletrpc.EstimateFeeRequest": {"conf_target": (1, I32)},
    "walletrpc.EstimateFeeResponse": {"sat_per_kw": (1, I64)},
    "lnrpc.ListChannelsRequest": {
        "active_only": (1, B), "inactive_only": (2, B), "public_only": (3, B),
        "private_only": (4, B), "peer": (5, BY), "peer_alias_lookup": (6, B),
    },
    "lnrpc.ListChannelsResponse": {"channels": (11, M)},
    "lnrpc.ChannelCloseSummary": {
        "channel_point": (1, S), "chan_id": (2, U64), "remote_pubkey": (5, S),
        "capacity": (6, I64),
    },
    "lnrpc.PendingUpdate": {"txid": (1, BY), "output_index": (2, U32)},
    "lnrpc.ChannelEventSubscription": {},
    "lnrpc.ChannelEventUpdate": {
        "open_channel": (1, M), "closed_channel": (2, M), "active_channel": (3, M),
        "inactive_channel": (4, M), "pending_open_channel": (6, M),
        "fully_resolved_channel": (7, M), "type": (5, E),
    },
    "lnrpc.NodeAddress": {"network": (1, S), "addr": (2, S)},
    "lnrpc.LightningNode": {
        "last_update": (1, U32), "pub_key": (2, S), "alias": (3, S), "addresses": (4, M),
        "color": (5, S),
    },
    "lnrpc.RoutingPolicy": {
        "time_lock_delta": (1, U32), "min_htlc": (2, I64), "fee_base_msat": (3, I64),
        "fee_rate_milli_msat": (4, I64), "disabled": (5, B), "max_htlc_msat": (6, U64),
        "last_update": (7, U32), "inbound_fee_base_msat": (9, I32),
        "inbound_fee_rate_milli_msat": (10, I32),
    },
    "lnrpc.ChannelEdge": {
        "channel_id": (1, U64), "chan_point": (2, S), "last_update": (3, U32),
        "node1_pub": (4, S), "node2_pub": (5, S), "capacity": (6, I64),
        "node1_policy": (7, M), "node2_policy": (8, M),
    },
    "lnrpc.ChannelGraphRequest": {"include_unannounced": (1, B)},
    "lnrpc.ChannelGraph": {"nodes": (1, M), "edges": (2, M)},
    "lnrpc.ChanInfoRequest": {"chan_id": (1, U64), "chan_point": (2, S)},
    "lnrpc.NodeInfoRequest": {"pub_key": (1, S), "include_channels": (2, B)},
    "lnrpc.NodeInfo": {
        "node": (1, M), "num_channels": (2, U32), "total_capacity": (3, I64), "channels": (4, M),
    },
    "lnrpc.FeeReportRequest": {},
    "lnrpc.ChannelFeeReport": {
        "chan_id": (5, U64), "channel_point": (1, S), "base_fee_msat": (2, I64),
        "fee_per_mil": (3, I64), "fee_rate": (4, D), "inbound_base_fee_msat": (6, I32),
        "inbound_fee_per_mil": (7, I32),
    },
    "lnrpc.FeeReportResponse": {
        "channel_fees": (1, M), "day_fee_sum": (2, U64), "week_fee_sum": (3, U64),
        "month_fee_sum": (4, U64),
    },
    "lnrpc.InboundFee": {"base_fee_msat": (1, I32), "fee_rate_ppm": (2, I32)},
    "lnrpc.PolicyUpdateRequest": {
        "global": (1, B), "chan_point": (2, M), "base_fee_msat": (3, I64), "fee_rate": (4, D),
        "fee_rate_ppm": (9, U32), "time_lock_delta": (5, U32), "max_htlc_msat": (6, U64),
        "min_htlc_msat": (7, U64), "min_htlc_msat_specified": (8, B), "inbound_fee": (10, M),
        "create_missing_edge": (11, B),
    },
    "lnrpc.FailedUpdate": {"outpoint": (1, M), "reason": (2, E), "update_error": (3, S)},
    "lnrpc.PolicyUpdateResponse": {"failed_updates": (1, M)},
    "lnrpc.ForwardingHistoryRequest": {
        "start_time": (1, U64), "end_time": (2, U64), "index_offset": (3, U32),
        "num_max_events": (4, U32), "peer_alias_lookup": (5, B),
    },
    "lnrpc.ForwardingEvent": {
        "timestamp": (1, U64), "chan_id_in": (2, U64), "chan_id_out": (4, U64),
        "amt_in": (5, U64), "amt_out": (6, U64), "fee": (7, U64), "fee_msat": (8, U64),
        "amt_in_msat": (9, U64), "amt_out_msat": (10, U64), "timestamp_ns": (11, U64),
    },
    "lnrpc.ForwardingHistoryResponse": {"forwarding_events": (1, M), "last_offset_index": (2, U32)},
    "lnrpc.Failure": {"code": (1, E)},
    "routerrpc.SubscribeHtlcEventsRequest": {},
    "routerrpc.HtlcEvent": {
        "incoming_channel_id": (1, U64), "outgoing_channel_id": (2, U64),
        "incoming_htlc_id": (3, U64), "outgoing_htlc_id": (4, U64), "timestamp_ns": (5, U64),
        "event_type": (6, E), "forward_event": (7, M), "forward_fail_event": (8, M),
        "settle_event": (9, M), "link_fail_event": (10, M), "subscribed_event": (11, M),
    },
    "routerrpc.HtlcInfo": {
        "incoming_timelock": (1, U32), "outgoing_timelock": (2, U32),
        "incoming_amt_msat": (3, U64), "outgoing_amt_msat": (4, U64),
    },
    "routerrpc.ForwardEvent": {"info": (1, M)},
    "routerrpc.ForwardFailEvent": {},
    "routerrpc.SettleEvent": {"preimage": (1, BY)},
    "routerrpc.SubscribedEvent": {},
    "routerrpc.LinkFailEvent": {
        "info": (1, M), "wire_failure": (2, E), "failure_detail": (3, E),
        "failure_string": (4, S),
    },
    "routerrpc.UpdateChanStatusRequest": {"chan_point": (1, M), "action": (2, E)},
    "routerrpc.UpdateChanStatusResponse": {},
}

# Enum values we declare, with LND's numbers.
LND_ENUMS: dict[str, dict[str, int]] = {
    "lnrpc.ChannelEventUpdate.UpdateType": {
        "OPEN_CHANNEL": 0, "CLOSED_CHANNEL": 1, "ACTIVE_CHANNEL": 2, "INACTIVE_CHANNEL": 3,
        "PENDING_OPEN_CHANNEL": 4, "FULLY_RESOLVED_CHANNEL": 5,
    },
    "lnrpc.UpdateFailure": {
        "UPDATE_FAILURE_UNKNOWN": 0, "UPDATE_FAILURE_PENDING": 1, "UPDATE_FAILURE_NOT_FOUND": 2,
        "UPDATE_FAILURE_INTERNAL_ERR": 3, "UPDATE_FAILURE_INVALID_PARAMETER": 4,
    },
    "lnrpc.Failure.FailureCode": {
        "RESERVED": 0, "INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS": 1, "FEE_INSUFFICIENT": 12,
        "CHANNEL_DISABLED": 14, "TEMPORARY_CHANNEL_FAILURE": 15, "UNKNOWN_NEXT_PEER": 18,
    },
    "routerrpc.HtlcEvent.EventType": {"UNKNOWN": 0, "SEND": 1, "RECEIVE": 2, "FORWARD": 3},
    "routerrpc.FailureDetail": {
        "UNKNOWN": 0, "NO_DETAIL": 1, "ONION_DECODE": 2, "LINK_NOT_ELIGIBLE": 3,
        "ON_CHAIN_TIMEOUT": 4, "HTLC_EXCEEDS_MAX": 5, "INSUFFICIENT_BALANCE": 6,
        "INCOMPLETE_FORWARD": 7, "HTLC_ADD_FAILED": 8, "FORWARDS_DISABLED": 9,
    },
    "routerrpc.ChanStatusAction": {"ENABLE": 0, "DISABLE": 1, "AUTO": 2},
}

LND_METHODS = {
    "lnrpc.Lightning": {
        "GetInfo", "ListChannels", "SubscribeChannelEvents", "DescribeGraph", "GetChanInfo",
        "GetNodeInfo", "FeeReport", "UpdateChannelPolicy", "ForwardingHistory",
        "GetTransactions", "CloseChannel",
    },
    "routerrpc.Router": {"SubscribeHtlcEvents", "UpdateChanStatus"},
    "walletrpc.WalletKit": {"EstimateFee"},
}


def _all_messages():
    for fd in (lightning_pb2.DESCRIPTOR, router_pb2.DESCRIPTOR, walletkit_pb2.DESCRIPTOR):
        stack = list(fd.message_types_by_name.values())
        while stack:
            msg = stack.pop()
            yield msg
            stack.extend(msg.nested_types)


def test_every_declared_message_is_in_the_lnd_table():
    declared = {m.full_name for m in _all_messages()}
    assert declared == set(LND_FIELDS)


@pytest.mark.parametrize("name", sorted(LND_FIELDS))
def test_field_numbers_and_types_match_lnd(name):
    pool = lightning_pb2.DESCRIPTOR.pool
    msg = pool.FindMessageTypeByName(name)
    got = {f.name: (f.number, f.type) for f in msg.fields}
    assert got == LND_FIELDS[name]


@pytest.mark.parametrize("name", sorted(LND_ENUMS))
def test_enum_values_match_lnd(name):
    enum = lightning_pb2.DESCRIPTOR.pool.FindEnumTypeByName(name)
    assert {v.name: v.number for v in enum.values} == LND_ENUMS[name]


def test_services_and_methods_match_lnd():
    got = {}
    for fd in (lightning_pb2.DESCRIPTOR, router_pb2.DESCRIPTOR, walletkit_pb2.DESCRIPTOR):
        for svc in fd.services_by_name.values():
            got[svc.full_name] = {m.name for m in svc.methods}
    assert got == LND_METHODS


def test_streaming_shapes_match_lnd():
    lightning = lightning_pb2.DESCRIPTOR.services_by_name["Lightning"]
    router = router_pb2.DESCRIPTOR.services_by_name["Router"]
    streaming = {
        m.full_name
        for svc in (lightning, router)
        for m in svc.methods
        if m.server_streaming or m.client_streaming
    }
    assert streaming == {
        "lnrpc.Lightning.SubscribeChannelEvents",
        "lnrpc.Lightning.CloseChannel",
        "routerrpc.Router.SubscribeHtlcEvents",
    }
    assert not any(m.client_streaming for svc in (lightning, router) for m in svc.methods)


def test_committed_stubs_are_what_gen_protos_produces(tmp_path):
    pytest.importorskip("grpc_tools")
    out = tmp_path / "gen"
    env_py = sys.executable
    subprocess.run(
        ["bash", str(ROOT / "scripts" / "gen_protos.sh"), str(out)],
        check=True,
        env={"PYTHON": env_py, "PATH": "/usr/bin:/bin"},
        capture_output=True,
    )
    committed = ROOT / "mcp_optimizer" / "providers" / "lnd" / "gen"
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(p.name for p in committed.iterdir() if p.name != "__pycache__")
    match, mismatch, errors = filecmp.cmpfiles(committed, out, names, shallow=False)
    assert mismatch == [] and errors == [], (
        f"stale generated stubs {mismatch + errors}: run scripts/gen_protos.sh"
    )
    shutil.rmtree(out)
