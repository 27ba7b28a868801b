"""Framing of the control protocol: 4-byte big-endian length, then a JSON msgspec message.

Pure functions shared by the server and the client.
"""

from __future__ import annotations

import struct
from typing import Any

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

INT_MIN = -(1 << 63)
INT_MAX = (1 << 63) - 1
"""The integers a request may carry: what the journal (SQLite) and the node store. JSON
allows any size; a larger one is refused as bad input instead of overflowing later."""

QUOTE_CHARS = 40
"""How much of a value is quoted back in an error (a request may be a megabyte long)."""


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


def quote(value: object, limit: int = QUOTE_CHARS) -> str:
    """``repr(value)`` cut to ``limit`` characters (an integer's repr is cut from its digits
    without building the whole string when it is huge)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 256:
        return f"an integer of {value.bit_length()} bits"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _decode(decoder: msgspec.json.Decoder, payload: bytes, what: str) -> Any:
    try:
        return decoder.decode(payload)
    except msgspec.DecodeError as exc:
        raise FrameError("bad_frame", f"{what}: {cut(str(exc))}") from None
    except RecursionError:
        # msgspec's guard against deep nesting; never a crash of the server.
        raise FrameError("bad_frame", f"{what}: nested too deeply") from None
    except (ValueError, OverflowError, MemoryError) as exc:
        raise FrameError("bad_frame", f"{what}: {type(exc).__name__}") from None


def cut(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _check_ints(value: Any, path: str) -> None:
    """Refuse any integer outside [INT_MIN, INT_MAX] anywhere in a decoded request."""
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        if not INT_MIN <= value <= INT_MAX:
            raise FrameError(
                "bad_frame",
                f"invalid request: `{path}` has value {quote(value)}, expected an integer "
                f"from -2^63 to 2^63-1",
            )
        return
    if isinstance(value, msgspec.Struct):
        for name in value.__struct_fields__:
            _check_ints(getattr(value, name), f"{path}.{name}" if path else name)
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check_ints(item, f"{path}[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_ints(item, f"{path}.{key}")


def decode_request(payload: bytes) -> ControlRequest:
    """The request in ``payload``, or :class:`FrameError` naming what is wrong with it.

    Never raises anything else: deep nesting, huge integers or odd bytes are bad frames.
    """
    version = _decode(_version_decoder, payload, "unreadable frame").protocol_version
    if version != CONTROL_PROTOCOL_VERSION:
        raise FrameError(
            "unsupported_version",
            f"protocol version {quote(version)} is not supported (this service speaks "
            f"{CONTROL_PROTOCOL_VERSION})",
        )
    request = _decode(_request_decoder, payload, "invalid request").request
    _check_ints(request, "")
    return request


def decode_reply(payload: bytes) -> ControlReply:
    return _decode(_reply_decoder, payload, "unreadable reply from the service").reply
