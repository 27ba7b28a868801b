"""The journal's schema, as an ordered list of forward migrations.

``MIGRATIONS[i]`` takes a file from schema version ``i`` to ``i + 1`` (``PRAGMA user_version``).
A migration is never edited once released: a new need is a new migration appended here.
Version 1 was the first release; version 2 added the circuit breaker's crash table and the
``action`` column (policy update or close) of changes; version 3 an index for the caps;
version 4 turns the cycles journaled as ``ok`` with a ``partial:`` detail into ``partial``.
"""

from __future__ import annotations

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

MIGRATIONS: tuple[tuple[str, ...], ...] = (V1, V2, V3, V4)
SCHEMA_VERSION = len(MIGRATIONS)
