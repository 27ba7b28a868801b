"""Replays of the attacks of issue 10, items 1 and 2, against a real `mcp-optimizer run` on the
embedded simulator: a deeply nested control frame (which killed the service, exit 70), huge
integers in requests (an internal error), then 32 clients that send requests and never read
the replies (which kept `status` busy for good)."""

from __future__ import annotations

import socket
import struct
import time

from service_support import cli, running_service

from mcp_optimizer.messages.control import (
    ControlError,
    CycleDone,
    StatusReply,
    StatusRequest,
)
from mcp_optimizer.runtime.control_client import ControlUnavailable, request
from mcp_optimizer.runtime.frames import decode_reply

DEEP = b'{"protocol_version":1,"request":' + b"[" * 400_000 + b"]" * 400_000 + b"}"


def frame_of(payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + payload


def exchange(sock_path, payload: bytes):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(60)
    s.connect(str(sock_path))
    try:
        s.sendall(frame_of(payload))
        (size,) = struct.unpack(">I", s.recv(4, socket.MSG_WAITALL))
        return decode_reply(s.recv(size, socket.MSG_WAITALL))
    finally:
        s.close()


def status(sock_path):
    """Status, retried generously while slow readers hold the slots: the server answers
    ``busy``, or (on a loaded machine) closes a connection it has no slot for before the
    client reads; either is a refusal, not a failure of the service."""
    for _ in range(1200):
        try:
            reply = request(sock_path, StatusRequest(), timeout_s=60)
        except ControlUnavailable as exc:
            if "closed the connection" not in str(exc):
                raise
            time.sleep(0.2)
            continue
        if not (isinstance(reply, ControlError) and reply.code == "busy"):
            return reply
        time.sleep(0.2)
    raise AssertionError("status stayed busy")


def test_hostile_frames_and_slow_readers_do_not_stop_the_service(tmp_path):
    with running_service(tmp_path, "0") as (env, proc):
        sock_path = tmp_path / "data" / "control.sock"
        for _ in range(3):
            reply = exchange(sock_path, DEEP)
            assert isinstance(reply, ControlError) and reply.code == "bad_frame", reply
            assert proc.poll() is None
        for body in (
            b'{"type":"ListDecisionsRequest","limit":9223372036854775808}',
            b'{"type":"ShadowReportRequest","period_s":18446744073709551616}',
            b'{"type":"RollbackRequest","target":{"type":"RollbackChange",'
            b'"change_id":100000000000000000000000}}',
        ):
            reply = exchange(sock_path, b'{"protocol_version":1,"request":' + body + b"}")
            assert isinstance(reply, ControlError) and reply.code == "bad_frame", reply
            assert "2^63" in reply.message
        assert isinstance(status(sock_path), StatusReply)

        # Wait for the first cycle: its decisions make replies large enough to fill buffers.
        for _ in range(600):
            reply = status(sock_path)
            if isinstance(reply.last_cycle, CycleDone):
                break
            time.sleep(0.2)
        assert isinstance(reply.last_cycle, CycleDone), reply

        stuck = []
        ask = frame_of(
            b'{"protocol_version":1,"request":{"type":"ListDecisionsRequest","limit":1000}}'
        )
        for _ in range(32):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(str(sock_path))  # blocking: waits while the listen backlog is full
            s.settimeout(2)
            try:
                s.sendall(ask * 40)
            except TimeoutError:
                pass
            stuck.append(s)
        reply = status(sock_path)  # once the send deadline (10 s) disconnected the readers
        assert isinstance(reply, StatusReply), reply
        for s in stuck:
            s.close()
        assert proc.poll() is None
        r = cli(env, "status")
        assert r.returncode == 0, r.stderr
