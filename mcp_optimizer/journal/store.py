"""The journal: one SQLite file in the data directory, the service's memory of what it did.

:class:`Journal` is composed of one part per concern: ``modes`` (mode and pause), ``cycles``
(cycles and decisions), ``changes`` (policy changes and their state machine), ``channels``
(what is known of each channel's policy), ``crashes``; ``base`` holds the connection, the
transactions and the codecs. This module opens the file: it is checked before anything is
written to it, and an unreadable, corrupt, foreign or newer-schema file raises
:class:`JournalError` with one clear sentence and is left exactly as it was.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from . import integrity, schema
from .base import IllegalTransition, JournalError
from .changes import ChangesMixin
from .channels import ChannelsMixin, KnownPolicy
from .compaction import CompactionMixin
from .crashes import CrashesMixin
from .cycles import CyclesMixin
from .modes import DEFAULT_MODE, ModesMixin
from .policy_changes import PolicyChangesMixin
from .reads import ReadsMixin

__all__ = [
    "DEFAULT_MODE",
    "JOURNAL_FILE",
    "IllegalTransition",
    "Journal",
    "JournalError",
    "KnownPolicy",
    "journal_path",
]

JOURNAL_FILE = "journal.sqlite3"
SQLITE_HEADER = b"SQLite format 3\x00"


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


class Journal(
    ModesMixin, CyclesMixin, ReadsMixin, ChangesMixin, ChannelsMixin, CrashesMixin,
    PolicyChangesMixin, CompactionMixin,
):
    """The journal file, safe to share between threads (one connection, one lock)."""

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
        marker = integrity.refuse_before_open(path)  # a lost journal is no fresh history
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
            integrity.check_readonly(con, path, marker)
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
        integrity.after_open(journal, marker)  # checksums, marker, a real write
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
