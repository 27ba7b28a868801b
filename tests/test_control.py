"""The control socket server on a real Unix socket: framing, refusals, file mode, recovery."""

from __future__ import annotations

import os
import socket
import stat
import struct
import subprocess
import sys

import msgspec
import pytest
import trio

from mcp_optimizer.messages.control import (
    ControlError,
    Done,
    PauseRequest,
    StatusRequest,
)
from mcp_optimizer.runtime.control_client import ControlUnavailable, request
from mcp_optimizer.runtime.control_server import ControlServer, ControlSocketError, prepare_path
from mcp_optimizer.runtime.frames import decode_reply


async def handler(req):
    if isinstance(req, PauseRequest) and req.reason == "explode":
        raise RuntimeError("handler bug")
    return Done(detail=f"handled {type(req).__name__}")


def raw_exchange(path, payload: bytes, *, length: int | None = None, read=True):
    """Send one raw frame; return the decoded reply (or None) and whether the server closed."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(str(path))
    n = len(payload) if length is None else length
    s.sendall(struct.pack(">I", n) + payload)
    reply = None
    if read:
        header = s.recv(4, socket.MSG_WAITALL)
        (size,) = struct.unpack(">I", header)
        reply = decode_reply(s.recv(size, socket.MSG_WAITALL))
    return s, reply


def closed_by_server(s) -> bool:
    try:
        return s.recv(1) == b""
    except (ConnectionResetError, TimeoutError):
        return True


def serve(path, checks, **kw):
    """Run a ControlServer on ``path`` and the blocking ``checks(path, server)`` in a thread."""
    server = ControlServer(path, handler, **kw)

    async def main():
        async with trio.open_nursery() as nursery:
            await nursery.start(server.serve)
            await trio.to_thread.run_sync(checks, path, server)
            nursery.cancel_scope.cancel()

    trio.run(main)
    return server


@pytest.fixture
def sock_path(tmp_path):
    return tmp_path / "run" / "control.sock"


def test_socket_is_0600_in_a_0700_dir_and_removed_at_stop(sock_path):
    def checks(path, server):
        mode = os.stat(path).st_mode
        assert stat.S_ISSOCK(mode)
        assert stat.S_IMODE(mode) == 0o600
        assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700

    serve(sock_path, checks)
    assert not sock_path.exists()


def test_requests_get_typed_replies_many_per_connection(sock_path):
    def checks(path, server):
        assert request(path, StatusRequest()) == Done(detail="handled StatusRequest")
        s, r1 = raw_exchange(path, b'{"protocol_version":1,"request":{"type":"StatusRequest"}}')
        second = b'{"protocol_version":1,"request":{"type":"ResumeRequest","reason":""}}'
        s.sendall(struct.pack(">I", len(second)) + second)
        (size,) = struct.unpack(">I", s.recv(4, socket.MSG_WAITALL))
        r2 = decode_reply(s.recv(size, socket.MSG_WAITALL))
        s.close()
        assert r1 == Done(detail="handled StatusRequest")
        assert r2 == Done(detail="handled ResumeRequest")

    serve(sock_path, checks)


@pytest.mark.parametrize(("payload", "code", "words"), [
    (b"not json at all", "bad_frame", "unreadable frame"),
    (b'{"protocol_version":1,"request":{"type":"FormatDisk"}}', "bad_frame", "invalid request"),
    (b'{"protocol_version":1,"request":{"type":"PauseRequest"}}', "bad_frame", "reason"),
    (b'{"protocol_version":1,"request":{"type":"StatusRequest"},"x":1}', "bad_frame", "x"),
    (b'{"protocol_version":7,"request":{"type":"StatusRequest"}}', "unsupported_version",
     "protocol version 7 is not supported"),
])
def test_malformed_frames_get_a_typed_error_and_the_connection_stays_usable(
        sock_path, payload, code, words):
    def checks(path, server):
        s, reply = raw_exchange(path, payload)
        assert isinstance(reply, ControlError)
        assert reply.code == code
        assert words in reply.message
        # same connection, next frame: served
        good = b'{"protocol_version":1,"request":{"type":"StatusRequest"}}'
        s.sendall(struct.pack(">I", len(good)) + good)
        (size,) = struct.unpack(">I", s.recv(4, socket.MSG_WAITALL))
        assert decode_reply(s.recv(size, socket.MSG_WAITALL)) == Done(
            detail="handled StatusRequest"
        )
        s.close()
        assert server.refused >= 1

    serve(sock_path, checks)


def test_oversized_frame_is_refused_and_closed_without_reading_it(sock_path):
    def checks(path, server):
        s, reply = raw_exchange(path, b"", length=10_000_000)
        assert isinstance(reply, ControlError) and reply.code == "frame_too_large"
        assert "10000000 bytes refused: the limit is 4096 bytes" in reply.message
        assert closed_by_server(s)
        s.close()
        assert request(path, StatusRequest()) == Done(detail="handled StatusRequest")

    serve(sock_path, checks, max_frame_bytes=4096)


def test_empty_truncated_and_stalled_frames_do_not_harm_the_server(sock_path):
    def checks(path, server):
        s, reply = raw_exchange(path, b"")
        assert isinstance(reply, ControlError) and reply.code == "bad_frame"
        assert closed_by_server(s)
        s.close()
        # half a header, then hang up
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(str(path))
        s.sendall(b"\x00\x00")
        s.close()
        # a frame that never completes: refused after the frame timeout
        s, _ = raw_exchange(path, b'{"protocol', length=200, read=False)
        (size,) = struct.unpack(">I", s.recv(4, socket.MSG_WAITALL))
        reply = decode_reply(s.recv(size, socket.MSG_WAITALL))
        assert isinstance(reply, ControlError) and "not received within 0.3 s" in reply.message
        assert closed_by_server(s)
        s.close()
        # garbage bytes that are not even a frame header of a sane size
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(str(path))
        s.sendall(b"GET / HTTP/1.1\r\n\r\n")
        s.settimeout(5)
        (size,) = struct.unpack(">I", s.recv(4, socket.MSG_WAITALL))
        reply = decode_reply(s.recv(size, socket.MSG_WAITALL))
        assert isinstance(reply, ControlError) and reply.code == "frame_too_large"
        assert closed_by_server(s)
        s.close()
        assert request(path, StatusRequest()) == Done(detail="handled StatusRequest")

    serve(sock_path, checks, frame_timeout_s=0.3)


def test_handler_error_is_a_typed_internal_error(sock_path):
    def checks(path, server):
        reply = request(path, PauseRequest(reason="explode"))
        assert reply == ControlError(code="internal", message="RuntimeError: handler bug")
        assert request(path, StatusRequest()) == Done(detail="handled StatusRequest")

    serve(sock_path, checks)


def test_socket_path_safety(tmp_path):
    not_a_socket = tmp_path / "file.sock"
    not_a_socket.write_text("keep me")
    with pytest.raises(ControlSocketError, match="is not a socket: refusing to replace it"):
        prepare_path(not_a_socket)
    assert not_a_socket.read_text() == "keep me"
    # a stale socket (nobody listening) is replaced
    stale = tmp_path / "stale.sock"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(str(stale))
    s.close()
    prepare_path(stale)
    assert not stale.exists()

    def checks(path, server):
        with pytest.raises(ControlSocketError, match="already listening"):
            prepare_path(path)

    serve(tmp_path / "live.sock", checks)


def test_client_errors_are_one_sentence(tmp_path):
    with pytest.raises(ControlUnavailable, match="does not exist"):
        request(tmp_path / "absent.sock", StatusRequest())
    stale = tmp_path / "stale.sock"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(str(stale))
    with pytest.raises(ControlUnavailable, match="refuses connections"):
        request(stale, StatusRequest())
    s.close()


@pytest.mark.parametrize("verb", [["status"], ["pause"], ["resume"], ["mode", "live"],
                                  ["evaluate-now"], ["close", "1x2x3", "--yes"]])
def test_cli_verbs_without_a_service_print_one_line_and_exit_1(tmp_path, verb):
    env = {**os.environ, "MCP_DATA_DIR": str(tmp_path)}
    r = subprocess.run([sys.executable, "-m", "mcp_optimizer", *verb], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "no service is running" in lines[0] and str(tmp_path / "control.sock") in lines[0]
    assert r.stdout == ""


def test_frames_round_trip_every_request_type():
    from mcp_optimizer.messages.control import ControlRequestFrame
    from mcp_optimizer.runtime.frames import decode_request, encode_request

    for req in (StatusRequest(), PauseRequest(reason="x")):
        data = encode_request(req)
        assert struct.unpack(">I", data[:4])[0] == len(data) - 4
        assert decode_request(data[4:]) == req
        assert msgspec.json.decode(data[4:], type=ControlRequestFrame).protocol_version == 1


def test_connection_limit_and_idle_timeout(sock_path):
    def connect(path):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(5)
        s.connect(str(path))
        return s

    def checks(path, server):
        held = [connect(path), connect(path)]
        # make sure both are being served (one request each)
        for s in held:
            frame = b'{"protocol_version":1,"request":{"type":"StatusRequest"}}'
            s.sendall(struct.pack(">I", len(frame)) + frame)
            (size,) = struct.unpack(">I", s.recv(4, socket.MSG_WAITALL))
            s.recv(size, socket.MSG_WAITALL)
        third = connect(path)
        (size,) = struct.unpack(">I", third.recv(4, socket.MSG_WAITALL))
        reply = decode_reply(third.recv(size, socket.MSG_WAITALL))
        assert isinstance(reply, ControlError) and reply.code == "busy"
        assert closed_by_server(third)
        third.close()
        # idle connections are closed after the idle timeout, freeing their places
        for s in held:
            assert closed_by_server(s)
            s.close()
        assert request(path, StatusRequest()) == Done(detail="handled StatusRequest")

    serve(sock_path, checks, max_connections=2, idle_timeout_s=0.5)


def test_decisions_without_a_journal_say_so_in_one_line(tmp_path):
    """`decisions` reads the journal (no service needed): none there is one line, exit 1."""
    env = {**os.environ, "MCP_DATA_DIR": str(tmp_path)}
    r = subprocess.run([sys.executable, "-m", "mcp_optimizer", "decisions", "--json"], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "no journal at" in lines[0]
