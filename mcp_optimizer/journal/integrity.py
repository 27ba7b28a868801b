"""The journal's integrity beyond SQLite's own checks (schema version 6).

SQLite's ``quick_check`` sees a broken page, not a wrong digit inside a record, and nothing at
all of a file truncated to 0 bytes or of a WAL deleted with the records since its checkpoint.
Three defences:

* **Checksums.** Every stored policy (a change's old, new and observed policies, the
  journal's knowledge of a channel), change event and decision is kept with a checksum of its
  row's identity and text (:func:`change_sum`, :func:`channel_sum`, :func:`event_sum`,
  :func:`decision_sum`). A row whose checksum fails is refused as damaged: the journal does
  not open (:func:`verify_all`), and a read of a change or a known policy raises
  :class:`DamagedRecord` (a ``JournalError``), so that no rollback, no "external change" and
  no node write ever uses a policy bit rot changed.
* **The data-dir marker** (``journal.marker`` beside the journal): the journal's identity and
  the last ids of its cycles, decisions, changes and change events, rewritten
  after every commit that adds one. At open, a journal that is missing, empty, of another
  identity, or holds less than the marker says is refused with one line: a fresh history needs
  the operator to move both away.
* **Writability.** Opening for writing makes a real write (:func:`probe_write`); while running,
  the last write failure is kept (``Journal.write_failure``) for status and health.

Channel ids are LND's uint64; SQLite's integers are signed 64-bit. :func:`chan_to_db` stores
an id at or above 2^63 (alias SCIDs start at 16,000,000 << 40) as its two's complement, and
:func:`chan_from_db` reads it back: lossless, and an ordinary id is stored as itself.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import uuid
import zlib
from dataclasses import dataclass
from pathlib import Path

from .base import JournalError

MARKER_FILE = "journal.marker"
MARKED_TABLES = ("cycles", "decisions", "changes", "change_events")
"""Tables whose last id the marker keeps."""
_U64 = 1 << 64
_I63 = 1 << 63


class DamagedRecord(JournalError):
    """A stored record whose checksum fails: damaged after it was written."""


# ---- channel ids ---------------------------------------------------------------------------


def chan_to_db(chan_id: int) -> int:
    """A uint64 channel id as SQLite's signed 64-bit integer (lossless)."""
    if not 0 <= chan_id < _U64:
        raise ValueError(f"channel id {chan_id} is not a 64-bit unsigned integer")
    return chan_id - _U64 if chan_id >= _I63 else chan_id


def chan_from_db(value: int) -> int:
    """What :func:`chan_to_db` stored, as the channel id."""
    return value + _U64 if value < 0 else value


# ---- checksums -----------------------------------------------------------------------------


def _sum(*parts: object) -> str:
    text = "\x1f".join(str(p) for p in parts)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def change_sum(change_id: int, chan_db: int, old: str, new: str, observed: str) -> str:
    """The checksum of one change's policies (as stored: JSON text)."""
    return _sum("change", change_id, chan_db, old, new, observed)


def channel_sum(chan_db: int, policy: str, change_id: int) -> str:
    """The checksum of the journal's knowledge of one channel's policy."""
    return _sum("channel", chan_db, policy, change_id)


def event_sum(event_id: int, change_id: int, state: str, at_s: int, detail: str) -> str:
    """The checksum of one change event (a state a change reached, with its sentence)."""
    return _sum("event", event_id, change_id, state, at_s, detail)


def decision_sum(decision_id: int, cycle_id: int, chan_db: int, kind: str, mode: str,
                 at_s: int, decision: str) -> str:
    """The checksum of one stored decision."""
    return _sum("decision", decision_id, cycle_id, chan_db, kind, mode, at_s, decision)


_EVENT_COLS = "id, change_id, state, at_s, detail"
_DECISION_COLS = "id, cycle_id, chan_id, kind, mode, recorded_at_s, decision"


def check_change_row(path: Path, change_id: int, chan_db: int, old: str, new: str,
                     observed: str, stored: str) -> None:
    if stored != change_sum(change_id, chan_db, old, new, observed):
        raise DamagedRecord(
            f"journal {path}: change {change_id} fails its checksum (its stored policies were "
            "altered after they were written); it is not used: restore the journal from a "
            "backup"
        )


def check_channel_row(path: Path, chan_db: int, policy: str, change_id: int,
                      stored: str) -> None:
    if stored != channel_sum(chan_db, policy, change_id):
        raise DamagedRecord(
            f"journal {path}: the known policy of channel {chan_from_db(chan_db)} fails its "
            "checksum (altered after it was written); it is not used: restore the journal "
            "from a backup"
        )


def fill_sums_v6(cur: sqlite3.Cursor) -> None:
    """Migration step: checksum every stored policy as it stands."""
    for cid, chan, old, new, seen in cur.execute(
        "SELECT id, chan_id, old_policy, new_policy, observed_policy FROM changes"
    ).fetchall():
        cur.execute("UPDATE changes SET policy_sum=? WHERE id=?",
                    (change_sum(cid, chan, old, new, seen), cid))
    for chan, policy, change_id in cur.execute(
        "SELECT chan_id, policy, change_id FROM channel_state"
    ).fetchall():
        cur.execute("UPDATE channel_state SET policy_sum=? WHERE chan_id=?",
                    (channel_sum(chan, policy, change_id), chan))
    for row in cur.execute(f"SELECT {_EVENT_COLS} FROM change_events").fetchall():
        cur.execute("UPDATE change_events SET row_sum=? WHERE id=?", (event_sum(*row), row[0]))
    for row in cur.execute(f"SELECT {_DECISION_COLS} FROM decisions").fetchall():
        cur.execute("UPDATE decisions SET row_sum=? WHERE id=?", (decision_sum(*row), row[0]))
    cur.execute("INSERT OR REPLACE INTO integrity(key, value) VALUES ('journal_id', ?)",
                (uuid.uuid4().hex,))


V6 = (
    "ALTER TABLE changes ADD COLUMN policy_sum TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE channel_state ADD COLUMN policy_sum TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE change_events ADD COLUMN row_sum TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE decisions ADD COLUMN row_sum TEXT NOT NULL DEFAULT ''",
    "CREATE TABLE integrity (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    fill_sums_v6,
)
"""Schema version 6 (hardening): checksums of policies, change events and decisions, and the
journal's identity."""


def verify_all(con: sqlite3.Connection, path: Path) -> None:
    """Every stored policy against its checksum (about 1 s per 500,000 rows)."""
    for cid, chan, old, new, seen, stored in con.execute(
        "SELECT id, chan_id, old_policy, new_policy, observed_policy, policy_sum FROM changes"
    ):
        check_change_row(path, cid, chan, old, new, seen, stored)
    for chan, policy, change_id, stored in con.execute(
        "SELECT chan_id, policy, change_id, policy_sum FROM channel_state"
    ):
        check_channel_row(path, chan, policy, change_id, stored)
    for *row, stored in con.execute(f"SELECT {_EVENT_COLS}, row_sum FROM change_events"):
        if stored != event_sum(*row):
            raise DamagedRecord(
                f"journal {path}: event {row[0]} of change {row[1]} fails its checksum (altered "
                "after it was written): restore the journal from a backup"
            )
    for *row, stored in con.execute(f"SELECT {_DECISION_COLS}, row_sum FROM decisions"):
        if stored != decision_sum(*row):
            raise DamagedRecord(
                f"journal {path}: decision {row[0]} fails its checksum (altered after it was "
                "written): restore the journal from a backup"
            )


# ---- the marker ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Marker:
    journal_id: str
    last_ids: dict[str, int]


def marker_path(journal_file: Path) -> Path:
    return journal_file.with_name(MARKER_FILE)


SLOT_BYTES = 512
"""The marker file holds two slots of this size, written in turn: a write torn by a crash
spoils one slot, and the other (one commit older) is read."""


def _decode_slot(raw: bytes) -> tuple[int, Marker] | None:
    text = raw.rstrip(b" \n\x00").decode("utf-8", "replace")
    crc, _, body = text.partition(" ")
    try:
        if int(crc, 16) != zlib.crc32(body.encode()):
            return None
        data = json.loads(body)
        return int(data["seq"]), Marker(
            journal_id=str(data["journal_id"]),
            last_ids={t: int(data["last_ids"].get(t, 0)) for t in MARKED_TABLES},
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def read_marker(journal_file: Path) -> Marker | None:
    path = marker_path(journal_file)
    try:
        raw = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return None  # no marker (a data dir that is not a directory is told where it is made)
    except OSError as exc:
        raise JournalError(f"the data dir's journal marker {path} cannot be read "
                           f"({exc.strerror or exc})") from None
    slots = [_decode_slot(raw[i : i + SLOT_BYTES]) for i in range(0, 2 * SLOT_BYTES, SLOT_BYTES)]
    found = [s for s in slots if s is not None]
    if not found:
        raise JournalError(
            f"the data dir's journal marker {path} is unreadable; restore it, or move the "
            "journal and the marker away to start a fresh history"
        )
    return max(found, key=lambda s: s[0])[1]


class MarkerFile:
    """The marker's writer: each update is one positioned write of one slot (no rename, no
    fsync: a marker may lag the journal, never lead it). Its sequence continues the file's."""

    def __init__(self, journal_file: Path) -> None:
        self.path = marker_path(journal_file)
        self.seq = 0
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            raw = b""
        for i in range(0, 2 * SLOT_BYTES, SLOT_BYTES):
            slot = _decode_slot(raw[i : i + SLOT_BYTES])
            if slot is not None:
                self.seq = max(self.seq, slot[0])

    def write(self, marker: Marker) -> None:
        seq = self.seq + 1
        body = json.dumps({"journal_id": marker.journal_id, "last_ids": marker.last_ids,
                           "seq": seq}, separators=(",", ":"))
        line = f"{zlib.crc32(body.encode()):08x} {body}".encode()
        if len(line) >= SLOT_BYTES:
            raise ValueError("marker slot overflow")
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            os.pwrite(fd, line.ljust(SLOT_BYTES - 1) + b"\n", (seq % 2) * SLOT_BYTES)
        finally:
            os.close(fd)
        self.seq = seq


def journal_id(con: sqlite3.Connection) -> str:
    rows = con.execute("SELECT value FROM integrity WHERE key='journal_id'").fetchall()
    return str(rows[0][0]) if rows else ""


def last_ids(con: sqlite3.Connection) -> dict[str, int]:
    """The highest id of each marked table (the primary key's end: no scan)."""
    row = con.execute(
        "SELECT " + ", ".join(f"(SELECT coalesce(max(id), 0) FROM {t})" for t in MARKED_TABLES)
    ).fetchone()
    return {t: int(v) for t, v in zip(MARKED_TABLES, row, strict=True)}


def refuse_missing(journal_file: Path, marker: Marker, what: str) -> JournalError:
    held = ", ".join(f"{n} {t}" for t, n in marker.last_ids.items() if n)
    return JournalError(
        f"journal {journal_file} {what}, but the data dir's marker {marker_path(journal_file)} "
        f"says it held {held or 'a history'}: refusing to start a silent fresh history; "
        "restore the journal from a backup, or move the journal and the marker away to start "
        "a new one"
    )


def check_marker(con: sqlite3.Connection, journal_file: Path, marker: Marker) -> None:
    """The open journal against the marker: same identity, at least what it says."""
    found = journal_id(con)
    if found != marker.journal_id:
        raise JournalError(
            f"journal {journal_file} is not the journal the data dir's marker "
            f"{marker_path(journal_file)} describes (another identity): refusing it; restore "
            "the right journal, or move the journal and the marker away to start a new one"
        )
    have = last_ids(con)
    short = [f"{t} up to id {marker.last_ids[t]} (it holds up to {have[t]})"
             for t in MARKED_TABLES if have[t] < marker.last_ids[t]]
    if short:
        raise JournalError(
            f"journal {journal_file} lost records the data dir's marker says it held: "
            + "; ".join(short) + " (a truncated file, zeroed pages or a deleted WAL?): "
            "restore it from a backup, or move the journal and the marker away to start a "
            "new history"
        )


# ---- writability ---------------------------------------------------------------------------


def probe_write(con: sqlite3.Connection, path: Path, now_s: int) -> None:
    """A real write (and commit) at open: an immutable file, a read-only mount or a full disk
    stops the start here, not in every later cycle."""
    try:
        con.execute("BEGIN IMMEDIATE")
        con.execute("INSERT OR REPLACE INTO integrity(key, value) VALUES ('opened_at_s', ?)",
                    (str(now_s),))
        con.execute("COMMIT")
    except sqlite3.Error as exc:
        try:
            con.execute("ROLLBACK")
        except sqlite3.Error:
            pass
        raise JournalError(
            f"journal {path} cannot be written ({exc}): check the disk space, the file's "
            "permissions and attributes; the service does not start on a journal it cannot "
            "write"
        ) from None


# ---- sealing and checking rows (called inside the journal's transactions and reads) -------


def reseal_change(cur: sqlite3.Cursor, change_id: int) -> None:
    """Recompute a change's checksum from its row as it now stands (after a write of it)."""
    row = cur.execute(
        "SELECT chan_id, old_policy, new_policy, observed_policy FROM changes WHERE id=?",
        (change_id,),
    ).fetchone()
    if row is not None:
        cur.execute("UPDATE changes SET policy_sum=? WHERE id=?",
                    (change_sum(change_id, *row), change_id))


def reseal_event(cur: sqlite3.Cursor, event_id: int) -> None:
    row = cur.execute(f"SELECT {_EVENT_COLS} FROM change_events WHERE id=?",
                      (event_id,)).fetchone()
    if row is not None:
        cur.execute("UPDATE change_events SET row_sum=? WHERE id=?", (event_sum(*row), event_id))


def reseal_decision(cur: sqlite3.Cursor, decision_id: int) -> None:
    row = cur.execute(f"SELECT {_DECISION_COLS} FROM decisions WHERE id=?",
                      (decision_id,)).fetchone()
    if row is not None:
        cur.execute("UPDATE decisions SET row_sum=? WHERE id=?",
                    (decision_sum(*row), decision_id))


def reseal_channel(cur: sqlite3.Cursor, chan_db: int) -> None:
    row = cur.execute(
        "SELECT policy, change_id FROM channel_state WHERE chan_id=?", (chan_db,)
    ).fetchone()
    if row is not None:
        cur.execute("UPDATE channel_state SET policy_sum=? WHERE chan_id=?",
                    (channel_sum(chan_db, row[0], row[1]), chan_db))


def _chunked(ids: list[int], size: int = 500):  # noqa: ANN202
    for i in range(0, len(ids), size):
        yield ids[i : i + size]


def verify_changes(journal, ids: list[int]) -> None:  # noqa: ANN001 - a JournalBase
    """:class:`DamagedRecord` when one of the changes ``ids`` fails its checksum."""
    with journal._lock:
        _verify_changes(journal._con, journal.path, ids)


def verify_channels(journal, chan_dbs: list[int]) -> None:  # noqa: ANN001 - a JournalBase
    """:class:`DamagedRecord` when one of the channels' known policies fails its checksum."""
    with journal._lock:
        _verify_channels(journal._con, journal.path, chan_dbs)


def _verify_changes(con: sqlite3.Connection, path: Path, ids: list[int]) -> None:
    for chunk in _chunked(ids):
        marks = ",".join("?" * len(chunk))
        for cid, chan, old, new, seen, stored in con.execute(
            "SELECT id, chan_id, old_policy, new_policy, observed_policy, policy_sum "
            f"FROM changes WHERE id IN ({marks})", chunk,
        ):
            check_change_row(path, cid, chan, old, new, seen, stored)


def _verify_channels(con: sqlite3.Connection, path: Path, chan_dbs: list[int]) -> None:
    for chunk in _chunked(chan_dbs):
        marks = ",".join("?" * len(chunk))
        for chan, policy, change_id, stored in con.execute(
            "SELECT chan_id, policy, change_id, policy_sum FROM channel_state "
            f"WHERE chan_id IN ({marks})", chunk,
        ):
            check_channel_row(path, chan, policy, change_id, stored)


# ---- at open, and after each commit -------------------------------------------------------


def refuse_before_open(journal_file: Path) -> Marker | None:
    """The marker, after refusing a journal that is missing or empty while the marker says
    it held records (nothing is created or written before this check)."""
    marker = read_marker(journal_file)
    if marker is None:
        return None
    if not journal_file.exists():
        raise refuse_missing(journal_file, marker, "does not exist")
    if journal_file.is_file() and journal_file.stat().st_size == 0:
        raise refuse_missing(journal_file, marker, "is empty (0 bytes)")
    return marker


def check_readonly(con: sqlite3.Connection, journal_file: Path, marker: Marker | None) -> None:
    if marker is not None:
        try:
            check_marker(con, journal_file, marker)
        except JournalError:
            con.close()
            raise


class MarkerKeeper:
    """Rewrites the marker after a commit that added records (called under the journal's
    lock). A marker that cannot be written is logged once; the journal keeps working."""

    def __init__(self, journal) -> None:  # noqa: ANN001 - the Journal
        self.journal = journal
        self.journal_id = journal_id(journal._con)
        self.written: dict[str, int] = {}
        self.warned = False
        self.file: MarkerFile | None = None

    def update(self) -> None:
        try:
            ids = last_ids(self.journal._con)
            if ids == self.written:
                return
            if self.file is None:
                self.file = MarkerFile(self.journal.path)
            self.file.write(Marker(self.journal_id, ids))
            self.written = ids
        except (OSError, sqlite3.Error) as exc:
            if not self.warned:
                from loguru import logger

                logger.warning("cannot update the journal marker beside {}: {}",
                               self.journal.path, exc)
                self.warned = True


def after_open(journal, marker: Marker | None) -> None:  # noqa: ANN001 - the Journal
    """Checks of a journal opened for writing, then the marker kept from now on: every
    checksum, the marker (when there is one), a real write. Closes it and raises
    ``JournalError`` with one sentence when one fails."""
    con = journal._con
    try:
        with journal._lock:
            verify_all(con, journal.path)
            if marker is not None:
                check_marker(con, journal.path, marker)
            probe_write(con, journal.path, journal.now_s())
            keeper = MarkerKeeper(journal)
            keeper.update()
    except JournalError:
        con.close()
        raise
    journal._marker_hook = keeper.update


def preflight(data_dir: str | Path) -> None:
    """The checks of an existing journal that need no write (SQLite's, the checksums, the
    marker), for a start to refuse before anything runs. A missing journal (and no marker)
    passes: the service creates it."""
    from .store import _check_existing, journal_path

    path = journal_path(data_dir)
    marker = refuse_before_open(path)
    if not path.exists():
        return
    version = _check_existing(path)
    if version < 6:  # checksummed from version 6 on: an older file is migrated at open
        return
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
    except sqlite3.Error as exc:
        raise JournalError(f"journal {path} cannot be opened ({exc})") from None
    try:
        verify_all(con, path)
        if marker is not None:
            check_marker(con, path, marker)
    except sqlite3.Error as exc:
        raise JournalError(f"journal {path} cannot be read ({exc}); left untouched") from None
    finally:
        con.close()
