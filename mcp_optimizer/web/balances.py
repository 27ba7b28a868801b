"""Each channel's balance and fee at each cycle, for the page's balance chart: the journal does
not keep them (it keeps decisions and changes), so the page keeps its own small SQLite file,
``<data dir>/page-balances.sqlite3``.

On disk rather than in memory: 500 samples on 2,000 channels held 193 MiB of Python tuples in
the service (20 MiB even packed into arrays), against a 120 MiB budget for the whole service
(issue 16); and the chart now survives a restart of the service (an app update). One
transaction a cycle: the cycle's ~2,000 rows in, and for each of its channels the rows beyond
its newest :data:`SAMPLES_PER_CHANNEL` out (~70 ms at 500 samples on 2,000 channels; trimming
the whole table every so often instead took 0.55 s in one cycle). Losing the last samples
to a crash is harmless (``synchronous=NORMAL``). A file that is not a readable database is
moved aside (``.unreadable-<time>``, kept, logged) and a new one started: the chart loses its
past, the service nothing.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from loguru import logger

SAMPLES_PER_CHANNEL = 500
"""Samples kept per channel (at 6-hourly cycles, about four months)."""
FILE_NAME = "page-balances.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS samples (
    chan_id INTEGER NOT NULL,       -- LND's uint64 channel id, stored as signed 64-bit
    at_s INTEGER NOT NULL,          -- the snapshot's time (Unix seconds)
    local_balance_sat INTEGER NOT NULL,
    capacity_sat INTEGER NOT NULL,
    fee_rate_ppm INTEGER NOT NULL,
    PRIMARY KEY (chan_id, at_s)
) WITHOUT ROWID;
"""


def _signed(chan_id: int) -> int:
    return chan_id - (1 << 64) if chan_id >= 1 << 63 else chan_id


class BalanceLog:
    """The page's balance samples (a listener of the cycle runner: ``add`` each cycle's
    snapshots; ``of`` one channel's samples, oldest first). ``path`` None: in memory only
    (a bare context without a data dir)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db = self._open()

    def _open(self) -> sqlite3.Connection:
        target = ":memory:" if self.path is None else str(self.path)
        try:
            return self._connect(target)
        except sqlite3.DatabaseError as exc:
            assert self.path is not None
            aside = self.path.with_name(f"{self.path.name}.unreadable-{int(time.time())}")
            self.path.rename(aside)
            for suffix in ("-wal", "-shm"):
                side = self.path.with_name(self.path.name + suffix)
                if side.exists():
                    side.rename(aside.with_name(aside.name + suffix))
            logger.warning("the page's balance history {} was unreadable ({}): moved to {}, "
                           "a new one started", self.path, exc, aside.name)
            return self._connect(target)

    @staticmethod
    def _connect(target: str) -> sqlite3.Connection:
        db = sqlite3.connect(target, check_same_thread=False, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA cache_size=-1024")  # 1 MiB: the service's memory is counted
            db.executescript(_SCHEMA)
            db.execute("SELECT count(*) FROM samples WHERE chan_id = 0").fetchone()
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    def add(self, snapshots: list[Any]) -> None:
        rows = [(_signed(s.channel.chan_id), s.taken_at_s, s.channel.local_balance_sat,
                 s.channel.capacity_sat, s.channel.our_policy.fee_rate_ppm) for s in snapshots]
        if not rows:
            return
        with self._lock, self._db:  # one transaction
            self._db.execute("BEGIN")
            self._db.executemany("INSERT OR IGNORE INTO samples VALUES (?, ?, ?, ?, ?)", rows)
            self._db.executemany(
                "DELETE FROM samples WHERE chan_id = ?1 AND at_s <= (SELECT at_s FROM samples "
                "WHERE chan_id = ?1 ORDER BY at_s DESC LIMIT 1 OFFSET ?2)",
                [(r[0], SAMPLES_PER_CHANNEL) for r in rows])

    def of(self, chan_id: int) -> list[tuple[int, int, int, int]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT at_s, local_balance_sat, capacity_sat, fee_rate_ppm FROM samples "
                "WHERE chan_id = ? ORDER BY at_s DESC LIMIT ?",
                (_signed(chan_id), SAMPLES_PER_CHANNEL)).fetchall()
        return rows[::-1]

    def close(self) -> None:
        with self._lock:
            self._db.close()
