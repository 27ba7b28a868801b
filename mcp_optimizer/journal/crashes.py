"""The journal's crashes: the circuit breaker's input, acknowledged by the operator."""

from __future__ import annotations

from mcp_optimizer.messages.journal import (
    AcknowledgedAt,
    Acknowledgement,
    CrashKind,
    CrashRecord,
    NotAcknowledged,
)

from .base import JournalBase


class CrashesMixin(JournalBase):
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



def _crash(r: tuple) -> CrashRecord:
    """``crashes.acknowledged_at_s`` stores 0 while a crash is not acknowledged: mapped here to
    the explicit :class:`NotAcknowledged`."""
    ack: Acknowledgement = AcknowledgedAt(at_s=r[5]) if r[5] > 0 else NotAcknowledged()
    return CrashRecord(
        crash_id=r[0], kind=CrashKind(r[1]), source=r[2], detail=r[3], at_s=r[4],
        acknowledgement=ack,
    )
