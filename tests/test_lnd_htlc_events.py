"""LND's HTLC events as the service sees them: forwards only (both channels always ours), and
an explicit failure detail and wire failure on every event (LND's ``NO_DETAIL`` and
``RESERVED`` where it gives none)."""

from __future__ import annotations

from mcp_optimizer.messages import HtlcEvent, HtlcEventKind
from mcp_optimizer.messages.node import NO_FAILURE_DETAIL, NO_WIRE_FAILURE
from mcp_optimizer.providers.lnd.events import htlc_event
from mcp_optimizer.providers.lnd.gen import lightning_pb2 as ln
from mcp_optimizer.providers.lnd.gen import router_pb2 as rt

IN, OUT, T = 111, 222, 1_790_000_000 * 10**9


def _event(event_type: int, which: str, **fields) -> rt.HtlcEvent:
    e = rt.HtlcEvent(
        incoming_channel_id=IN if event_type != rt.HtlcEvent.SEND else 0,
        outgoing_channel_id=OUT if event_type != rt.HtlcEvent.RECEIVE else 0,
        timestamp_ns=T,
        event_type=event_type,
    )
    getattr(e, which).SetInParent()
    for name, value in fields.items():
        setattr(getattr(e, which), name, value)
    return e


def test_forward_events_keep_both_channels_and_an_explicit_failure_detail():
    fail = _event(rt.HtlcEvent.FORWARD, "link_fail_event",
                  failure_detail=rt.INSUFFICIENT_BALANCE,
                  wire_failure=ln.Failure.TEMPORARY_CHANNEL_FAILURE)
    assert htlc_event(fail) == HtlcEvent(
        kind=HtlcEventKind.LINK_FAIL, incoming_chan_id=IN, outgoing_chan_id=OUT,
        timestamp_ns=T, failure_detail="INSUFFICIENT_BALANCE",
        wire_failure="TEMPORARY_CHANNEL_FAILURE",
    )
    for which, kind in (("forward_event", HtlcEventKind.FORWARD),
                        ("settle_event", HtlcEventKind.SETTLE),
                        ("forward_fail_event", HtlcEventKind.FORWARD_FAIL)):
        got = htlc_event(_event(rt.HtlcEvent.FORWARD, which))
        assert got is not None and got.kind is kind
        assert (got.incoming_chan_id, got.outgoing_chan_id) == (IN, OUT)
        assert got.failure_detail == NO_FAILURE_DETAIL == "NO_DETAIL"
        assert got.wire_failure == NO_WIRE_FAILURE == "RESERVED"


def test_a_fee_refusal_keeps_its_wire_failure_and_unknown_codes_are_named():
    """LND refuses a forward that offers less than our fee with wire failure FEE_INSUFFICIENT
    and no detail; a code newer than our protos is named, not a crash of the stream."""
    fee = htlc_event(_event(rt.HtlcEvent.FORWARD, "link_fail_event",
                            failure_detail=rt.NO_DETAIL, wire_failure=ln.Failure.FEE_INSUFFICIENT))
    assert fee is not None
    assert (fee.failure_detail, fee.wire_failure) == ("NO_DETAIL", "FEE_INSUFFICIENT")
    bare = htlc_event(_event(rt.HtlcEvent.FORWARD, "link_fail_event"))
    assert bare is not None and (bare.failure_detail, bare.wire_failure) == (
        "UNKNOWN", NO_WIRE_FAILURE)
    odd = htlc_event(_event(rt.HtlcEvent.FORWARD, "link_fail_event",
                            failure_detail=99, wire_failure=4107))
    assert odd is not None and (odd.failure_detail, odd.wire_failure) == (
        "UNKNOWN_99", "UNKNOWN_4107")


def test_our_own_payments_and_other_events_are_not_reported():
    assert htlc_event(_event(rt.HtlcEvent.SEND, "link_fail_event",
                             failure_detail=rt.INSUFFICIENT_BALANCE)) is None
    assert htlc_event(_event(rt.HtlcEvent.RECEIVE, "settle_event")) is None
    assert htlc_event(_event(rt.HtlcEvent.UNKNOWN, "forward_event")) is None
    assert htlc_event(rt.HtlcEvent(subscribed_event=rt.SubscribedEvent())) is None
