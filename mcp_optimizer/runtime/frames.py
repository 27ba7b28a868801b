"""Framing of the control protocol: 4-byte big-endian length, then a JSON msgspec message.

Pure functions shared by the server and the client.
"""

from __future__ import annotations

import struct

import msgspec

from mcp_optimizer.messages.control import (
    CONTROL_PROTOCOL_VERSION,
    ControlError,
    ControlReply,
    ControlReplyFrame,
    ControlRequest,
    ControlRequestFrame,
)

HEADER = struct.Struct(">I")


class FrameError(ValueError):
    """A frame that cannot be read; ``code`` is the ControlError code to answer with."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class _VersionOnly(msgspec.Struct):
    protocol_version: int


_request_decoder = msgspec.json.Decoder(ControlRequestFrame)
_reply_decoder = msgspec.json.Decoder(ControlReplyFrame)
_version_decoder = msgspec.json.Decoder(_VersionOnly)
_encoder = msgspec.json.Encoder()


def frame(payload: bytes) -> bytes:
    return HEADER.pack(len(payload)) + payload


def encode_request(request: ControlRequest) -> bytes:
    body = ControlRequestFrame(protocol_version=CONTROL_PROTOCOL_VERSION, request=request)
    return frame(_encoder.encode(body))


def encode_reply(reply: ControlReply) -> bytes:
    body = ControlReplyFrame(protocol_version=CONTROL_PROTOCOL_VERSION, reply=reply)
    return frame(_encoder.encode(body))


def error_reply(exc: FrameError) -> bytes:
    return encode_reply(ControlError(code=exc.code, message=str(exc)))


def check_length(length: int, max_bytes: int) -> None:
    if length > max_bytes:
        raise FrameError(
            "frame_too_large", f"frame of {length} bytes refused: the limit is {max_bytes} bytes"
        )
    if length == 0:
        raise FrameError("bad_frame", "empty frame refused")


def decode_request(payload: bytes) -> ControlRequest:
    """The request in ``payload``, or :class:`FrameError` naming what is wrong with it."""
    try:
        version = _version_decoder.decode(payload).protocol_version
    except msgspec.DecodeError as exc:
        raise FrameError("bad_frame", f"unreadable frame: {exc}") from None
    if version != CONTROL_PROTOCOL_VERSION:
        raise FrameError(
            "unsupported_version",
            f"protocol version {version} is not supported (this service speaks "
            f"{CONTROL_PROTOCOL_VERSION})",
        )
    try:
        return _request_decoder.decode(payload).request
    except msgspec.DecodeError as exc:
        raise FrameError("bad_frame", f"invalid request: {exc}") from None


def decode_reply(payload: bytes) -> ControlReply:
    try:
        frame_ = _reply_decoder.decode(payload)
    except msgspec.DecodeError as exc:
        raise FrameError("bad_frame", f"unreadable reply from the service: {exc}") from None
    return frame_.reply
