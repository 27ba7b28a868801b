"""Bounds the HTTP client puts on one provider call, below httpx: a deadline on every socket
operation and a decoded-size cap on compressed bodies.

httpx's timeouts apply to each socket operation: a server sending its headers one byte every
few seconds never trips a read timeout and can hold a call for minutes. :class:`DeadlineBackend`
wraps httpcore's network backend so that every connect, read and write of the calling thread is
also cut to the time left before the deadline of the call (:func:`call_deadline`): past it, the
operation fails as a timeout, headers included.

httpx decodes gzip and deflate a network chunk at a time, without bound: a 64 KiB chunk of a
"gzip bomb" becomes tens of megabytes at once. :class:`BodyDecoder` decodes the raw stream
itself, never producing more than the room left under the cap, so memory stays bounded by it.
"""

from __future__ import annotations

import contextlib
import ssl
import threading
import time
import zlib
from collections.abc import Iterable, Iterator

import httpcore

ACCEPT_ENCODING = "gzip, deflate"
"""What the client asks for: the encodings :class:`BodyDecoder` decodes in a stream."""

_local = threading.local()


@contextlib.contextmanager
def call_deadline(deadline_monotonic: float) -> Iterator[None]:
    """Every socket operation of this thread inside the block ends by ``deadline_monotonic``
    (``time.monotonic()`` seconds)."""
    previous = getattr(_local, "deadline", None)
    _local.deadline = deadline_monotonic
    try:
        yield
    finally:
        _local.deadline = previous


def _capped(timeout: float | None, error: type[Exception]) -> float | None:
    deadline = getattr(_local, "deadline", None)
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise error("the call's deadline passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _capped(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _capped(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(self._inner.start_tls(
            ssl_context, server_hostname, _capped(timeout, httpcore.ConnectTimeout)))

    def get_extra_info(self, info: str):  # noqa: ANN201 - httpcore's signature
        return self._inner.get_extra_info(info)


class DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's network backend with every operation cut to the thread's call deadline."""

    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable | None = None,
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(self._inner.connect_tcp(
            host, port, _capped(timeout, httpcore.ConnectTimeout), local_address, socket_options))

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable | None = None
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(self._inner.connect_unix_socket(
            path, _capped(timeout, httpcore.ConnectTimeout), socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def deadline_transport(**kwargs):  # noqa: ANN003, ANN201 - an httpx.HTTPTransport
    """An ``httpx.HTTPTransport`` whose connections obey :func:`call_deadline`."""
    import httpx

    transport = httpx.HTTPTransport(**kwargs)
    pool = transport._pool  # httpcore.ConnectionPool: its backend is only set at construction
    pool._network_backend = DeadlineBackend(pool._network_backend)
    return transport


class UnsupportedEncoding(ValueError):
    """A Content-Encoding the client did not ask for."""


class BodyDecoder:
    """Decodes a body sent with ``content_encoding`` (identity, gzip, deflate), chunk by
    chunk, never producing more than the room it is given (plus one byte, to tell "over")."""

    def __init__(self, content_encoding: str) -> None:
        enc = content_encoding.strip().lower()
        if enc in ("", "identity"):
            self._kind = "identity"
        elif enc in ("gzip", "x-gzip"):
            self._kind = "gzip"
        elif enc == "deflate":
            self._kind = "deflate"
        else:
            raise UnsupportedEncoding(f"content encoding {enc[:40]!r} was not asked for")
        self._z = self._new()
        self._first = True

    def _new(self):  # noqa: ANN202 - a zlib decompress object
        if self._kind == "gzip":
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        if self._kind == "deflate":
            return zlib.decompressobj()
        return None

    def feed(self, raw: bytes, room: int) -> bytes:
        """The decoded bytes of ``raw``: at most ``room + 1`` of them (more than ``room``
        means the body is over its cap; the rest is not decoded). ``zlib.error`` for a
        corrupt stream."""
        if self._z is None:
            return raw[: room + 1]
        if self._first and self._kind == "deflate":
            self._first = False
            try:  # deflate is meant to be zlib-wrapped, but servers send raw deflate too
                probe = zlib.decompressobj()
                out = probe.decompress(raw, room + 1)
                self._z = probe
                return out + self._rest(probe.unconsumed_tail, room - len(out))
            except zlib.error:
                self._z = zlib.decompressobj(-zlib.MAX_WBITS)
        self._first = False
        return self._rest(raw, room)

    def _rest(self, data: bytes, room: int) -> bytes:
        out: list[bytes] = []
        produced = 0
        while data and produced <= room:
            piece = self._z.decompress(data, room - produced + 1)
            out.append(piece)
            produced += len(piece)
            if self._z.eof:  # gzip may hold several members one after the other
                data = self._z.unused_data
                if data and self._kind == "gzip":
                    self._z = self._new()
                else:
                    break
            else:
                data = self._z.unconsumed_tail
        return b"".join(out)
