"""LND's server streams as messages/ types: the channel and HTLC event conversions, and
:class:`EventStream`, the cancellable iterator :class:`~.client.LndClient` hands out for
``SubscribeChannelEvents`` and ``Router.SubscribeHtlcEvents``.

Pure conversions (no call, no clock of their own): tests feed them LND's messages directly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

import grpc

from mcp_optimizer.messages import ChannelEvent, ChannelEventKind, HtlcEvent, HtlcEventKind
from mcp_optimizer.messages.node import NO_FAILURE_DETAIL, NO_WIRE_FAILURE

from .errors import LndError
from .gen import lightning_pb2 as ln
from .gen import router_pb2 as rt

T = TypeVar("T")

_HTLC_KINDS = {
    "forward_event": HtlcEventKind.FORWARD,
    "settle_event": HtlcEventKind.SETTLE,
    "forward_fail_event": HtlcEventKind.FORWARD_FAIL,
    "link_fail_event": HtlcEventKind.LINK_FAIL,
}

_CHANNEL_KINDS = {
    "open_channel": ChannelEventKind.OPENED,
    "closed_channel": ChannelEventKind.CLOSED,
    "active_channel": ChannelEventKind.ACTIVE,
    "inactive_channel": ChannelEventKind.INACTIVE,
}


def _enum_name(enum, value: int) -> str:
    """The name of ``value`` in a protobuf enum, or ``UNKNOWN_<n>`` for a value this build's
    protos do not know (a newer LND may send codes added since)."""
    try:
        return enum.Name(value)
    except ValueError:
        return f"UNKNOWN_{value}"


def htlc_event(e: rt.HtlcEvent) -> HtlcEvent | None:
    """One of LND's HTLC events as an :class:`HtlcEvent`, or None for what the service does not
    follow: events of our own payments (``SEND``, ``RECEIVE``: the channel on one side is 0,
    and they say nothing of routing), and events outside our subset (LND's initial
    ``subscribed_event``).

    A link failure carries LND's failure detail and its wire failure (the
    lnrpc.Failure.FailureCode sent back: ``FEE_INSUFFICIENT`` when the sender offered less
    than our fee); the other kinds carry ``NO_DETAIL`` and ``RESERVED``."""
    kind = _HTLC_KINDS.get(e.WhichOneof("event") or "")
    if kind is None or e.event_type != rt.HtlcEvent.FORWARD:
        return None
    detail, wire = NO_FAILURE_DETAIL, NO_WIRE_FAILURE
    if kind is HtlcEventKind.LINK_FAIL:
        detail = _enum_name(rt.FailureDetail, e.link_fail_event.failure_detail)
        wire = _enum_name(ln.Failure.FailureCode, e.link_fail_event.wire_failure)
    return HtlcEvent(
        kind=kind,
        incoming_chan_id=e.incoming_channel_id,
        outgoing_chan_id=e.outgoing_channel_id,
        timestamp_ns=e.timestamp_ns,
        failure_detail=detail,
        wire_failure=wire,
    )


def channel_event(u: ln.ChannelEventUpdate, now_s: Callable[[], int]) -> ChannelEvent | None:
    """One of LND's channel event updates as a :class:`ChannelEvent` dated ``now_s()`` (when
    the service received it), or None for the kinds the service does not follow (pending
    opens, fully resolved channels...)."""
    which = u.WhichOneof("channel")
    kind = _CHANNEL_KINDS.get(which or "")
    if kind is None:
        return None
    if which in ("open_channel", "closed_channel"):
        point = getattr(u, which).channel_point
    else:
        cp = getattr(u, which)
        if cp.WhichOneof("funding_txid") == "funding_txid_bytes":
            txid = bytes(reversed(cp.funding_txid_bytes)).hex()
        else:
            txid = cp.funding_txid_str
        point = f"{txid}:{cp.output_index}"
    return ChannelEvent(kind=kind, channel_point=point, at_s=now_s())


class EventStream(Generic[T]):
    """An iterator over a server stream; ``cancel()`` ends it from any thread."""

    def __init__(
        self,
        call: grpc.Call,
        convert: Callable[[object], T | None],
        on_error: Callable[[grpc.RpcError], LndError],
    ) -> None:
        self._call = call
        self._convert = convert
        self._on_error = on_error
        self._cancelled = False

    def __iter__(self) -> Iterator[T]:
        try:
            for msg in self._call:
                item = self._convert(msg)
                if item is not None:
                    yield item
        except grpc.RpcError as exc:
            if self._cancelled or exc.code() == grpc.StatusCode.CANCELLED:
                return
            raise self._on_error(exc) from None

    def cancel(self) -> None:
        self._cancelled = True
        self._call.cancel()
