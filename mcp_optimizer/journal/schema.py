"""The journal's schema, as an ordered list of forward migrations.

``MIGRATIONS[i]`` takes a file from schema version ``i`` to ``i + 1`` (``PRAGMA user_version``).
A migration is never edited once released: a new need is a new migration appended here.
Version 1 was the first release; version 2 added the circuit breaker's crash table and the
``action`` column (policy update or close) of changes; version 3 an index for the caps;
version 4 turns the cycles journaled as ``ok`` with a ``partial:`` detail into ``partial``;
version 5 rewrites the stored decisions' factors as ``FactorScore`` union members;
version 6 adds the policy checksums and the journal's identity (journal/integrity.py);
version 9 adds the web page's policy changes.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable

from . import integrity

Statement = str | Callable[[sqlite3.Cursor], None]
"""A migration step: an SQL statement, or a function run on the migration's cursor (inside the
same transaction) for a change SQL cannot express exactly."""

APPLICATION_ID = 0x4D43504A
"""``PRAGMA application_id`` of a journal file ("MCPJ"): tells our files from other databases."""

V1 = (
    """CREATE TABLE cycles (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        started_at_s INTEGER NOT NULL,
        finished_at_s INTEGER NOT NULL DEFAULT 0,
        mode TEXT NOT NULL,
        trigger TEXT NOT NULL,
        outcome TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT ''
    )""",
    """CREATE TABLE decisions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        cycle_id INTEGER NOT NULL,
        chan_id INTEGER NOT NULL,
        kind TEXT NOT NULL,
        mode TEXT NOT NULL,
        recorded_at_s INTEGER NOT NULL,
        decision TEXT NOT NULL
    )""",
    "CREATE INDEX decisions_at ON decisions(recorded_at_s)",
    """CREATE TABLE changes (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        chan_id INTEGER NOT NULL,
        channel_point TEXT NOT NULL,
        origin TEXT NOT NULL,
        mode TEXT NOT NULL,
        state TEXT NOT NULL,
        decision_id INTEGER NOT NULL DEFAULT 0,
        old_policy TEXT NOT NULL,
        new_policy TEXT NOT NULL,
        observed_policy TEXT NOT NULL,
        rolls_back TEXT NOT NULL DEFAULT '[]',
        reasons TEXT NOT NULL DEFAULT '[]',
        stopped_by TEXT NOT NULL DEFAULT '[]',
        requested_at_s INTEGER NOT NULL,
        updated_at_s INTEGER NOT NULL
    )""",
    "CREATE INDEX changes_chan ON changes(chan_id, id)",
    "CREATE INDEX changes_state ON changes(state)",
    "CREATE INDEX changes_at ON changes(requested_at_s)",
    """CREATE TABLE change_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        change_id INTEGER NOT NULL REFERENCES changes(id),
        state TEXT NOT NULL,
        at_s INTEGER NOT NULL,
        detail TEXT NOT NULL
    )""",
    "CREATE INDEX change_events_change ON change_events(change_id, id)",
    """CREATE TABLE channel_state (
        chan_id INTEGER PRIMARY KEY,
        channel_point TEXT NOT NULL,
        policy TEXT NOT NULL,
        change_id INTEGER NOT NULL,
        seen_at_s INTEGER NOT NULL,
        open INTEGER NOT NULL DEFAULT 1
    )""",
    """CREATE TABLE mode_changes (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at_s INTEGER NOT NULL,
        old_mode TEXT NOT NULL,
        new_mode TEXT NOT NULL,
        by TEXT NOT NULL,
        reason TEXT NOT NULL
    )""",
    """CREATE TABLE pause_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at_s INTEGER NOT NULL,
        paused INTEGER NOT NULL,
        by TEXT NOT NULL,
        reason TEXT NOT NULL
    )""",
)

V2 = (
    "ALTER TABLE changes ADD COLUMN action TEXT NOT NULL DEFAULT 'update_policy'",
    """CREATE TABLE crashes (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL,
        source TEXT NOT NULL,
        detail TEXT NOT NULL,
        at_s INTEGER NOT NULL,
        acknowledged_at_s INTEGER NOT NULL DEFAULT 0
    )""",
    "CREATE INDEX crashes_open ON crashes(acknowledged_at_s)",
)

V3 = (
    # the hourly and daily caps count the service's changes by time: without this index the
    # count walked the state index (18 ms at 100,000 changes, per write; 0.1 ms with it)
    "CREATE INDEX changes_origin_at ON changes(origin, requested_at_s)",
)

V4 = (
    # versions up to 3 knew ok, failed and abandoned only: a partial cycle was journaled as ok
    # with "partial: " leading its detail. It is now an outcome of its own.
    "UPDATE cycles SET outcome = 'partial', detail = substr(detail, 10) "
    "WHERE outcome = 'ok' AND detail LIKE 'partial: %'",
)



def _factor_v5(old: dict) -> dict:
    """A factor as versions up to 4 stored it (``status``, and 0 for what was not scored) as
    the ``FactorScore`` union member it stands for."""
    status = old["status"]
    if status == "scored":
        return {
            "type": "ScoredFactor", "name": old["name"], "value": old["value"],
            "weight": old["weight"], "contribution": old["contribution"], "detail": old["detail"],
        }
    if status == "unknown":
        return {
            "type": "UnknownFactor", "name": old["name"], "weight": old["weight"],
            "detail": old["detail"],
        }
    if status == "disabled":
        return {"type": "DisabledFactor", "name": old["name"], "detail": old["detail"]}
    raise ValueError(f"a stored factor has status {status!r}, none of scored/unknown/disabled")


def _decisions_v5(cur: sqlite3.Cursor) -> None:
    """Rewrite each stored decision's factors as ``FactorScore`` union members."""
    rows = cur.execute("SELECT id, decision FROM decisions").fetchall()
    for row_id, text in rows:
        decision = json.loads(text)
        factors = decision.get("factors", [])
        if all(isinstance(f, dict) and "status" in f for f in factors):
            decision["factors"] = [_factor_v5(f) for f in factors]
            cur.execute(
                "UPDATE decisions SET decision=? WHERE id=?",
                (json.dumps(decision, separators=(",", ":")), row_id),
            )


V5: tuple[Statement, ...] = (
    # a decision's factors were stored with a status and 0 for a value, weight or contribution
    # that did not exist; they are now ScoredFactor | UnknownFactor | DisabledFactor
    _decisions_v5,
)

# Versions 6 (hardening), 7 (performance) and 8 (operator issue) are reserved for work done in
# parallel (docs: COMMON rules); each stays an empty step until its own migration replaces it.
V6: tuple[Statement, ...] = integrity.V6
"""Hardening: policy checksums (``changes.policy_sum``, ``channel_state.policy_sum``) and the
journal's identity (table ``integrity``), for the data dir's marker (journal/integrity.py)."""
V7: tuple[Statement, ...] = (
    # performance (issue 16): an index for every journal query a cycle or a view makes at a
    # million rows (decisions by cycle and by channel; the changes a decision led to), and
    # the compaction of routine records (journal/compaction.py): per channel and day
    # summaries, and the journal of compactions
    "CREATE INDEX decisions_cycle ON decisions(cycle_id)",
    "CREATE INDEX decisions_chan ON decisions(chan_id, id)",
    "CREATE INDEX changes_decision ON changes(decision_id)",
    """CREATE TABLE routine_days (
        chan_id INTEGER NOT NULL,
        day_s INTEGER NOT NULL,
        kind TEXT NOT NULL,
        outcome TEXT NOT NULL,
        count INTEGER NOT NULL,
        first_at_s INTEGER NOT NULL,
        last_at_s INTEGER NOT NULL,
        gates TEXT NOT NULL,
        PRIMARY KEY (chan_id, day_s, kind, outcome)
    ) WITHOUT ROWID""",
    """CREATE TABLE compactions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at_s INTEGER NOT NULL,
        by TEXT NOT NULL,
        before_s INTEGER NOT NULL,
        decisions_removed INTEGER NOT NULL,
        changes_removed INTEGER NOT NULL,
        summary_rows INTEGER NOT NULL
    )""",
)
V8: tuple[Statement, ...] = ()

V9: tuple[Statement, ...] = (
    # the web page (issue 12): every save of the page's policy layer, with who, why and the
    # layer before and after (journal/policy_changes.py)
    """CREATE TABLE policy_changes (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at_s INTEGER NOT NULL,
        by TEXT NOT NULL,
        reason TEXT NOT NULL,
        old_layer TEXT NOT NULL,
        new_layer TEXT NOT NULL,
        keys TEXT NOT NULL DEFAULT '[]',
        undoes INTEGER NOT NULL DEFAULT 0
    )""",
)

MIGRATIONS: tuple[tuple[Statement, ...], ...] = (V1, V2, V3, V4, V5, V6, V7, V8, V9)
SCHEMA_VERSION = len(MIGRATIONS)
