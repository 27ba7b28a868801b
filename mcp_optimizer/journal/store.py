"""The journal: one SQLite file in the data directory, the service's memory of what it did.

WAL mode, ``synchronous=FULL``: a record is on disk when its call returns (an INTENT is durable
before the node is called). Every record is its own transaction. The file is checked before
anything is written to it: an unreadable, corrupt, foreign or newer-schema file raises
:class:`JournalError` with one clear sentence and is left exactly as it was.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import msgspec

from mcp_optimizer.logs import log_change
from mcp_optimizer.messages.decision import ChangeOrigin, Decision
from mcp_optimizer.messages.domain import ChannelPolicy, PeerPolicy, PolicyUnknown
from mcp_optimizer.messages.journal import (
    AcknowledgedAt,
    Acknowledgement,
    ChangeAction,
    ChangeEvent,
    ChangeRecord,
    ChangeState,
    CrashKind,
    CrashRecord,
    CycleEnd,
    CycleEnded,
    CycleNotEnded,
    CycleOutcome,
    CycleRecord,
    DecisionLink,
    FromDecision,
    GateStop,
    Mode,
    ModeChange,
    NotAcknowledged,
    WithoutDecision,
)

from . import schema, states

JOURNAL_FILE = "journal.sqlite3"
SQLITE_HEADER = b"SQLite format 3\x00"
DEFAULT_MODE = Mode.SHADOW
"""A fresh install observes only; going live is an explicit, journaled operator act."""

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


@dataclass(frozen=True)
class KnownPolicy:
    """The journal's last knowledge of a channel's policy on the node."""

    chan_id: int
    channel_point: str
    policy: ChannelPolicy
    change_id: int
    """The change that produced it; 0 when first observed (baseline)."""
    seen_at_s: int
    open: bool


def journal_path(data_dir: str | Path) -> Path:
    return Path(data_dir) / JOURNAL_FILE


def _check_existing(path: Path) -> int:
    """Check an existing file without writing to it; return its schema version."""
    if not path.is_file():
        raise JournalError(f"journal {path} is not a regular file; refusing to use it")
    try:
        with path.open("rb") as fh:
            header = fh.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise JournalError(
            f"journal {path} cannot be read ({exc.strerror or exc}); fix its permissions"
        ) from None
    if header == b"":
        return 0
    if header != SQLITE_HEADER:
        raise JournalError(
            f"journal {path} is not an SQLite database (corrupt or foreign file); "
            "it was left untouched: restore it from a backup or move it away"
        )
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
    except sqlite3.Error as exc:
        raise JournalError(f"journal {path} cannot be opened ({exc}); left untouched") from None
    try:
        check = con.execute("PRAGMA quick_check").fetchall()
        app_id = con.execute("PRAGMA application_id").fetchone()[0]
        version = con.execute("PRAGMA user_version").fetchone()[0]
        tables = con.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise JournalError(
            f"journal {path} is corrupt ({exc}); it was left untouched: restore it from a "
            "backup or move it away"
        ) from None
    finally:
        con.close()
    if check != [("ok",)]:
        first = check[0][0] if check else "no answer"
        raise JournalError(
            f"journal {path} failed its integrity check ({first}); it was left untouched: "
            "restore it from a backup or move it away"
        )
    if app_id != schema.APPLICATION_ID and (app_id != 0 or tables):
        raise JournalError(
            f"journal {path} is an SQLite database of another application "
            f"(application_id {app_id}); refusing to write to it"
        )
    if version > schema.SCHEMA_VERSION:
        raise JournalError(
            f"journal {path} has schema version {version}, newer than this version knows "
            f"({schema.SCHEMA_VERSION}); upgrade mcp-optimizer, the file was left untouched"
        )
    return version


class Journal:
    """The journal file, safe to share between threads (one connection, one lock)."""

    def __init__(self, con: sqlite3.Connection, path: Path, clock: Callable[[], float]):
        self._con = con
        self.path = path
        self._clock = clock
        self._lock = threading.RLock()

    # ---- opening -------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        data_dir: str | Path,
        clock: Callable[[], float] = time.time,
        *,
        create: bool = True,
        readonly: bool = False,
    ) -> Journal:
        """Open (or create) ``<data_dir>/journal.sqlite3``, migrating an older schema forward.

        Before a migration the old file is copied next to it (``journal.sqlite3.vN.bak``).
        ``create=False`` refuses to create a missing journal. ``readonly=True`` (for
        ``history`` and ``shadow-report``) never writes: no creation, no migration.
        """
        path = journal_path(data_dir)
        existed = path.exists()
        if not existed and (not create or readonly):
            raise JournalError(f"no journal at {path}: the service has not run with this data dir")
        version = _check_existing(path) if existed else 0
        if readonly:
            if version != schema.SCHEMA_VERSION:
                raise JournalError(
                    f"journal {path} has schema version {version}; start the service once to "
                    f"migrate it to version {schema.SCHEMA_VERSION}"
                )
            try:
                con = sqlite3.connect(
                    f"file:{path}?mode=ro", uri=True, isolation_level=None,
                    check_same_thread=False, timeout=10.0,
                )
                con.execute("PRAGMA busy_timeout=10000")
            except sqlite3.Error as exc:
                raise JournalError(f"journal {path} cannot be opened ({exc})") from None
            return cls(con, path, clock)
        if not existed:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                # owner-only: the journal describes the node's channels and fees (SQLite gives
                # its -wal and -shm files the same mode)
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            except OSError as exc:
                raise JournalError(
                    f"cannot create the data directory {path.parent} ({exc.strerror or exc})"
                ) from None
        elif 0 < version < schema.SCHEMA_VERSION:
            _backup(path, path.with_name(f"{path.name}.v{version}.bak"))
        try:
            con = sqlite3.connect(
                str(path), isolation_level=None, check_same_thread=False, timeout=10.0
            )
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=FULL")
            con.execute("PRAGMA foreign_keys=ON")
            con.execute("PRAGMA busy_timeout=10000")
        except sqlite3.Error as exc:
            raise JournalError(f"journal {path} cannot be opened for writing ({exc})") from None
        journal = cls(con, path, clock)
        journal._migrate(version)
        return journal

    def _migrate(self, version: int) -> None:
        for target, statements in enumerate(schema.MIGRATIONS[version:], start=version + 1):
            try:
                with self._tx() as cur:
                    for stmt in statements:
                        if callable(stmt):
                            stmt(cur)
                        else:
                            cur.execute(stmt)
                    cur.execute(f"PRAGMA application_id={schema.APPLICATION_ID}")
                    cur.execute(f"PRAGMA user_version={target}")
            except (sqlite3.Error, ValueError, KeyError, TypeError) as exc:
                self._con.close()
                raise JournalError(
                    f"journal {self.path}: migrating to schema version {target} failed ({exc}); "
                    f"that step was rolled back, the file stays at version {target - 1}"
                ) from None

    def schema_version(self) -> int:
        with self._lock:
            return int(self._con.execute("PRAGMA user_version").fetchone()[0])

    def durability(self) -> dict[str, str]:
        """The settings that make records durable: WAL and synchronous=FULL."""
        with self._lock:
            mode = self._con.execute("PRAGMA journal_mode").fetchone()[0]
            sync = self._con.execute("PRAGMA synchronous").fetchone()[0]
        return {"journal_mode": mode, "synchronous": {2: "FULL", 3: "EXTRA"}.get(sync, str(sync))}

    def close(self) -> None:
        with self._lock:
            self._con.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def now_s(self) -> int:
        return int(self._clock())

    # ---- transactions ---------------------------------------------------------------------

    class _Tx:
        def __init__(self, journal: Journal):
            self.j = journal

        def __enter__(self) -> sqlite3.Cursor:
            self.j._lock.acquire()
            try:
                self.cur = self.j._con.cursor()
                self.cur.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                self.j._lock.release()
                raise JournalError(f"journal {self.j.path}: cannot write ({exc})") from None
            return self.cur

        def __exit__(self, exc_type, exc, tb) -> None:
            try:
                if exc_type is None:
                    self.cur.execute("COMMIT")
                else:
                    self.cur.execute("ROLLBACK")
            except sqlite3.Error as err:
                if exc_type is None:
                    raise JournalError(f"journal {self.j.path}: cannot commit ({err})") from None
            finally:
                self.j._lock.release()

    def _tx(self) -> Journal._Tx:
        return Journal._Tx(self)

    def _query(self, sql: str, args: Sequence[object] = ()) -> list[tuple]:
        with self._lock:
            try:
                return self._con.execute(sql, args).fetchall()
            except sqlite3.DatabaseError as exc:
                raise JournalError(f"journal {self.path}: cannot read ({exc})") from None

    # ---- mode and pause -------------------------------------------------------------------

    def mode(self) -> Mode:
        rows = self._query("SELECT new_mode FROM mode_changes ORDER BY id DESC LIMIT 1")
        return Mode(rows[0][0]) if rows else DEFAULT_MODE

    def set_mode(self, new: Mode, by: str, reason: str = "") -> ModeChange:
        """Record a mode change (also when it is the same mode: the operator's act is kept)."""
        with self._tx() as cur:
            row = cur.execute(
                "SELECT new_mode FROM mode_changes ORDER BY id DESC LIMIT 1"
            ).fetchone()
            old = Mode(row[0]) if row else DEFAULT_MODE
            now = self.now_s()
            cur.execute(
                "INSERT INTO mode_changes(at_s, old_mode, new_mode, by, reason) "
                "VALUES (?, ?, ?, ?, ?)",
                (now, old.value, new.value, by, reason),
            )
        return ModeChange(at_s=now, old_mode=old, new_mode=new, by=by, reason=reason)

    def mode_changes(self) -> list[ModeChange]:
        return [
            ModeChange(at_s=r[0], old_mode=Mode(r[1]), new_mode=Mode(r[2]), by=r[3], reason=r[4])
            for r in self._query(
                "SELECT at_s, old_mode, new_mode, by, reason FROM mode_changes ORDER BY id"
            )
        ]

    def api_paused(self) -> bool:
        rows = self._query("SELECT paused FROM pause_events ORDER BY id DESC LIMIT 1")
        return bool(rows[0][0]) if rows else False

    def set_paused(self, paused: bool, by: str, reason: str = "") -> None:
        with self._tx() as cur:
            cur.execute(
                "INSERT INTO pause_events(at_s, paused, by, reason) VALUES (?, ?, ?, ?)",
                (self.now_s(), int(paused), by, reason),
            )

    # ---- cycles and decisions -------------------------------------------------------------

    def begin_cycle(self, trigger: str) -> int:
        mode = self.mode()
        with self._tx() as cur:
            cur.execute(
                "INSERT INTO cycles(started_at_s, mode, trigger, outcome) VALUES (?, ?, ?, ?)",
                (self.now_s(), mode.value, trigger, _RUNNING),
            )
            return int(cur.lastrowid or 0)

    def finish_cycle(self, cycle_id: int, outcome: CycleOutcome, detail: str = "") -> None:
        """Journal a cycle's end: its outcome (ok, partial, failed, abandoned) and detail."""
        if not isinstance(outcome, CycleOutcome):
            raise ValueError(
                f"cycle outcome must be a CycleOutcome (ok, partial, failed or abandoned), "
                f"not {outcome!r}"
            )
        with self._tx() as cur:
            cur.execute(
                "UPDATE cycles SET finished_at_s=?, outcome=?, detail=? WHERE id=?",
                (self.now_s(), outcome.value, detail, cycle_id),
            )
            if cur.rowcount != 1:
                raise JournalError(f"journal {self.path}: no cycle {cycle_id} to finish")

    def cycles(self, limit: int = 100, since_s: int = 0) -> list[CycleRecord]:
        """Cycles started at or after ``since_s``, newest first."""
        return [
            CycleRecord(
                cycle_id=r[0], started_at_s=r[1], end=_cycle_end(r[2], r[5]), mode=Mode(r[3]),
                trigger=r[4], detail=r[6],
            )
            for r in self._query(
                "SELECT id, started_at_s, finished_at_s, mode, trigger, outcome, detail "
                "FROM cycles WHERE started_at_s >= ? ORDER BY id DESC LIMIT ?",
                (since_s, limit),
            )
        ]

    def record_decision(self, decision: Decision, cycle_id: int = 0) -> int:
        """Store a decision with its reasons and factor breakdown (msgspec JSON)."""
        mode = self.mode()
        with self._tx() as cur:
            cur.execute(
                "INSERT INTO decisions(cycle_id, chan_id, kind, mode, recorded_at_s, decision) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    cycle_id, decision.chan_id, decision.kind.value, mode.value, self.now_s(),
                    _json.encode(decision).decode(),
                ),
            )
            return int(cur.lastrowid or 0)

    def decisions(
        self,
        since_s: int = 0,
        chan_id: int | None = None,
        limit: int = 1000,
        cycle_id: int | None = None,
    ) -> list[tuple[int, Mode, Decision]]:
        """``(decision_id, mode, decision)``, newest first."""
        sql = "SELECT id, mode, decision FROM decisions WHERE recorded_at_s >= ?"
        args: list[object] = [since_s]
        if chan_id is not None:
            sql += " AND chan_id = ?"
            args.append(chan_id)
        if cycle_id is not None:
            sql += " AND cycle_id = ?"
            args.append(cycle_id)
        sql += " ORDER BY id DESC LIMIT ?"
        args.append(limit)
        return [(r[0], Mode(r[1]), _decision_dec.decode(r[2])) for r in self._query(sql, args)]

    # ---- changes --------------------------------------------------------------------------

    def record_change(
        self,
        *,
        chan_id: int,
        channel_point: str,
        origin: ChangeOrigin,
        mode: Mode,
        state: ChangeState,
        old_policy: ChannelPolicy,
        new_policy: ChannelPolicy,
        reasons: Sequence[str],
        detail: str,
        action: ChangeAction = ChangeAction.UPDATE_POLICY,
        decision_id: int = 0,
        rolls_back: Sequence[int] = (),
        stopped_by: Sequence[GateStop] = (),
        observed: PeerPolicy | None = None,
        known_after: bool = False,
    ) -> int:
        """Insert a change in one of the initial states; committed (durable) on return.

        ``known_after``: the journal's knowledge of the channel becomes ``new_policy`` in the
        same transaction (for EXTERNAL changes, found on the node).
        """
        if state not in states.INITIAL_STATES:
            raise IllegalTransition(f"a change cannot start in state {state.value}")
        now = self.now_s()
        seen: PeerPolicy = observed if observed is not None else PolicyUnknown(
            reason="not read back"
        )
        with self._tx() as cur:
            cur.execute(
                "INSERT INTO changes(chan_id, channel_point, origin, mode, state, decision_id, "
                "old_policy, new_policy, observed_policy, rolls_back, reasons, stopped_by, "
                "requested_at_s, updated_at_s, action) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    chan_id, channel_point, origin.value, mode.value, state.value, decision_id,
                    _enc(old_policy), _enc(new_policy), _enc(seen), _enc(list(rolls_back)),
                    _enc(list(reasons)), _enc(list(stopped_by)), now, now, action.value,
                ),
            )
            change_id = int(cur.lastrowid or 0)
            cur.execute(
                "INSERT INTO change_events(change_id, state, at_s, detail) VALUES (?, ?, ?, ?)",
                (change_id, state.value, now, detail),
            )
            if known_after:
                _set_known(cur, chan_id, channel_point, new_policy, change_id, now)
        log_change(change_id, chan_id, origin, state, detail, [g.gate for g in stopped_by])
        return change_id

    def transition(
        self,
        change_id: int,
        state: ChangeState,
        detail: str,
        observed: PeerPolicy | None = None,
        known_after: bool = False,
        crash: tuple[CrashKind, str] | None = None,
    ) -> None:
        """Move a change to ``state`` (checked against the state machine), durably.

        ``observed``: the policy just read from the node. With ``known_after`` it also becomes
        the journal's knowledge of the channel, in the same transaction. ``crash``
        (kind, detail) records a crash for change ``change_id`` in the same transaction too,
        so that a process killed right after cannot leave the outcome without its crash.
        """
        now = self.now_s()
        with self._tx() as cur:
            row = cur.execute(
                "SELECT state, chan_id, channel_point, origin FROM changes WHERE id=?",
                (change_id,),
            ).fetchone()
            if row is None:
                raise JournalError(f"journal {self.path}: no change {change_id}")
            old = ChangeState(row[0])
            if not states.allowed(old, state):
                raise IllegalTransition(
                    f"change {change_id} cannot move from {old.value} to {state.value}"
                )
            if observed is not None:
                cur.execute(
                    "UPDATE changes SET state=?, updated_at_s=?, observed_policy=? WHERE id=?",
                    (state.value, now, _enc(observed), change_id),
                )
            else:
                cur.execute(
                    "UPDATE changes SET state=?, updated_at_s=? WHERE id=?",
                    (state.value, now, change_id),
                )
            cur.execute(
                "INSERT INTO change_events(change_id, state, at_s, detail) VALUES (?, ?, ?, ?)",
                (change_id, state.value, now, detail),
            )
            if known_after:
                if not isinstance(observed, ChannelPolicy):
                    raise ValueError("known_after needs the observed ChannelPolicy")
                _set_known(cur, row[1], row[2], observed, change_id, now)
            if crash is not None:
                cur.execute(
                    "INSERT INTO crashes(kind, source, detail, at_s) VALUES (?, ?, ?, ?)",
                    (crash[0].value, f"change {change_id}", crash[1], now),
                )
        log_change(change_id, row[1], row[3], state, detail)

    _CHANGE_COLS = (
        "id, chan_id, channel_point, action, origin, mode, state, old_policy, new_policy, "
        "observed_policy, decision_id, rolls_back, reasons, stopped_by, requested_at_s, "
        "updated_at_s"
    )

    def _changes(self, where: str, args: Sequence[object], order: str = "id") -> list[ChangeRecord]:
        with self._lock:
            rows = self._query(
                f"SELECT {self._CHANGE_COLS} FROM changes {where} ORDER BY {order}", args
            )
            ids = [r[0] for r in rows]
            events: dict[int, list[ChangeEvent]] = {i: [] for i in ids}
            for chunk in _chunks(ids, 500):
                marks = ",".join("?" * len(chunk))
                for cid, st, at_s, detail in self._query(
                    "SELECT change_id, state, at_s, detail FROM change_events "
                    f"WHERE change_id IN ({marks}) ORDER BY id",
                    chunk,
                ):
                    events[cid].append(
                        ChangeEvent(state=ChangeState(st), at_s=at_s, detail=detail)
                    )
        return [
            ChangeRecord(
                change_id=r[0], chan_id=r[1], channel_point=r[2], action=ChangeAction(r[3]),
                origin=ChangeOrigin(r[4]), mode=Mode(r[5]), state=ChangeState(r[6]),
                old_policy=_policy_dec.decode(r[7]), new_policy=_policy_dec.decode(r[8]),
                observed_policy=_peer_policy_dec.decode(r[9]), decision=_decision_link(r[10]),
                rolls_back=_ints_dec.decode(r[11]), reasons=_strs_dec.decode(r[12]),
                stopped_by=_stops_dec.decode(r[13]), requested_at_s=r[14], updated_at_s=r[15],
                events=events[r[0]],
            )
            for r in rows
        ]

    def change(self, change_id: int) -> ChangeRecord:
        found = self._changes("WHERE id=?", (change_id,))
        if not found:
            raise KeyError(change_id)
        return found[0]

    def changes(
        self,
        chan_id: int | None = None,
        since_s: int = 0,
        states_in: Iterable[ChangeState] | None = None,
    ) -> list[ChangeRecord]:
        """Changes, oldest first, filtered by channel, time and state."""
        where = ["requested_at_s >= ?"]
        args: list[object] = [since_s]
        if chan_id is not None:
            where.append("chan_id = ?")
            args.append(chan_id)
        if states_in is not None:
            wanted = [s.value for s in states_in]
            where.append(f"state IN ({','.join('?' * len(wanted))})")
            args += wanted
        return self._changes("WHERE " + " AND ".join(where), args)

    def pending_changes(self) -> list[ChangeRecord]:
        """Changes without a verified outcome (INTENT, APPLIED): what reconciliation resolves."""
        return self.changes(states_in=states.PENDING_STATES)

    def latest_change(self, states_in: Iterable[ChangeState]) -> ChangeRecord | None:
        """The most recent change (any channel) in one of ``states_in``."""
        wanted = [s.value for s in states_in]
        found = self._changes(
            f"WHERE id = (SELECT max(id) FROM changes WHERE state IN "
            f"({','.join('?' * len(wanted))}))",
            wanted,
        )
        return found[0] if found else None

    def has_pending(self) -> bool:
        marks = ",".join("?" * len(states.PENDING_STATES))
        rows = self._query(
            f"SELECT 1 FROM changes WHERE state IN ({marks}) LIMIT 1",
            [s.value for s in states.PENDING_STATES],
        )
        return bool(rows)

    def last_change_at(self, chan_id: int, counted: Iterable[ChangeState]) -> tuple[int, int]:
        """``(change_id, requested_at_s)`` of the channel's latest change in ``counted``,
        ``(0, 0)`` when there is none."""
        wanted = [s.value for s in counted]
        rows = self._query(
            "SELECT id, requested_at_s FROM changes WHERE chan_id=? AND "
            f"state IN ({','.join('?' * len(wanted))}) ORDER BY id DESC LIMIT 1",
            [chan_id, *wanted],
        )
        return (rows[0][0], rows[0][1]) if rows else (0, 0)

    def count_service_changes(self, since_s: int, counted: Iterable[ChangeState]) -> int:
        """Changes made by this service (not rollbacks, not external) since ``since_s``."""
        wanted = [s.value for s in counted]
        rows = self._query(
            "SELECT count(*) FROM changes WHERE origin=? AND requested_at_s >= ? AND "
            f"state IN ({','.join('?' * len(wanted))})",
            [ChangeOrigin.SERVICE.value, since_s, *wanted],
        )
        return int(rows[0][0])

    # ---- what the journal knows of each channel -------------------------------------------

    def known_policy(self, chan_id: int) -> KnownPolicy | None:
        rows = self._query(
            "SELECT chan_id, channel_point, policy, change_id, seen_at_s, open "
            "FROM channel_state WHERE chan_id=?",
            (chan_id,),
        )
        return _known(rows[0]) if rows else None

    def known_policies(self) -> list[KnownPolicy]:
        return [
            _known(r)
            for r in self._query(
                "SELECT chan_id, channel_point, policy, change_id, seen_at_s, open "
                "FROM channel_state ORDER BY chan_id"
            )
        ]

    def set_baseline(self, chan_id: int, channel_point: str, policy: ChannelPolicy) -> None:
        """First sight of a channel: what the node shows becomes the journal's knowledge."""
        with self._tx() as cur:
            _set_known(cur, chan_id, channel_point, policy, 0, self.now_s())

    def set_open(self, chan_id: int, is_open: bool) -> None:
        with self._tx() as cur:
            cur.execute(
                "UPDATE channel_state SET open=? WHERE chan_id=?", (int(is_open), chan_id)
            )

    # ---- crashes (the circuit breaker's input) --------------------------------------------

    def record_crash(self, kind: CrashKind, source: str, detail: str) -> int:
        with self._tx() as cur:
            cur.execute(
                "INSERT INTO crashes(kind, source, detail, at_s) VALUES (?, ?, ?, ?)",
                (kind.value, source, detail, self.now_s()),
            )
            return int(cur.lastrowid or 0)

    def crashes(self, unacknowledged_only: bool = False, limit: int = 1000) -> list[CrashRecord]:
        sql = "SELECT id, kind, source, detail, at_s, acknowledged_at_s FROM crashes"
        if unacknowledged_only:
            sql += " WHERE acknowledged_at_s = 0"
        sql += " ORDER BY id LIMIT ?"
        return [_crash(r) for r in self._query(sql, (limit,))]

    def acknowledge_crashes(self, up_to_id: int | None = None) -> list[CrashRecord]:
        """Acknowledge every open crash (up to ``up_to_id``); returns what was acknowledged."""
        now = self.now_s()
        with self._tx() as cur:
            sql = "SELECT id, kind, source, detail, at_s, acknowledged_at_s FROM crashes "
            sql += "WHERE acknowledged_at_s = 0"
            args: list[object] = []
            if up_to_id is not None:
                sql += " AND id <= ?"
                args.append(up_to_id)
            rows = cur.execute(sql + " ORDER BY id", args).fetchall()
            cur.executemany(
                "UPDATE crashes SET acknowledged_at_s=? WHERE id=?", [(now, r[0]) for r in rows]
            )
        return [_crash((*r[:5], now)) for r in rows]


def _enc(obj: object) -> str:
    return _json.encode(obj).decode()


def _chunks(items: list[int], size: int) -> Iterable[list[int]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _set_known(
    cur: sqlite3.Cursor, chan_id: int, point: str, policy: ChannelPolicy, change_id: int, now: int
) -> None:
    cur.execute(
        "INSERT INTO channel_state(chan_id, channel_point, policy, change_id, seen_at_s, open) "
        "VALUES (?, ?, ?, ?, ?, 1) ON CONFLICT(chan_id) DO UPDATE SET "
        "channel_point=excluded.channel_point, policy=excluded.policy, "
        "change_id=excluded.change_id, seen_at_s=excluded.seen_at_s, open=1",
        (chan_id, point, _enc(policy), change_id, now),
    )


def _known(r: tuple) -> KnownPolicy:
    return KnownPolicy(
        chan_id=r[0], channel_point=r[1], policy=_policy_dec.decode(r[2]), change_id=r[3],
        seen_at_s=r[4], open=bool(r[5]),
    )


_RUNNING = "running"
"""The ``cycles.outcome`` stored while a cycle has no journaled end (``finished_at_s`` 0)."""


def _cycle_end(finished_at_s: int, outcome: str) -> CycleEnd:
    if outcome == _RUNNING:
        return CycleNotEnded()
    return CycleEnded(at_s=finished_at_s, outcome=CycleOutcome(outcome))


def _decision_link(decision_id: int) -> DecisionLink:
    """``changes.decision_id`` stores 0 for a change that comes from no decision (decision
    ids start at 1): mapped here to the explicit :class:`WithoutDecision`."""
    return FromDecision(decision_id=decision_id) if decision_id > 0 else WithoutDecision()


def _crash(r: tuple) -> CrashRecord:
    """``crashes.acknowledged_at_s`` stores 0 while a crash is not acknowledged: mapped here to
    the explicit :class:`NotAcknowledged`."""
    ack: Acknowledgement = AcknowledgedAt(at_s=r[5]) if r[5] > 0 else NotAcknowledged()
    return CrashRecord(
        crash_id=r[0], kind=CrashKind(r[1]), source=r[2], detail=r[3], at_s=r[4],
        acknowledgement=ack,
    )


def _backup(src_path: Path, dst_path: Path) -> None:
    """Copy a journal before migrating it (SQLite's online backup: consistent with its WAL)."""
    try:
        src = sqlite3.connect(f"file:{src_path}?mode=ro", uri=True)
        dst = sqlite3.connect(str(dst_path))
        with dst:
            src.backup(dst)
        src.close()
        dst.close()
    except sqlite3.Error as exc:
        raise JournalError(
            f"journal {src_path}: cannot back it up to {dst_path} before migrating ({exc}); "
            "nothing was changed"
        ) from None
