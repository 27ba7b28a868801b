"""Compaction of routine records, so that a journal of years stays small and quick to open.

A cycle journals a decision for every channel (2,000 on a big node, four times a day: about
three million a year, each with its reasons and factor breakdown). Most are routine: nothing
to do, or a proposal the gates stopped again for a routine reason. Compaction keeps each in
full for a retention window, then replaces them by one summary row per channel, UTC day,
decision kind and outcome (``routine_days``: how many, the first and last time, and the
gates that stopped them), in one transaction, journaled in ``compactions`` (when, by whom,
up to when, how many records went into how many summaries).

Kept forever, in full, whatever their age:

* every change in a state that changed, or would have changed, the node's policy (INTENT,
  APPLIED, VERIFIED, MISMATCHED, FAILED, EXTERNAL, SHADOWED, NOT_EXECUTED), every rollback,
  and every change an operator or a non-routine gate stopped (bounds, step, stale decision,
  pause, circuit breaker, safe mode...), each with its events and reasons;
* every decision that led to one of those changes (``changes.decision_id``);
* cycles, mode changes, pauses, crashes, what is known of each channel.

Routine, so compacted after the window: a NO_ACTION decision that no change refers to, and a
service change HELD or REFUSED only by ``ROUTINE_GATES`` (cooldown, hourly and daily caps,
minimum change, a close recommendation while ``close.execute`` is false) together with its
decision when no other change refers to it.

Settings (environment, read by :meth:`CompactionSettings.from_env`):
``MCP_JOURNAL_KEEP_DAYS`` (default 3) the retention window in days, 0 turns compaction off;
``MCP_JOURNAL_COMPACT_EVERY_S`` (default 86400) how often it runs (after a cycle).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from mcp_optimizer.messages.journal import Gate

from .base import JournalBase, JournalError

DAY_S = 86_400
ROUTINE_GATES = frozenset({
    Gate.COOLDOWN, Gate.HOURLY_CAP, Gate.DAILY_CAP, Gate.MIN_CHANGE, Gate.CLOSE_DISABLED,
})
"""Gates whose stops repeat every cycle while nothing is wrong (the operator's own limits: a
close recommendation, the cooldown, the caps, the minimum change): a proposal stopped only by
these is routine."""


@dataclass(frozen=True)
class CompactionSettings:
    keep_s: int = 3 * DAY_S
    """Routine records younger than this are kept in full (0: never compact)."""
    every_s: int = DAY_S
    """At most one compaction per this many seconds."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> CompactionSettings:
        env = os.environ if environ is None else environ

        def number(name: str, default: int) -> int:
            raw = env.get(name, "").strip()
            if not raw:
                return default
            try:
                value = int(raw)
            except ValueError:
                value = -1
            if value < 0:
                raise JournalError(f"{name}={raw!r} must be a whole number >= 0")
            return value

        return cls(
            keep_s=number("MCP_JOURNAL_KEEP_DAYS", 3) * DAY_S,
            every_s=number("MCP_JOURNAL_COMPACT_EVERY_S", DAY_S),
        )


@dataclass(frozen=True)
class CompactionRecord:
    """One compaction, as journaled."""

    compaction_id: int
    at_s: int
    by: str
    before_s: int
    """Routine records recorded before this time were summarised."""
    decisions_removed: int
    changes_removed: int
    summary_rows: int
    """Summary rows written or added to."""


_ROUTINE_CHANGE = """
    SELECT c.id FROM changes c
    WHERE c.origin = 'service' AND c.state IN ('held', 'refused') AND c.requested_at_s < ?
      AND c.stopped_by != '[]'
      AND NOT EXISTS (
          SELECT 1 FROM json_each(c.stopped_by) g
          WHERE json_extract(g.value, '$.gate') NOT IN ({gates}))
"""


class CompactionMixin(JournalBase):
    def compactions(self) -> list[CompactionRecord]:
        return [
            CompactionRecord(*r)
            for r in self._query(
                "SELECT id, at_s, by, before_s, decisions_removed, changes_removed, "
                "summary_rows FROM compactions ORDER BY id"
            )
        ]

    def routine_days(self, chan_db: int | None = None) -> list[tuple]:
        """``(chan_id as stored, day_s, kind, outcome, count, first_at_s, last_at_s, gates)``
        rows, oldest first (``gates``: the stopping gates, comma-separated; '' for no action)."""
        sql = ("SELECT chan_id, day_s, kind, outcome, count, first_at_s, last_at_s, gates "
               "FROM routine_days")
        args: list[object] = []
        if chan_db is not None:
            sql += " WHERE chan_id = ?"
            args.append(chan_db)
        return self._query(sql + " ORDER BY day_s, chan_id, kind, outcome", args)

    def compact_if_due(self, settings: CompactionSettings, by: str = "service") -> (
        CompactionRecord | None
    ):
        """Compact when the last compaction is ``every_s`` old (or there was none)."""
        if settings.keep_s <= 0:
            return None
        now = self.now_s()
        rows = self._query("SELECT max(at_s) FROM compactions")
        last = rows[0][0] if rows and rows[0][0] is not None else None
        if last is not None and now - last < settings.every_s:
            return None
        return self.compact(now - settings.keep_s, by)

    def compact(self, before_s: int, by: str) -> CompactionRecord:
        """Summarise the routine records made before ``before_s``, in one transaction."""
        gates = ",".join(f"'{g.value}'" for g in sorted(ROUTINE_GATES, key=lambda g: g.value))
        now = self.now_s()
        with self._tx() as cur:
            cur.execute("DROP TABLE IF EXISTS temp.gone_changes")
            cur.execute("DROP TABLE IF EXISTS temp.gone_decisions")
            cur.execute("CREATE TEMP TABLE gone_changes (id INTEGER PRIMARY KEY)")
            cur.execute(
                "INSERT INTO temp.gone_changes " + _ROUTINE_CHANGE.format(gates=gates),
                (before_s,),
            )
            # decisions: NO_ACTION ones no change refers to; and those whose every change is
            # routine (a decision referred to by a kept change is kept)
            cur.execute("CREATE TEMP TABLE gone_decisions (id INTEGER PRIMARY KEY)")
            cur.execute(
                """INSERT INTO temp.gone_decisions
                SELECT d.id FROM decisions d
                WHERE d.recorded_at_s < ?
                  AND NOT EXISTS (
                      SELECT 1 FROM changes c WHERE c.decision_id = d.id
                        AND c.id NOT IN (SELECT id FROM temp.gone_changes))
                  AND (d.kind = 'NO_ACTION' OR EXISTS (
                      SELECT 1 FROM changes c WHERE c.decision_id = d.id))""",
                (before_s,),
            )
            # one summary row per channel, day, kind and outcome; counts add up over runs
            cur.execute("DROP TABLE IF EXISTS temp.gone_groups")
            cur.execute(
                """CREATE TEMP TABLE gone_groups AS
                SELECT d.chan_id AS chan_id, (d.recorded_at_s / 86400) * 86400 AS day_s,
                       d.kind AS kind, coalesce(c.state, 'no action') AS outcome,
                       count(*) AS n, min(d.recorded_at_s) AS first_at_s,
                       max(d.recorded_at_s) AS last_at_s, max(d.id) AS last_id
                FROM decisions d
                JOIN temp.gone_decisions g ON g.id = d.id
                LEFT JOIN changes c ON c.decision_id = d.id
                GROUP BY 1, 2, 3, 4"""
            )
            summary_rows = cur.execute("SELECT count(*) FROM temp.gone_groups").fetchone()[0]
            cur.execute(
                """INSERT INTO routine_days(chan_id, day_s, kind, outcome, count, first_at_s,
                    last_at_s, gates)
                SELECT g.chan_id, g.day_s, g.kind, g.outcome, g.n, g.first_at_s, g.last_at_s,
                       coalesce(
                           (SELECT group_concat(json_extract(s.value, '$.gate'), ', ')
                            FROM changes c, json_each(c.stopped_by) s
                            WHERE c.decision_id = g.last_id),
                           '')
                FROM temp.gone_groups g WHERE true
                ON CONFLICT(chan_id, day_s, kind, outcome) DO UPDATE SET
                    count = count + excluded.count,
                    first_at_s = min(first_at_s, excluded.first_at_s),
                    last_at_s = max(last_at_s, excluded.last_at_s),
                    gates = CASE WHEN excluded.last_at_s >= last_at_s
                                 THEN excluded.gates ELSE gates END"""
            )
            cur.execute("DROP TABLE temp.gone_groups")
            cur.execute(
                "DELETE FROM change_events WHERE change_id IN (SELECT id FROM temp.gone_changes)"
            )
            changes_removed = cur.execute(
                "DELETE FROM changes WHERE id IN (SELECT id FROM temp.gone_changes)"
            ).rowcount
            decisions_removed = cur.execute(
                "DELETE FROM decisions WHERE id IN (SELECT id FROM temp.gone_decisions)"
            ).rowcount
            cur.execute("DROP TABLE temp.gone_changes")
            cur.execute("DROP TABLE temp.gone_decisions")
            cur.execute(
                "INSERT INTO compactions(at_s, by, before_s, decisions_removed, "
                "changes_removed, summary_rows) VALUES (?, ?, ?, ?, ?, ?)",
                (now, by, before_s, decisions_removed, changes_removed, summary_rows),
            )
            compaction_id = int(cur.lastrowid or 0)
        return CompactionRecord(compaction_id, now, by, before_s, decisions_removed,
                                changes_removed, summary_rows)
