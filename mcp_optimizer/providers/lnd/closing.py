"""Closing a channel through LND, cooperatively only, and the fee rate it pays.

``fee_rate_sat_per_vbyte``: the node's own estimate (WalletKit.EstimateFee, sat per kw, for a
confirmation target) in sat/vB (1 vB = 4 WU). ``close_channel``: Lightning.CloseChannel with
``force`` false, always, and that fee rate; it returns once LND reports the closing
transaction as broadcast (the stream's first ``close_pending`` update) and cancels the stream:
confirmation is followed later by the channel leaving the graph (``edge_exists``).
"""

from __future__ import annotations

import grpc

from mcp_optimizer.scid import scid_text

from .client import LndClient
from .errors import LndError, LndNotFound, LndRequestRejected
from .gen import lightning_pb2 as ln
from .gen import walletkit_pb2 as wk
from .gen import walletkit_pb2_grpc as wk_grpc


def fee_rate_sat_per_vbyte(client: LndClient, conf_target: int) -> int:
    """The node's fee estimate to confirm within ``conf_target`` blocks, sat/vB (>= 1)."""
    stub = wk_grpc.WalletKitStub(client._channel)
    timeout = client.settings.timeout_s
    try:
        r = stub.EstimateFee(wk.EstimateFeeRequest(conf_target=conf_target),
                             metadata=client._metadata, timeout=timeout)
    except grpc.RpcError as exc:
        raise client._error(exc, "EstimateFee", timeout) from None
    return max(1, round(r.sat_per_kw * 4 / 1000))


def close_channel(client: LndClient, channel_point: str, sat_per_vbyte: int) -> str:
    """Ask LND to close the channel cooperatively; the closing txid (hex) once broadcast."""
    txid, _, index = channel_point.partition(":")
    request = ln.CloseChannelRequest(
        channel_point=ln.ChannelPoint(funding_txid_str=txid, output_index=int(index)),
        force=False,
        sat_per_vbyte=sat_per_vbyte,
    )
    timeout = client.settings.timeout_s
    call = client._ln.CloseChannel(request, metadata=client._metadata, timeout=timeout)
    try:
        for update in call:
            which = update.WhichOneof("update")
            if which == "close_pending":
                return bytes(reversed(update.close_pending.txid)).hex()
            if which == "chan_close":
                return bytes(reversed(update.chan_close.closing_txid)).hex()
        raise LndRequestRejected(
            f"LND at {client.settings.host} ended CloseChannel of {channel_point} without "
            "broadcasting a closing transaction"
        )
    except grpc.RpcError as exc:
        raise client._error(exc, "CloseChannel", timeout) from None
    finally:
        call.cancel()


def edge_exists(client: LndClient, chan_id: int) -> bool:
    """Whether the channel is still in the node's graph (it leaves once the close confirms)."""
    try:
        client._call("GetChanInfo", ln.ChanInfoRequest(chan_id=chan_id))
    except LndNotFound:
        return False
    except LndError as exc:
        raise LndError(f"cannot tell whether channel {scid_text(chan_id)} closed: {exc}") from None
    return True
