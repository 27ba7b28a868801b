"""What the HTTP handlers are given: :class:`HttpContext` (see ``mcp_optimizer.http.app``)."""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import trio
from prometheus_client import CollectorRegistry

from mcp_optimizer.messages.control import ControlReply, ControlRequest, StatusReply

if TYPE_CHECKING:  # pragma: no cover
    from mcp_optimizer.journal import Journal
    from mcp_optimizer.runtime.settings import ServiceSettings

T = TypeVar("T")

ControlHandler = Callable[..., Awaitable[ControlReply]]
"""``await handler(request, by=...)``: the service's control handler (``Service.handle``)."""


@dataclass
class Readiness:
    """What ``/readyz`` checks, each a callable run in a worker thread that returns None when
    fine or one sentence saying what is wrong. Missing checks are not run."""

    last_cycle: Callable[[], str | None] | None = None
    journal_writable: Callable[[], str | None] | None = None
    lnd_reachable: Callable[[], str | None] | None = None


@dataclass
class HttpContext:
    """Everything a route needs from the running service, and nothing else.

    Calls into the service that block (the journal, the node, status) must run in a worker
    thread: use :meth:`status`, :meth:`read` and :meth:`control`, which do.
    """

    control_handler: ControlHandler
    """The control socket's handler (``Service.handle``)."""
    status_fn: Callable[[], StatusReply]
    """The service's status, built the same way as for ``mcp-optimizer status`` (blocking)."""
    journal_path: Path
    """The journal file (SQLite)."""
    registry: CollectorRegistry
    """The service's metrics registry (served at ``/metrics``)."""
    settings: ServiceSettings | None = None
    """The service's settings (None in tests that build a bare context)."""
    readiness: Readiness = field(default_factory=Readiness)
    """The checks behind ``/readyz``."""
    journal_clock: Callable[[], float] | None = None
    """The journal's clock (the node's), for the read-only journal :meth:`read` opens."""
    extras: dict[str, Any] = field(default_factory=dict)
    """Named service parts a feature's routes need beyond the above (e.g. ``"policy"``);
    documented by whoever puts them there (``runtime/run.py``)."""
    _reader: Journal | None = field(default=None, init=False, repr=False)
    _reader_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    async def control(self, request: ControlRequest, *, by: str = "web") -> ControlReply:
        """Carry out ``request`` exactly as the control socket would, journaled as by ``by``."""
        return await self.control_handler(request, by=by)

    async def status(self) -> StatusReply:
        return await trio.to_thread.run_sync(self.status_fn)

    def journal(self) -> Journal:
        """A read-only connection to the journal (opened once, shared; blocking calls)."""
        with self._reader_lock:
            if self._reader is None:
                from mcp_optimizer.journal import Journal

                kwargs: dict[str, Any] = {"readonly": True, "create": False}
                if self.journal_clock is not None:
                    kwargs["clock"] = self.journal_clock
                self._reader = Journal.open(self.journal_path.parent, **kwargs)
            return self._reader

    async def read(self, fn: Callable[[Journal], T]) -> T:
        """``fn(journal)`` on the read-only journal, in a worker thread."""
        return await trio.to_thread.run_sync(lambda: fn(self.journal()))

    def close(self) -> None:
        with self._reader_lock:
            if self._reader is not None:
                self._reader.close()
                self._reader = None
