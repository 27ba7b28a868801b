from . import lightning_pb2 as _lightning_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class FailureDetail(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    UNKNOWN: _ClassVar[FailureDetail]
    NO_DETAIL: _ClassVar[FailureDetail]
    ONION_DECODE: _ClassVar[FailureDetail]
    LINK_NOT_ELIGIBLE: _ClassVar[FailureDetail]
    ON_CHAIN_TIMEOUT: _ClassVar[FailureDetail]
    HTLC_EXCEEDS_MAX: _ClassVar[FailureDetail]
    INSUFFICIENT_BALANCE: _ClassVar[FailureDetail]
    INCOMPLETE_FORWARD: _ClassVar[FailureDetail]
    HTLC_ADD_FAILED: _ClassVar[FailureDetail]
    FORWARDS_DISABLED: _ClassVar[FailureDetail]

class ChanStatusAction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ENABLE: _ClassVar[ChanStatusAction]
    DISABLE: _ClassVar[ChanStatusAction]
    AUTO: _ClassVar[ChanStatusAction]
UNKNOWN: FailureDetail
NO_DETAIL: FailureDetail
ONION_DECODE: FailureDetail
LINK_NOT_ELIGIBLE: FailureDetail
ON_CHAIN_TIMEOUT: FailureDetail
HTLC_EXCEEDS_MAX: FailureDetail
INSUFFICIENT_BALANCE: FailureDetail
INCOMPLETE_FORWARD: FailureDetail
HTLC_ADD_FAILED: FailureDetail
FORWARDS_DISABLED: FailureDetail
ENABLE: ChanStatusAction
DISABLE: ChanStatusAction
AUTO: ChanStatusAction

class SubscribeHtlcEventsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class HtlcEvent(_message.Message):
    __slots__ = ("incoming_channel_id", "outgoing_channel_id", "incoming_htlc_id", "outgoing_htlc_id", "timestamp_ns", "event_type", "forward_event", "forward_fail_event", "settle_event", "link_fail_event", "subscribed_event")
    class EventType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        UNKNOWN: _ClassVar[HtlcEvent.EventType]
        SEND: _ClassVar[HtlcEvent.EventType]
        RECEIVE: _ClassVar[HtlcEvent.EventType]
        FORWARD: _ClassVar[HtlcEvent.EventType]
    UNKNOWN: HtlcEvent.EventType
    SEND: HtlcEvent.EventType
    RECEIVE: HtlcEvent.EventType
    FORWARD: HtlcEvent.EventType
    INCOMING_CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    OUTGOING_CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    INCOMING_HTLC_ID_FIELD_NUMBER: _ClassVar[int]
    OUTGOING_HTLC_ID_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_NS_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    FORWARD_EVENT_FIELD_NUMBER: _ClassVar[int]
    FORWARD_FAIL_EVENT_FIELD_NUMBER: _ClassVar[int]
    SETTLE_EVENT_FIELD_NUMBER: _ClassVar[int]
    LINK_FAIL_EVENT_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIBED_EVENT_FIELD_NUMBER: _ClassVar[int]
    incoming_channel_id: int
    outgoing_channel_id: int
    incoming_htlc_id: int
    outgoing_htlc_id: int
    timestamp_ns: int
    event_type: HtlcEvent.EventType
    forward_event: ForwardEvent
    forward_fail_event: ForwardFailEvent
    settle_event: SettleEvent
    link_fail_event: LinkFailEvent
    subscribed_event: SubscribedEvent
    def __init__(self, incoming_channel_id: _Optional[int] = ..., outgoing_channel_id: _Optional[int] = ..., incoming_htlc_id: _Optional[int] = ..., outgoing_htlc_id: _Optional[int] = ..., timestamp_ns: _Optional[int] = ..., event_type: _Optional[_Union[HtlcEvent.EventType, str]] = ..., forward_event: _Optional[_Union[ForwardEvent, _Mapping]] = ..., forward_fail_event: _Optional[_Union[ForwardFailEvent, _Mapping]] = ..., settle_event: _Optional[_Union[SettleEvent, _Mapping]] = ..., link_fail_event: _Optional[_Union[LinkFailEvent, _Mapping]] = ..., subscribed_event: _Optional[_Union[SubscribedEvent, _Mapping]] = ...) -> None: ...

class HtlcInfo(_message.Message):
    __slots__ = ("incoming_timelock", "outgoing_timelock", "incoming_amt_msat", "outgoing_amt_msat")
    INCOMING_TIMELOCK_FIELD_NUMBER: _ClassVar[int]
    OUTGOING_TIMELOCK_FIELD_NUMBER: _ClassVar[int]
    INCOMING_AMT_MSAT_FIELD_NUMBER: _ClassVar[int]
    OUTGOING_AMT_MSAT_FIELD_NUMBER: _ClassVar[int]
    incoming_timelock: int
    outgoing_timelock: int
    incoming_amt_msat: int
    outgoing_amt_msat: int
    def __init__(self, incoming_timelock: _Optional[int] = ..., outgoing_timelock: _Optional[int] = ..., incoming_amt_msat: _Optional[int] = ..., outgoing_amt_msat: _Optional[int] = ...) -> None: ...

class ForwardEvent(_message.Message):
    __slots__ = ("info",)
    INFO_FIELD_NUMBER: _ClassVar[int]
    info: HtlcInfo
    def __init__(self, info: _Optional[_Union[HtlcInfo, _Mapping]] = ...) -> None: ...

class ForwardFailEvent(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SubscribedEvent(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SettleEvent(_message.Message):
    __slots__ = ("preimage",)
    PREIMAGE_FIELD_NUMBER: _ClassVar[int]
    preimage: bytes
    def __init__(self, preimage: _Optional[bytes] = ...) -> None: ...

class LinkFailEvent(_message.Message):
    __slots__ = ("info", "wire_failure", "failure_detail", "failure_string")
    INFO_FIELD_NUMBER: _ClassVar[int]
    WIRE_FAILURE_FIELD_NUMBER: _ClassVar[int]
    FAILURE_DETAIL_FIELD_NUMBER: _ClassVar[int]
    FAILURE_STRING_FIELD_NUMBER: _ClassVar[int]
    info: HtlcInfo
    wire_failure: _lightning_pb2.Failure.FailureCode
    failure_detail: FailureDetail
    failure_string: str
    def __init__(self, info: _Optional[_Union[HtlcInfo, _Mapping]] = ..., wire_failure: _Optional[_Union[_lightning_pb2.Failure.FailureCode, str]] = ..., failure_detail: _Optional[_Union[FailureDetail, str]] = ..., failure_string: _Optional[str] = ...) -> None: ...

class UpdateChanStatusRequest(_message.Message):
    __slots__ = ("chan_point", "action")
    CHAN_POINT_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    chan_point: _lightning_pb2.ChannelPoint
    action: ChanStatusAction
    def __init__(self, chan_point: _Optional[_Union[_lightning_pb2.ChannelPoint, _Mapping]] = ..., action: _Optional[_Union[ChanStatusAction, str]] = ...) -> None: ...

class UpdateChanStatusResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
