"""A scriptable HTTP server on loopback for the provider tests (real sockets, real HTTP).

Each (method, path) has a queue of :class:`Reply`; the last one repeats once the queue is
drained. Every request is recorded with its monotonic arrival time, headers and body.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    """Wait before sending anything (a slow or hung server)."""
    drip_interval_s: float = 0.0
    """Send the body one byte at a time with this pause (a server that trickles)."""
    truncate_to: int = -1
    """Announce the full Content-Length but send only this many bytes, then close."""
    hang_up: bool = False
    """Close the connection without answering."""


def json_reply(payload: object, status: int = 200, **kw: object) -> Reply:
    return Reply(status=status, body=json.dumps(payload).encode(), **kw)  # type: ignore[arg-type]


@dataclass
class Hit:
    method: str
    path: str
    at: float
    headers: dict[str, str]
    body: bytes


class LoopbackServer:
    def __init__(self) -> None:
        self._routes: dict[tuple[str, str], list[Reply | Callable[[Hit], Reply]]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.hits: list[Hit] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, *args: object) -> None:  # quiet
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                hit = Hit(
                    self.command,
                    self.path,
                    time.monotonic(),
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                )
                reply = server._next(hit)
                if reply.delay_s and server._stop.wait(reply.delay_s):
                    return
                if reply.hang_up:
                    self.close_connection = True
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.send_response(reply.status)
                headers = {"Content-Type": "application/json", **reply.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                payload = reply.body
                if reply.truncate_to >= 0:
                    self.wfile.write(payload[: reply.truncate_to])
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if reply.drip_interval_s:
                    for i in range(len(payload)):
                        if server._stop.wait(reply.drip_interval_s):
                            return
                        self.wfile.write(payload[i : i + 1])
                        self.wfile.flush()
                    return
                self.wfile.write(payload)

            def do_GET(self) -> None:  # noqa: N802
                try:
                    self._serve()
                except OSError:
                    pass  # the client gave up (timeout): expected in these tests

            do_POST = do_GET  # noqa: N815

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def script(self, method: str, path: str, *replies: Reply | Callable[[Hit], Reply]) -> None:
        with self._lock:
            self._routes[(method, path)] = list(replies)

    def _next(self, hit: Hit) -> Reply:
        with self._lock:
            self.hits.append(hit)
            queue = self._routes.get((hit.method, hit.path.split("?")[0]))
            if not queue:
                return Reply(status=599, body=b"no route scripted")
            item = queue.pop(0) if len(queue) > 1 else queue[0]
        return item(hit) if callable(item) else item

    def hits_for(self, path: str) -> list[Hit]:
        with self._lock:
            return [h for h in self.hits if h.path.split("?")[0] == path]

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def refused_url() -> str:
    """A loopback URL where nothing listens (connection refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"
