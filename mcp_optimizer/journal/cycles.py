"""The journal's cycles and the decisions each took."""

from __future__ import annotations

from mcp_optimizer.messages.decision import Decision
from mcp_optimizer.messages.journal import (
    CycleEnd,
    CycleEnded,
    CycleNotEnded,
    CycleOutcome,
    CycleRecord,
    Mode,
)

from .base import JournalBase, JournalError, _decision_dec, _json
from .integrity import chan_to_db, reseal_decision

_RUNNING = "running"
"""The ``cycles.outcome`` stored while a cycle has no journaled end (``finished_at_s`` 0)."""


def _cycle_end(finished_at_s: int, outcome: str) -> CycleEnd:
    if outcome == _RUNNING:
        return CycleNotEnded()
    return CycleEnded(at_s=finished_at_s, outcome=CycleOutcome(outcome))



class CyclesMixin(JournalBase):
    """Cycles and decisions; each is journaled with the mode in force (``ModesMixin.mode``)."""

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
                    cycle_id, chan_to_db(decision.chan_id), decision.kind.value, mode.value,
                    self.now_s(),
                    _json.encode(decision).decode(),
                ),
            )
            decision_id = int(cur.lastrowid or 0)
            reseal_decision(cur, decision_id)
            return decision_id

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
            args.append(chan_to_db(chan_id))
        if cycle_id is not None:
            sql += " AND cycle_id = ?"
            args.append(cycle_id)
        sql += " ORDER BY id DESC LIMIT ?"
        args.append(limit)
        return [(r[0], Mode(r[1]), _decision_dec.decode(r[2])) for r in self._query(sql, args)]
