"""The journal's record of the operating mode (shadow, dry-run, live) and of pauses."""

from __future__ import annotations

from mcp_optimizer.logs import log_mode_change, log_pause
from mcp_optimizer.messages.journal import Mode, ModeChange, PauseChange

from .base import JournalBase

DEFAULT_MODE = Mode.SHADOW
"""A fresh install observes only; going live is an explicit, journaled operator act."""


class ModesMixin(JournalBase):
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
        log_mode_change(old.value, new.value, by, reason)
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
        log_pause(paused, by, reason)

    def pause_changes(self) -> list[PauseChange]:
        """Every pause and resume given over the API, oldest first."""
        return [
            PauseChange(at_s=r[0], paused=bool(r[1]), by=r[2], reason=r[3])
            for r in self._query("SELECT at_s, paused, by, reason FROM pause_events ORDER BY id")
        ]

    def last_pause(self) -> PauseChange | None:
        """The latest pause or resume given over the API (None: never)."""
        rows = self._query(
            "SELECT at_s, paused, by, reason FROM pause_events ORDER BY id DESC LIMIT 1"
        )
        return PauseChange(at_s=rows[0][0], paused=bool(rows[0][1]), by=rows[0][2],
                           reason=rows[0][3]) if rows else None
