"""A blocking client of the control socket, for the CLI and for other tools."""

from __future__ import annotations

import errno
import socket
import time
from pathlib import Path

from mcp_optimizer.messages.control import MAX_FRAME_BYTES, ControlReply, ControlRequest

from .frames import HEADER, FrameError, decode_reply, encode_request


class ControlUnavailable(RuntimeError):
    """No service answers on the socket (absent, refused, or broke the connection)."""


class ControlNoReply(ControlUnavailable):
    """The request reached the service, but no reply came (timeout, connection closed, a
    broken reply): the service may have acted on it, so it must not be redone elsewhere."""


def _recv_exactly(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ControlNoReply("the service closed the connection without a reply")
        buf += chunk
    return bytes(buf)


def _connect(sock: socket.socket, path: Path, timeout_s: float) -> None:
    """Connect within ``timeout_s``. A Unix socket whose listen queue is full refuses a
    connection with EAGAIN at once (no waiting, even with a timeout): retried until then."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            sock.connect(str(path))
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise ControlUnavailable(
                    f"the service accepted no connection on {path} within {timeout_s:g} s "
                    "(its queue is full)"
                ) from None
            time.sleep(0.02)


def request(path: Path | str, req: ControlRequest, *, timeout_s: float = 30.0) -> ControlReply:
    """Send one request, return the service's reply.

    Raises :class:`ControlUnavailable` with one sentence when nothing answers on ``path``;
    :class:`ControlNoReply` (a subclass) when the request was sent but no reply came back.
    """
    path = Path(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout_s)
    try:
        try:
            _connect(sock, path, timeout_s)
        except FileNotFoundError:
            raise ControlUnavailable(
                f"no service is running: the control socket {path} does not exist"
            ) from None
        except ConnectionRefusedError:
            raise ControlUnavailable(
                f"no service is running: the control socket {path} refuses connections"
            ) from None
        except PermissionError:
            raise ControlUnavailable(f"permission denied on the control socket {path}") from None
        except OSError as exc:
            if exc.errno == errno.ENOTSOCK:
                raise ControlUnavailable(f"{path} is not a control socket") from None
            raise ControlUnavailable(f"cannot connect to {path}: {exc.strerror}") from None
        try:
            sock.sendall(encode_request(req))
        except TimeoutError:
            raise ControlUnavailable(
                f"the service took no request within {timeout_s:g} s"
            ) from None
        except (ConnectionResetError, BrokenPipeError):
            # a server with no free slot answers busy and closes before reading: the reply
            # it sent may still be waiting in the socket
            early = _reply_already_sent(sock)
            if early is not None:
                return early
            raise ControlUnavailable("the service closed the connection at once") from None
        try:
            (length,) = HEADER.unpack(_recv_exactly(sock, HEADER.size))
            if length > 64 * MAX_FRAME_BYTES:
                raise ControlNoReply(f"the service sent an oversized reply ({length} bytes)")
            return decode_reply(_recv_exactly(sock, length))
        except TimeoutError:
            raise ControlNoReply(f"the service gave no reply within {timeout_s:g} s") from None
        except (ConnectionResetError, BrokenPipeError):
            raise ControlNoReply("the service closed the connection without a reply") from None
        except FrameError as exc:
            raise ControlNoReply(str(exc)) from None
    finally:
        sock.close()


def _reply_already_sent(sock: socket.socket) -> ControlReply | None:
    """A complete reply frame the server sent before closing, or None."""
    try:
        sock.settimeout(2.0)
        (length,) = HEADER.unpack(_recv_exactly(sock, HEADER.size))
        if length > MAX_FRAME_BYTES:
            return None
        return decode_reply(_recv_exactly(sock, length))
    except (OSError, FrameError, ControlUnavailable, ValueError):
        return None

