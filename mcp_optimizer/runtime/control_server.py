"""The control server: a Unix domain socket (mode 0600, no TCP) answering typed requests.

One request frame in, one reply frame out, as many times as the client likes on one
connection. A malformed frame gets a typed ``ControlError`` and the connection stays usable;
an oversized frame (or a stalled one) gets an error and the connection is closed; neither
harms the server or other clients. Handler errors become ``ControlError(internal)``.

Every socket operation has a deadline: a connection idle longer than ``idle_timeout_s`` is
closed, a frame must arrive within ``frame_timeout_s`` of its header, and a reply must be taken
by the client within ``send_timeout_s`` (a client that stops reading is disconnected, so it
never holds one of the ``max_connections`` slots past that). Nothing a client sends can end the
server: an unexpected error while serving a connection is logged and closes that connection.
"""

from __future__ import annotations

import errno
import os
import socket as stdsocket
import stat
from collections.abc import Awaitable, Callable
from pathlib import Path

import trio
from loguru import logger

from mcp_optimizer.messages.control import (
    MAX_FRAME_BYTES,
    ControlError,
    ControlReply,
    ControlRequest,
)

from .frames import (
    HEADER,
    FrameError,
    check_length,
    cut,
    decode_request,
    encode_reply,
    error_reply,
)

Handler = Callable[[ControlRequest], Awaitable[ControlReply]]


class _Disconnect(Exception):
    """Close this connection (the client is too slow to take its reply)."""


class ControlSocketError(RuntimeError):
    """The socket cannot be set up (path in use by a live service, not a socket...)."""


def prepare_path(path: Path) -> None:
    """Create the socket's parent (mode 0700 if created) and remove a stale socket file.

    Refuses to remove anything that is not a socket, or a socket a live service answers on.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not path.exists() and not path.is_symlink():
        return
    mode = path.lstat().st_mode
    if not stat.S_ISSOCK(mode):
        raise ControlSocketError(f"{path} exists and is not a socket: refusing to replace it")
    probe = stdsocket.socket(stdsocket.AF_UNIX, stdsocket.SOCK_STREAM)
    try:
        probe.settimeout(1.0)
        probe.connect(str(path))
    except OSError as exc:
        if exc.errno not in (errno.ECONNREFUSED, errno.ENOENT):
            raise ControlSocketError(f"cannot probe {path}: {exc.strerror}") from None
        path.unlink()  # stale: nobody listens
        return
    finally:
        probe.close()
    raise ControlSocketError(f"another service is already listening on {path}")


async def open_control_listener(path: Path, backlog: int = 16) -> trio.SocketListener:
    """Bind ``path`` with mode 0600 before listening (nobody can connect in between)."""
    prepare_path(path)
    if len(os.fsencode(path)) >= 108:
        raise ControlSocketError(f"socket path too long for a Unix socket: {path}")
    sock = trio.socket.socket(trio.socket.AF_UNIX, trio.socket.SOCK_STREAM)
    try:
        await sock.bind(str(path))
        os.chmod(path, 0o600)
        sock.listen(backlog)
    except BaseException:
        sock.close()
        raise
    return trio.SocketListener(sock)


async def _read_exactly(stream: trio.SocketStream, n: int) -> bytes | None:
    """``n`` bytes, or None at a clean end of stream before the first byte."""
    buf = bytearray()
    while len(buf) < n:
        chunk = await stream.receive_some(n - len(buf))
        if not chunk:
            if not buf:
                return None
            raise FrameError("bad_frame", "connection closed in the middle of a frame")
        buf += chunk
    return bytes(buf)


class ControlServer:
    def __init__(
        self,
        path: Path,
        handler: Handler,
        *,
        max_frame_bytes: int = MAX_FRAME_BYTES,
        frame_timeout_s: float = 10.0,
        idle_timeout_s: float = 300.0,
        send_timeout_s: float = 10.0,
        max_connections: int = 32,
    ) -> None:
        self.path = path
        self.handler = handler
        self.max_frame_bytes = max_frame_bytes
        self.frame_timeout_s = frame_timeout_s
        self.idle_timeout_s = idle_timeout_s
        self.send_timeout_s = send_timeout_s
        self.max_connections = max_connections
        self.connections = 0
        self.served = 0
        self.refused = 0

    async def serve(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        listener = await open_control_listener(self.path)
        logger.info("control socket listening on {} (mode 0600)", self.path)
        try:
            async with trio.open_nursery() as nursery:
                task_status.started(self.path)
                await trio.serve_listeners(self._connection, [listener], handler_nursery=nursery)
        finally:
            with trio.CancelScope(shield=True):
                await listener.aclose()
            try:
                self.path.unlink()
            except FileNotFoundError:
                pass
            logger.info("control socket {} closed", self.path)

    async def _connection(self, stream: trio.SocketStream) -> None:
        async with stream:
            if self.connections >= self.max_connections:
                self.refused += 1
                logger.warning("control socket: more than {} connections, one refused",
                               self.max_connections)
                busy = FrameError("busy", f"more than {self.max_connections} open connections")
                with trio.move_on_after(1.0):
                    await stream.send_all(error_reply(busy))
                return
            self.connections += 1
            try:
                while True:
                    if not await self._one_frame(stream):
                        return
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                return  # the client went away
            except _Disconnect:
                return
            except Exception as exc:  # noqa: BLE001 - no input may stop the server
                self.refused += 1
                logger.opt(exception=exc).error(
                    "control socket: connection closed after an unexpected error: {}",
                    type(exc).__name__,
                )
                return
            finally:
                self.connections -= 1

    async def _send(self, stream: trio.SocketStream, data: bytes) -> None:
        """Send ``data`` within ``send_timeout_s``, or give up on this connection."""
        with trio.move_on_after(self.send_timeout_s) as scope:
            await stream.send_all(data)
        if scope.cancelled_caught:
            self.refused += 1
            logger.warning(
                "control socket: a client took no reply within {:g} s: disconnected",
                self.send_timeout_s,
            )
            raise _Disconnect

    async def _one_frame(self, stream: trio.SocketStream) -> bool:
        """Serve one frame; False when the connection should close."""
        in_sync = False  # True once the whole frame was read: the next one can follow
        try:
            with trio.move_on_after(self.idle_timeout_s) as idle:
                header = await _read_exactly(stream, HEADER.size)
            if idle.cancelled_caught or header is None:
                return False  # idle too long, or the client hung up: close quietly
            (length,) = HEADER.unpack(header)
            check_length(length, self.max_frame_bytes)
            with trio.fail_after(self.frame_timeout_s):
                payload = await _read_exactly(stream, length)
            if payload is None:
                raise FrameError("bad_frame", "connection closed in the middle of a frame")
            in_sync = True
            request = decode_request(payload)
        except FrameError as exc:
            self.refused += 1
            logger.warning("control socket: refused a frame: {}", exc)
            await self._send(stream, error_reply(exc))
            return in_sync
        except trio.TooSlowError:
            self.refused += 1
            exc = FrameError("bad_frame", f"frame not received within {self.frame_timeout_s:g} s")
            logger.warning("control socket: {}", exc)
            await self._send(stream, error_reply(exc))
            return False
        try:
            reply = await self.handler(request)
        except Exception as exc:  # noqa: BLE001 - answered, logged, server keeps going
            logger.opt(exception=exc).error("control request {} failed", type(request).__name__)
            reply = ControlError(code="internal", message=f"{type(exc).__name__}: {cut(str(exc))}")
        self.served += 1
        try:
            data = encode_reply(reply)
        except Exception as exc:  # noqa: BLE001 - a reply that cannot be encoded
            logger.opt(exception=exc).error("control reply {} cannot be encoded",
                                            type(reply).__name__)
            data = encode_reply(ControlError(
                code="internal", message=f"the reply cannot be encoded: {type(exc).__name__}"))
        await self._send(stream, data)
        return True
