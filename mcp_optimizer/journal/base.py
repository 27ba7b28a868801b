"""What every part of the journal shares: its errors, the codecs of its JSON columns, and the
connection with its lock, transactions and reads (:class:`JournalBase`).

WAL mode, ``synchronous=FULL``: a record is on disk when its call returns (an INTENT is durable
before the node is called). Every record is its own transaction unless a caller batches them
(:meth:`JournalBase.batch`).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import msgspec

from mcp_optimizer.logs import log_routine
from mcp_optimizer.messages.decision import Decision
from mcp_optimizer.messages.domain import ChannelPolicy, PeerPolicy
from mcp_optimizer.messages.journal import GateStop

_json = msgspec.json.Encoder()
_policy_dec = msgspec.json.Decoder(ChannelPolicy)
_peer_policy_dec = msgspec.json.Decoder(PeerPolicy)
_stops_dec = msgspec.json.Decoder(list[GateStop])
_strs_dec = msgspec.json.Decoder(list[str])
_ints_dec = msgspec.json.Decoder(list[int])
_decision_dec = msgspec.json.Decoder(Decision)


class JournalError(Exception):
    """The journal cannot be used; the message says which file and why, in one sentence."""


class IllegalTransition(JournalError):
    """A change was asked to move between states the state machine does not allow."""


class JournalBase:
    """The journal's connection, safe to share between threads (one connection, one lock)."""

    def __init__(self, con: sqlite3.Connection, path: Path, clock: Callable[[], float]):
        self._con = con
        self.path = path
        self._clock = clock
        self._lock = threading.RLock()
        self._tx_depth = 0  # transactions open in the thread holding _lock (batch nesting)
        self._routine: dict[tuple[str, tuple[str, ...]], int] = {}
        """Routine changes recorded in the open batch, by (state, gates): logged as one line
        when it commits (``logs.log_routine``), forgotten if it rolls back."""

    write_failure = ""
    """Why the last write of the journal failed; empty once a write succeeds again (status
    and health say the journal cannot be written while it is set)."""
    _marker_hook = None
    """Called after each commit (journal/integrity.py keeps the data dir's marker)."""

    def now_s(self) -> int:
        return int(self._clock())

    _last_total = -1

    def _committed(self) -> None:
        total = self._con.total_changes
        if total != self._last_total:  # a commit that wrote something: writing works again
            self._last_total = total
            self.write_failure = ""
        if self._marker_hook is not None:
            self._marker_hook()

    def _write_failed(self, what: str, exc: BaseException) -> None:
        self.write_failure = f"journal {self.path}: {what} ({exc})"

    # ---- transactions ---------------------------------------------------------------------

    class _Tx:
        """One transaction (BEGIN IMMEDIATE ... COMMIT); inside another one of the same
        thread (a :meth:`batch`), a savepoint of it: committed with it, or undone alone."""

        def __init__(self, journal: JournalBase):
            self.j = journal

        def __enter__(self) -> sqlite3.Cursor:
            self.j._lock.acquire()
            self.nested = self.j._tx_depth > 0
            try:
                self.cur = self.j._con.cursor()
                self.cur.execute("SAVEPOINT nested" if self.nested else "BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                self.j._write_failed("cannot write", exc)
                self.j._lock.release()
                raise JournalError(f"journal {self.j.path}: cannot write ({exc})") from None
            self.j._tx_depth += 1
            return self.cur

        def __exit__(self, exc_type, exc, tb) -> None:
            self.j._tx_depth -= 1
            if exc_type is not None and issubclass(exc_type, sqlite3.Error):
                self.j._write_failed("cannot write", exc)
            try:
                if self.nested:
                    if exc_type is not None:
                        self.cur.execute("ROLLBACK TO nested")
                    self.cur.execute("RELEASE nested")
                elif exc_type is None:
                    self.cur.execute("COMMIT")
                    self.j._committed()
                    routine, self.j._routine = self.j._routine, {}
                    log_routine(routine)
                else:
                    self.j._routine = {}
                    self.cur.execute("ROLLBACK")
            except sqlite3.Error as err:
                if exc_type is None:
                    self.j._write_failed("cannot commit", err)
                    raise JournalError(f"journal {self.j.path}: cannot commit ({err})") from None
            finally:
                self.j._lock.release()

    def _tx(self) -> JournalBase._Tx:
        return JournalBase._Tx(self)

    def batch(self) -> JournalBase._Tx:
        """One transaction around many records (``with journal.batch(): ...``): what is
        recorded inside is committed together, with one fsync, when the block ends, or not
        at all if it raises. Other threads wait for the journal meanwhile: never call the
        node inside. A record that must be on disk before something else happens (a write's
        INTENT) is never made inside a batch."""
        return JournalBase._Tx(self)

    def _query(self, sql: str, args: Sequence[object] = ()) -> list[tuple]:
        with self._lock:
            try:
                return self._con.execute(sql, args).fetchall()
            except sqlite3.DatabaseError as exc:
                raise JournalError(f"journal {self.path}: cannot read ({exc})") from None


def _enc(obj: object) -> str:
    return _json.encode(obj).decode()


def _chunks(items: list[int], size: int) -> Iterable[list[int]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
