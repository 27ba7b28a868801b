"""The service's local centrality: computed in a child process that exits, kept here.

:class:`CentralityProcess` runs ``worker.py`` (DescribeGraph, the topology's fingerprint,
exact Brandes with the numba kernel) in a child process and keeps only its answer: each
node's normalised betweenness and rank, a few MiB. The graph and the compiler never enter the
service, whose memory between cycles stays small; the child's work runs on another core.
The same child reads the competitors' fees into each of our peers from that graph.

Freshness: the first ask waits for the first computation (started at service start with
:meth:`refresh`, so a cold cycle's ingestion runs meanwhile). Later, a table older than
``max_age_s`` is refreshed in the background while the ask is answered from the table it has
(each ``CentralityKnown`` is stamped with the time its graph was read, well within the
facts' 48 h freshness limit); the child computes only when the topology's fingerprint
changed. A failed refresh keeps the table and is retried on the next ask.

The first computation is an estimate from ``pivots`` sampled pivots (on a graph large enough
for it to save most of the work, ``centrality.estimate_worthwhile``; exact otherwise), so that
the first cycle does not wait for exact Brandes; with ``follow_exact`` the exact computation
starts in the background as soon as the estimate is in place, and replaces it. An ask that
finds the estimate while the exact one runs waits for it up to ``first_wait_s``: only the
first cycle decides on an estimate (and says so: ``CentralityKnown.estimated``), whatever the
timing, so that repeated runs (a backtest) decide alike.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import msgspec

from mcp_optimizer.messages import Centrality, CentralityKnown, CentralityUnknown
from mcp_optimizer.messages.graph_facts import CompetitorFeeSummary

from .worker import WorkerReply

SOURCE = "local-graph"
"""The ``source`` of the CentralityKnown it gives (as ``centrality.SOURCE``)."""
NOT_IN_GRAPH = "not in the node's public channel graph"


@dataclass
class _Table:
    scores: dict[str, tuple[int, int]]
    """pubkey -> (normalized_ppm, rank)."""
    fingerprint: str
    read_at_s: int
    """When the graph it was computed on (or found unchanged in) was read."""
    competitors: dict[str, CompetitorFeeSummary]
    """The competitors' fees into each of our peers, from the last graph read."""
    estimated: bool
    """The scores are an estimate from sampled pivots (the exact ones follow)."""


class CentralityProcess:
    """Centrality of every node of the node's graph, computed by a child process.

    Thread-safe. ``lnd`` is the ``LndSettings`` the child connects with; ``clock`` the
    service's clock (the node's: the simulated one against the embedded simulator);
    ``pivots`` the first computation's sampled pivots (0: exact from the start);
    ``follow_exact`` False leaves an estimate in place (one cycle, then the process exits).
    :meth:`close` ends a running child.
    """

    def __init__(
        self,
        lnd: object,
        clock: Callable[[], float] = time.time,
        *,
        max_age_s: int = 3600,
        first_wait_s: float = 25.0,
        command: list[str] | None = None,
        pivots: int = 0,
        follow_exact: bool = True,
    ) -> None:
        self._lnd = {
            f: (str(v) if f.endswith("_path") else v) for f, v in vars(lnd).items()
        }
        self._clock = clock
        self.max_age_s = max_age_s
        self.first_wait_s = first_wait_s
        self._command = command or [
            sys.executable, "-m", "mcp_optimizer.providers.local_graph.worker"
        ]
        self.pivots = pivots
        self.follow_exact = follow_exact
        self._lock = threading.Lock()
        self._table: _Table | None = None
        self._have_table = threading.Event()
        self._worker: threading.Thread | None = None
        self._child: subprocess.Popen[bytes] | None = None
        self._closed = False
        self._last_error = ""
        self.computations = 0
        """Times the child computed the betweenness."""
        self.hits = 0
        """Asks answered from the table without a computation for them."""
        self.last_read_s = 0.0
        self.last_compute_s = 0.0

    @property
    def fingerprint(self) -> str:
        table = self._table
        return table.fingerprint if table is not None else ""

    @property
    def estimated(self) -> bool:
        """Whether the table in place is an estimate (False without a table)."""
        table = self._table
        return table is not None and table.estimated

    def refresh(self) -> threading.Thread:
        """Start a child computation unless one is running; returns the thread doing it."""
        with self._lock:
            if self._worker is not None and self._worker.is_alive():
                return self._worker
            worker = threading.Thread(target=self._work, name="centrality-worker", daemon=True)
            self._worker = worker
            worker.start()
            return worker

    def close(self) -> None:
        """End a running child (its result is dropped); no computation starts after this."""
        with self._lock:
            self._closed = True
            child = self._child
        if child is not None and child.poll() is None:
            child.kill()

    def _work(self) -> None:
        """One computation; when it was a first estimate, the exact one follows at once."""
        first = self._table is None
        self._run(int(self._clock()))
        if first and self.follow_exact and self.estimated and not self._closed:
            self._run(int(self._clock()))

    def _run(self, started_at_s: int) -> None:
        table = self._table
        request = msgspec.json.encode({
            "lnd": self._lnd,
            # an estimate is replaced by the exact table even when the topology is the same
            "fingerprint": table.fingerprint if table is not None and not table.estimated
            else "",
            "pivots": self.pivots if table is None else 0,
        })
        timeout = float(self._lnd.get("graph_timeout_s", 300.0)) + 600.0
        try:
            with self._lock:
                if self._closed:
                    return
                child = self._child = subprocess.Popen(
                    self._command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                )
            try:
                stdout, stderr = child.communicate(request, timeout=timeout)
            except subprocess.TimeoutExpired:
                child.kill()
                child.communicate()
                raise
            finally:
                self._child = None
        except (OSError, subprocess.TimeoutExpired) as exc:
            self._last_error = f"the centrality worker did not finish ({exc})"
            return
        if self._closed:
            return
        if child.returncode != 0:
            lines = stderr.decode(errors="replace").strip().splitlines()
            self._last_error = lines[-1] if lines else f"worker exit status {child.returncode}"
            return
        try:
            reply = msgspec.msgpack.decode(stdout, type=WorkerReply)
        except msgspec.DecodeError as exc:
            self._last_error = f"the centrality worker's reply is unreadable ({exc})"
            return
        with self._lock:
            self.last_read_s = reply.read_s
            self._last_error = ""
            if reply.unchanged and self._table is not None:
                self._table.read_at_s = started_at_s
                self._table.competitors = reply.competitors
                return
            self.last_compute_s = reply.compute_s
            self.computations += 1
            self._table = _Table(
                scores=dict(zip(reply.pubkeys, zip(reply.normalized_ppm, reply.rank,
                                                   strict=True), strict=True)),
                fingerprint=reply.fingerprint,
                read_at_s=started_at_s,
                competitors=reply.competitors,
                estimated=reply.pivots > 0,
            )
            self._have_table.set()

    def competitors(self, pubkeys: Iterable[str]) -> dict[str, CompetitorFeeSummary]:
        """The competitors' fees into each of the given peers known from the last graph read
        (a peer of a channel opened since is absent until the next refresh), stamped with
        the service's time of that read."""
        table = self._table
        if table is None:
            return {}
        return {
            p: msgspec.structs.replace(table.competitors[p], observed_at_s=table.read_at_s)
            for p in pubkeys if p in table.competitors
        }

    def lookup(
        self, pubkeys: Iterable[str], now_s: int
    ) -> tuple[dict[str, Centrality], str]:
        """``({pubkey: Centrality}, "")``, or ``({}, why)`` when no centrality is known yet.

        Without a table it waits up to ``first_wait_s`` for the computation (an estimate, see
        the module); with an estimate it waits as long for the exact one (started if none
        runs); with a table older than ``max_age_s`` it starts a refresh and answers from what
        it has."""
        table = self._table
        if table is None:
            worker = self.refresh()
            deadline = time.monotonic() + self.first_wait_s
            while not self._have_table.wait(0.05) and worker.is_alive():
                if time.monotonic() >= deadline:
                    break
            table = self._table
            if table is None:
                why = self._last_error or (
                    f"the first centrality computation takes longer than {self.first_wait_s:g} s"
                )
                return {}, why
        elif table.estimated and self.follow_exact:
            self.hits += 1
            self.refresh().join(self.first_wait_s)
            table = self._table or table
        else:
            self.hits += 1
            if now_s - table.read_at_s >= self.max_age_s:
                self.refresh()
        out: dict[str, Centrality] = {}
        for key in pubkeys:
            found = table.scores.get(key)
            if found is None:
                out[key] = CentralityUnknown(reason=NOT_IN_GRAPH)
            else:
                out[key] = CentralityKnown(
                    normalized_ppm=found[0], rank=found[1], source=SOURCE,
                    observed_at_s=table.read_at_s, estimated=table.estimated,
                )
        return out, ""
