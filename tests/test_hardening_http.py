"""Issue 10, items 10 and 11, against real loopback sockets: a provider's gzip bomb is refused
at the cap without decoding it whole (memory stays near the cap), and a provider trickling its
headers a byte at a time cannot hold a call past the call's deadline."""

from __future__ import annotations

import gzip
import json
import socket
import threading
import tracemalloc
import zlib

import pytest

from mcp_optimizer.providers.http import ProviderMetrics
from mcp_optimizer.providers.http.bounded import BodyDecoder
from mcp_optimizer.providers.http.client import ProviderHttpClient
from mcp_optimizer.providers.http.errors import ProviderParseError, ProviderUnavailable
from mcp_optimizer.providers.http.settings import RetryPolicy

CAP = 1 << 20


class RawServer:
    """One-shot HTTP on loopback: reads a request, then runs ``answer(conn)``."""

    def __init__(self, answer) -> None:
        self.answer = answer
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.stop = threading.Event()
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(60)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                data += chunk
            try:
                self.answer(conn, self.stop)
            except OSError:
                pass

    def close(self) -> None:
        self.stop.set()
        self.sock.close()


def client(url: str, **policy) -> ProviderHttpClient:
    base = dict(connect_timeout_s=2.0, read_timeout_s=2.0, max_attempts=1, total_budget_s=1.5,
                backoff_initial_s=0.01, backoff_max_s=0.05, breaker_failures=100,
                breaker_cooldown_s=1.0, max_response_bytes=CAP)
    base.update(policy)
    return ProviderHttpClient("test", url, RetryPolicy(**base), metrics=ProviderMetrics())


def bomb(decoded_mib: int) -> bytes:
    """gzip of ``decoded_mib`` MiB of zeros (about 1 KiB per MiB)."""
    z = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1 << 20)
    return b"".join([*(z.compress(block) for _ in range(decoded_mib)), z.flush()])


def send_body(body: bytes, encoding: str):
    def answer(conn, _stop):
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            + (f"Content-Encoding: {encoding}\r\n".encode() if encoding else b"")
            + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body
        )
    return answer


def test_a_gzip_bomb_is_refused_at_the_cap_with_bounded_memory():
    payload = bomb(128)  # 128 MiB decoded, about 128 KiB on the wire
    server = RawServer(send_body(payload, "gzip"))
    c = client(server.url, total_budget_s=60.0, read_timeout_s=30.0)
    tracemalloc.start()
    try:
        with pytest.raises(ProviderParseError) as err:
            c.request("GET", "/bomb", parse=json.loads)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        c.close()
        server.close()
    assert "exceeds" in str(err.value)
    # httpx decoded each 64 KiB network chunk whole (64 MiB at a time); now: about the cap.
    assert peak < 16 * CAP, f"peak {peak / CAP:.0f} MiB traced while refusing the bomb"


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "deflate-raw", "gzip-2-members", ""])
def test_compressed_bodies_under_the_cap_are_decoded(encoding):
    doc = {"items": list(range(5000))}
    raw = json.dumps(doc).encode()
    if encoding == "gzip":
        body, header = gzip.compress(raw), "gzip"
    elif encoding == "gzip-2-members":
        half = len(raw) // 2
        body, header = gzip.compress(raw[:half]) + gzip.compress(raw[half:]), "gzip"
    elif encoding == "deflate":
        body, header = zlib.compress(raw), "deflate"
    elif encoding == "deflate-raw":
        z = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
        body, header = z.compress(raw) + z.flush(), "deflate"
    else:
        body, header = raw, ""
    server = RawServer(send_body(body, header))
    c = client(server.url, total_budget_s=30.0)
    try:
        assert c.request("GET", "/x", parse=json.loads) == doc
    finally:
        c.close()
        server.close()


def test_an_encoding_not_asked_for_is_a_parse_error():
    server = RawServer(send_body(b"\x00\x01", "br"))
    c = client(server.url, total_budget_s=30.0)
    try:
        with pytest.raises(ProviderParseError) as err:
            c.request("GET", "/x", parse=json.loads)
    finally:
        c.close()
        server.close()
    assert "not asked for" in str(err.value)


def test_the_decoder_never_produces_more_than_its_room():
    dec = BodyDecoder("gzip")
    out = dec.feed(bomb(64), 1000)
    assert len(out) == 1001


@pytest.mark.timeout(120)
def test_headers_trickled_a_byte_at_a_time_cannot_hold_a_call_past_its_deadline():
    def trickle(conn, stop):
        head = b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 100_000
        for byte in head:  # each byte well within the read timeout, forever in total
            if stop.wait(0.05):
                return
            conn.sendall(bytes([byte]))

    server = RawServer(trickle)
    budget = 1.0
    c = client(server.url, total_budget_s=budget, read_timeout_s=5.0)
    try:
        with pytest.raises(ProviderUnavailable) as err:
            c.request("GET", "/slow", parse=json.loads)
        call = c.last_call
    finally:
        c.close()
        server.close()
    assert "timed out" in str(err.value)
    # generous (tens of times): before, the call lasted as long as the server trickled
    assert call.ended_at - call.started_at < 20 * budget
