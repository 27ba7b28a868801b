"""A loopback HTTP endpoint for apprise's ``json://`` scheme: it keeps what it receives and
answers each path as told (a status, or a hold that outlasts the sender's read timeout)."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Endpoint:
    def __init__(self) -> None:
        self.received: list[tuple[str, dict]] = []
        self.status: dict[str, int] = {}
        """Path -> status to answer (200 when not named)."""
        self.hold: dict[str, threading.Event] = {}
        """Path -> an event the answer waits for (at most 60 s): a slow endpoint."""
        self.hits: dict[str, int] = {}
        self._lock = threading.Lock()
        self.port = 0

    def url(self, path: str, **params: str) -> str:
        query = "&".join(f"{k}={v}" for k, v in params.items())
        return f"json://127.0.0.1:{self.port}{path}" + (f"?{query}" if query else "")

    def messages(self, path: str | None = None) -> list[dict]:
        with self._lock:
            return [m for p, m in self.received if path is None or p == path]

    def wait_for(self, predicate, timeout_s: float = 120.0) -> list[dict]:
        """The messages once ``predicate(messages)`` holds (a margin of minutes)."""
        deadline = time.monotonic() + timeout_s
        while True:
            got = self.messages()
            if predicate(got):
                return got
            assert time.monotonic() < deadline, f"endpoint never got the messages: {got}"
            time.sleep(0.05)

    def release(self) -> None:
        for ev in self.hold.values():
            ev.set()


@contextlib.contextmanager
def endpoint() -> Iterator[Endpoint]:
    ep = Endpoint()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            path = self.path.split("?", 1)[0]
            with ep._lock:
                ep.hits[path] = ep.hits.get(path, 0) + 1
            hold = ep.hold.get(path)
            if hold is not None:
                hold.wait(60)
            status = ep.status.get(path, 200)
            if status == 200:
                with ep._lock:
                    ep.received.append((path, json.loads(body)))
            try:
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
            except OSError:
                pass  # the sender gave up waiting

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    ep.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield ep
    finally:
        ep.release()
        server.shutdown()
        server.server_close()
