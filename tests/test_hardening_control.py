"""Hardening of the control socket (issue 10, items 1 and 2): no input stops the server, huge
integers are bad input, and a client that never reads its replies is disconnected after the
send deadline instead of holding a connection slot for good."""

from __future__ import annotations

import socket
import struct

import pytest
import trio
from hypothesis import given, settings
from hypothesis import strategies as st

from mcp_optimizer.messages.control import (
    ControlError,
    Done,
    ListDecisionsRequest,
    StatusRequest,
)
from mcp_optimizer.runtime.control_client import ControlUnavailable, request
from mcp_optimizer.runtime.control_server import ControlServer
from mcp_optimizer.runtime.frames import FrameError, decode_reply, decode_request

DEEP = b'{"protocol_version":1,"request":' + b"[" * 400_000 + b"]" * 400_000 + b"}"
"""About 800 KB of nested JSON, under the 1 MiB frame limit (the attack of item 1)."""

HUGE = (1 << 63, 1 << 64, -(1 << 63) - 1, 10**30)


def frame_of(payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + payload


def read_reply(s: socket.socket):
    (size,) = struct.unpack(">I", s.recv(4, socket.MSG_WAITALL))
    return decode_reply(s.recv(size, socket.MSG_WAITALL))


def test_deep_nesting_is_a_bad_frame_not_a_recursion_error():
    for payload in (DEEP, b"[" * 200_000, b'{"protocol_version":' + b"[" * 200_000):
        with pytest.raises(FrameError) as exc:
            decode_request(payload)
        assert exc.value.code == "bad_frame"
        assert len(str(exc.value)) < 300


@pytest.mark.parametrize("value", HUGE)
@pytest.mark.parametrize(
    "request_json",
    [
        '{"type":"ListDecisionsRequest","limit":%d}',
        '{"type":"ShadowReportRequest","period_s":%d}',
        '{"type":"RollbackRequest","target":{"type":"RollbackChange","change_id":%d}}',
        '{"type":"RollbackRequest","target":{"type":"RollbackSince","since_at_s":%d}}',
    ],
)
def test_integers_beyond_64_bits_are_bad_input(request_json, value):
    payload = ('{"protocol_version":1,"request":' + request_json % value + "}").encode()
    with pytest.raises(FrameError) as exc:
        decode_request(payload)
    assert exc.value.code == "bad_frame"
    assert "2^63" in str(exc.value)


def test_the_largest_64_bit_integer_is_still_read():
    payload = b'{"protocol_version":1,"request":{"type":"ListDecisionsRequest","limit":%d}}'
    assert decode_request(payload % ((1 << 63) - 1)) == ListDecisionsRequest(limit=(1 << 63) - 1)


def test_a_huge_protocol_version_is_quoted_short():
    with pytest.raises(FrameError) as exc:
        decode_request(b'{"protocol_version":%d,"request":{}}' % (10**4000))
    assert len(str(exc.value)) < 300


@settings(max_examples=150, deadline=None)
@given(st.one_of(
    st.binary(max_size=400),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                    max_size=4),
        max_leaves=30,
    ).map(lambda v: f'{{"protocol_version":1,"request":{_json(v)}}}'.encode()),
))
def test_decode_request_raises_only_frame_errors(payload):
    try:
        decode_request(payload)
    except FrameError:
        pass


def _json(value) -> str:
    import json

    return json.dumps(value)


async def _handler(req):
    return Done(detail=f"handled {type(req).__name__}")


def _serve(path, checks, **kw):
    server = ControlServer(path, _handler, **kw)

    async def main():
        async with trio.open_nursery() as nursery:
            await nursery.start(server.serve)
            await trio.to_thread.run_sync(checks, path, server)
            nursery.cancel_scope.cancel()

    trio.run(main)
    return server


def test_server_answers_a_deep_frame_and_keeps_serving(tmp_path):
    def checks(path, server):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(60)
        s.connect(str(path))
        for _ in range(3):
            s.sendall(frame_of(DEEP))
            reply = read_reply(s)
            assert isinstance(reply, ControlError) and reply.code == "bad_frame"
        s.sendall(frame_of(b'{"protocol_version":1,"request":{"type":"StatusRequest"}}'))
        assert read_reply(s) == Done(detail="handled StatusRequest")
        s.close()
        assert request(path, StatusRequest()) == Done(detail="handled StatusRequest")

    _serve(tmp_path / "c.sock", checks)


def stuff_without_reading(path, requests: int) -> socket.socket:
    """A client that sends ``requests`` frames and never reads a reply."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(str(path))
    s.settimeout(2)
    payload = frame_of(
        b'{"protocol_version":1,"request":{"type":"ListDecisionsRequest","limit":1000}}'
    )
    try:
        s.sendall(payload * requests)
    except TimeoutError:
        pass  # the server stopped reading: its replies fill the buffers
    return s


def eventually_served(path, attempts: int = 600) -> object:
    """Status, retried while the server says busy (0.1 s apart, generous)."""
    import time

    for _ in range(attempts):
        try:
            reply = request(path, StatusRequest(), timeout_s=60)
        except ControlUnavailable as exc:  # refused before its reply could be read
            if "closed the connection" not in str(exc):
                raise
            time.sleep(0.1)
            continue
        if not (isinstance(reply, ControlError) and reply.code == "busy"):
            return reply
        time.sleep(0.1)
    raise AssertionError("the server stayed busy: slow readers hold every slot")


def test_clients_that_never_read_are_disconnected_after_the_send_deadline(tmp_path):
    big = Done(detail="x" * 50_000)

    async def handler(req):
        return big if isinstance(req, ListDecisionsRequest) else Done(detail="status")

    server = ControlServer(tmp_path / "c.sock", handler, max_connections=4, send_timeout_s=0.5,
                           idle_timeout_s=3600)

    def checks(path, _server):
        import time

        stuck = [stuff_without_reading(path, 40) for _ in range(4)]
        for _ in range(600):  # all four slots taken before anybody asks for status
            if server.connections == 4:
                break
            time.sleep(0.05)
        assert server.connections == 4
        assert eventually_served(path) == Done(detail="status")
        for s in stuck:  # the server hung up on each: after the queued bytes, end of stream
            s.settimeout(60)
            try:
                while s.recv(1 << 16):
                    pass
            except ConnectionResetError:
                pass  # closed with requests it never read: a reset
            s.close()

    async def main():
        async with trio.open_nursery() as nursery:
            await nursery.start(server.serve)
            await trio.to_thread.run_sync(checks, tmp_path / "c.sock", server)
            nursery.cancel_scope.cancel()

    trio.run(main)
    assert server.refused >= 4
