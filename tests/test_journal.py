"""The journal file: durability settings, records, the change state machine, migrations,
and refusing (without touching) a corrupt, foreign, unreadable or newer file."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from pathlib import Path

import pytest
from builders import policy
from journal_support import Clock, decision, make_channels

from mcp_optimizer.journal import Journal, JournalError, journal_path
from mcp_optimizer.journal.schema import APPLICATION_ID, SCHEMA_VERSION
from mcp_optimizer.journal.store import IllegalTransition
from mcp_optimizer.messages import (
    AcknowledgedAt,
    ChangeOrigin,
    ChangeState,
    CrashKind,
    CycleEnded,
    CycleNotEnded,
    CycleOutcome,
    DisabledFactor,
    Mode,
    NotAcknowledged,
    PolicyUnknown,
    ScoredFactor,
    UnknownFactor,
    WithoutDecision,
)


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_fresh_journal_is_wal_full_sync_and_starts_in_shadow(tmp_path):
    with Journal.open(tmp_path / "data") as j:
        assert j.durability() == {"journal_mode": "wal", "synchronous": "FULL"}
        assert j.schema_version() == SCHEMA_VERSION
        assert j.mode() is Mode.SHADOW
    con = sqlite3.connect(journal_path(tmp_path / "data"))
    assert con.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_mode_changes_are_journaled_and_survive_reopening(tmp_path):
    clock = Clock()
    with Journal.open(tmp_path, clock) as j:
        j.set_mode(Mode.DRY_RUN, by="cli", reason="try it")
        clock.advance(10)
        j.set_mode(Mode.LIVE, by="control-socket")
    with Journal.open(tmp_path, clock) as j:
        assert j.mode() is Mode.LIVE
        changes = j.mode_changes()
        assert [(c.old_mode, c.new_mode, c.by) for c in changes] == [
            (Mode.SHADOW, Mode.DRY_RUN, "cli"),
            (Mode.DRY_RUN, Mode.LIVE, "control-socket"),
        ]
        assert changes[0].reason == "try it"
        assert changes[1].at_s == changes[0].at_s + 10


def test_cycles_and_decisions_round_trip(tmp_path):
    ch = make_channels(1)[0]
    d = decision(ch, 550)
    with Journal.open(tmp_path) as j:
        cycle = j.begin_cycle("schedule")
        did = j.record_decision(d, cycle)
        [running] = j.cycles()
        assert running.end == CycleNotEnded()
        j.finish_cycle(cycle, CycleOutcome.OK, "1 decision")
        [(got_id, mode, got)] = j.decisions()
        assert (got_id, mode, got) == (did, Mode.SHADOW, d)
        [c] = j.cycles()
        got_cycle = (c.cycle_id, c.trigger, c.end, c.detail)
        assert got_cycle == (
            cycle, "schedule", CycleEnded(at_s=j.now_s(), outcome=CycleOutcome.OK), "1 decision"
        )
        with pytest.raises(ValueError, match="ok, partial, failed or abandoned"):
            j.finish_cycle(cycle, "great")
        with pytest.raises(ValueError, match="ok, partial, failed or abandoned"):
            j.finish_cycle(cycle, "partial")
        partial = j.begin_cycle("evaluate-now")
        j.finish_cycle(partial, CycleOutcome.PARTIAL, "scorer failed")
    with Journal.open(tmp_path, readonly=True) as j:
        newest, first = j.cycles()
        assert newest.cycle_id == partial and first.cycle_id == cycle
        assert isinstance(newest.end, CycleEnded) and newest.end.outcome is CycleOutcome.PARTIAL
        assert newest.detail == "scorer failed"


def _intent(j: Journal, chan_id: int = 7) -> int:
    return j.record_change(
        chan_id=chan_id, channel_point="ab" * 32 + ":1", origin=ChangeOrigin.SERVICE,
        mode=Mode.LIVE, state=ChangeState.INTENT, old_policy=policy(fee_rate_ppm=500),
        new_policy=policy(fee_rate_ppm=550), reasons=["why"], detail="about to write",
    )


def test_change_state_machine_and_trail(tmp_path):
    clock = Clock()
    with Journal.open(tmp_path, clock) as j:
        cid = _intent(j)
        assert j.has_pending()
        clock.advance(1)
        j.transition(cid, ChangeState.APPLIED, "accepted")
        with pytest.raises(IllegalTransition, match="from applied to failed"):
            j.transition(cid, ChangeState.FAILED, "no")
        back = policy(fee_rate_ppm=550, last_update_s=5)
        j.transition(cid, ChangeState.VERIFIED, "same", observed=back, known_after=True)
        with pytest.raises(IllegalTransition, match="from verified to mismatched"):
            j.transition(cid, ChangeState.MISMATCHED, "no")
        rec = j.change(cid)
        assert rec.state is ChangeState.VERIFIED and rec.observed_policy == back
        assert [e.state for e in rec.events] == [
            ChangeState.INTENT, ChangeState.APPLIED, ChangeState.VERIFIED
        ]
        assert not j.has_pending()
        known = j.known_policy(7)
        assert known is not None and known.policy == back and known.change_id == cid
        with pytest.raises(IllegalTransition, match="cannot start in state applied"):
            j.record_change(
                chan_id=7, channel_point="x:0", origin=ChangeOrigin.SERVICE, mode=Mode.LIVE,
                state=ChangeState.APPLIED, old_policy=back, new_policy=back, reasons=[],
                detail="",
            )


def test_intent_is_durable_before_return(tmp_path):
    """A second connection (another process after a crash) sees the INTENT at once."""
    with Journal.open(tmp_path) as j:
        cid = _intent(j)
        con = sqlite3.connect(journal_path(tmp_path))
        assert con.execute("SELECT state FROM changes WHERE id=?", (cid,)).fetchone() == (
            "intent",
        )
        rec = j.change(cid)
        assert isinstance(rec.observed_policy, PolicyUnknown)
        assert rec.decision == WithoutDecision()  # recorded without a decision id


def test_crashes_open_until_acknowledged(tmp_path):
    with Journal.open(tmp_path) as j:
        j.record_crash(CrashKind.ACTOR_RESTART, "scorer", "ZeroDivisionError")
        j.record_crash(CrashKind.ACTUATION_ERROR, "change 3", "node refused")
        assert len(j.crashes(unacknowledged_only=True)) == 2
        assert all(c.acknowledgement == NotAcknowledged() for c in j.crashes())
        acked = j.acknowledge_crashes()
        assert [c.source for c in acked] == ["scorer", "change 3"]
        assert all(c.acknowledgement == AcknowledgedAt(at_s=j.now_s()) for c in acked)
        assert j.crashes() == acked
        assert j.crashes(unacknowledged_only=True) == []
        assert j.acknowledge_crashes() == []


# A journal as the first release (schema version 1) wrote it: frozen here, never imported
# from the code, so that the code's migrations are what is tested.
V1_SQL = """
PRAGMA application_id = 1296257098;
CREATE TABLE cycles (id INTEGER PRIMARY KEY AUTOINCREMENT, started_at_s INTEGER NOT NULL,
  finished_at_s INTEGER NOT NULL DEFAULT 0, mode TEXT NOT NULL, trigger TEXT NOT NULL,
  outcome TEXT NOT NULL, detail TEXT NOT NULL DEFAULT '');
CREATE TABLE decisions (id INTEGER PRIMARY KEY AUTOINCREMENT, cycle_id INTEGER NOT NULL,
  chan_id INTEGER NOT NULL, kind TEXT NOT NULL, mode TEXT NOT NULL,
  recorded_at_s INTEGER NOT NULL, decision TEXT NOT NULL);
CREATE INDEX decisions_at ON decisions(recorded_at_s);
CREATE TABLE changes (id INTEGER PRIMARY KEY AUTOINCREMENT, chan_id INTEGER NOT NULL,
  channel_point TEXT NOT NULL, origin TEXT NOT NULL, mode TEXT NOT NULL, state TEXT NOT NULL,
  decision_id INTEGER NOT NULL DEFAULT 0, old_policy TEXT NOT NULL, new_policy TEXT NOT NULL,
  observed_policy TEXT NOT NULL, rolls_back TEXT NOT NULL DEFAULT '[]',
  reasons TEXT NOT NULL DEFAULT '[]', stopped_by TEXT NOT NULL DEFAULT '[]',
  requested_at_s INTEGER NOT NULL, updated_at_s INTEGER NOT NULL);
CREATE INDEX changes_chan ON changes(chan_id, id);
CREATE INDEX changes_state ON changes(state);
CREATE INDEX changes_at ON changes(requested_at_s);
CREATE TABLE change_events (id INTEGER PRIMARY KEY AUTOINCREMENT,
  change_id INTEGER NOT NULL REFERENCES changes(id), state TEXT NOT NULL,
  at_s INTEGER NOT NULL, detail TEXT NOT NULL);
CREATE INDEX change_events_change ON change_events(change_id, id);
CREATE TABLE channel_state (chan_id INTEGER PRIMARY KEY, channel_point TEXT NOT NULL,
  policy TEXT NOT NULL, change_id INTEGER NOT NULL, seen_at_s INTEGER NOT NULL,
  open INTEGER NOT NULL DEFAULT 1);
CREATE TABLE mode_changes (id INTEGER PRIMARY KEY AUTOINCREMENT, at_s INTEGER NOT NULL,
  old_mode TEXT NOT NULL, new_mode TEXT NOT NULL, by TEXT NOT NULL, reason TEXT NOT NULL);
CREATE TABLE pause_events (id INTEGER PRIMARY KEY AUTOINCREMENT, at_s INTEGER NOT NULL,
  paused INTEGER NOT NULL, by TEXT NOT NULL, reason TEXT NOT NULL);
INSERT INTO mode_changes(at_s, old_mode, new_mode, by, reason)
  VALUES (1700000000, 'shadow', 'live', 'cli', 'v1 era');
INSERT INTO changes(chan_id, channel_point, origin, mode, state, decision_id, old_policy,
  new_policy, observed_policy, reasons, requested_at_s, updated_at_s)
  VALUES (42, 'cd:0', 'service', 'live', 'verified', 0, :old, :new, :new, '["v1 change"]',
  1700000100, 1700000101);
INSERT INTO change_events(change_id, state, at_s, detail)
  VALUES (1, 'verified', 1700000101, 'v1 verified');
PRAGMA user_version = 1;
"""


def _write_v1(path) -> None:
    import msgspec

    old = msgspec.json.encode(policy(fee_rate_ppm=100)).decode()
    new = msgspec.json.encode(policy(fee_rate_ppm=120)).decode()
    con = sqlite3.connect(path)
    con.executescript(V1_SQL.replace(":old", f"'{old}'").replace(":new", f"'{new}'"))
    con.close()


def test_older_schema_migrates_forward_and_keeps_its_records(tmp_path):
    path = journal_path(tmp_path)
    _write_v1(path)
    before = _digest(path)
    with Journal.open(tmp_path) as j:
        assert j.schema_version() == SCHEMA_VERSION
        assert j.mode() is Mode.LIVE
        rec = j.change(1)
        assert rec.reasons == ["v1 change"] and rec.new_policy.fee_rate_ppm == 120
        assert rec.action.value == "update_policy"  # the column version 2 added
        assert rec.events[0].detail == "v1 verified"
        j.record_crash(CrashKind.ACTOR_RESTART, "decider", "boom")  # the table version 2 added
        assert len(j.crashes()) == 1
    backup = tmp_path / "journal.sqlite3.v1.bak"
    assert backup.exists() and _digest(backup) != ""
    con = sqlite3.connect(backup)
    assert con.execute("PRAGMA user_version").fetchone()[0] == 1
    assert before != _digest(path)


def test_migration_turns_cycles_journaled_ok_with_a_partial_detail_into_partial(tmp_path):
    """Up to version 3 a partial cycle was journaled as ok with "partial: " leading its detail;
    version 4 makes them partial, and leaves the others as they were."""
    path = journal_path(tmp_path)
    _write_v1(path)
    con = sqlite3.connect(path)
    con.executescript(
        "INSERT INTO cycles(started_at_s, finished_at_s, mode, trigger, outcome, detail) VALUES "
        "(1700000000, 1700000005, 'live', 'schedule', 'ok', 'partial: 3 channels; scorer down'),"
        "(1700000100, 1700000105, 'live', 'schedule', 'ok', '3 channels, partial: none'),"
        "(1700000200, 1700000205, 'live', 'schedule', 'failed', 'partial: ingestion failed'),"
        "(1700000300, 0, 'live', 'schedule', 'running', '');"
    )
    con.close()
    with Journal.open(tmp_path) as j:
        cycles = list(reversed(j.cycles()))
    assert [(c.end, c.detail) for c in cycles] == [
        (CycleEnded(at_s=1700000005, outcome=CycleOutcome.PARTIAL), "3 channels; scorer down"),
        (CycleEnded(at_s=1700000105, outcome=CycleOutcome.OK), "3 channels, partial: none"),
        (CycleEnded(at_s=1700000205, outcome=CycleOutcome.FAILED), "partial: ingestion failed"),
        (CycleNotEnded(), ""),
    ]



def _old_decision_json(statuses: list[str]) -> str:
    """A decision as versions up to 4 stored it: factors with a status, and 0 for what was not
    scored."""
    import msgspec

    ch = make_channels(1)[0]
    data = json.loads(msgspec.json.encode(decision(ch, 550)))
    data["factors"] = [
        {"name": f"f{i}", "status": st, "value": 0.5 if st == "scored" else 0.0,
         "weight": 0.0 if st == "disabled" else 2.0,
         "contribution": 1.0 if st == "scored" else 0.0, "detail": f"detail {i}"}
        for i, st in enumerate(statuses)
    ]
    return json.dumps(data)


def _write_v1_decision(tmp_path, statuses: list[str]) -> Path:
    """A version-1 journal holding one decision with factors of these statuses."""
    path = journal_path(tmp_path)
    _write_v1(path)
    con = sqlite3.connect(path)
    con.execute(
        "INSERT INTO decisions(cycle_id, chan_id, kind, mode, recorded_at_s, decision) "
        "VALUES (1, 42, 'INCREASE_FEES', 'live', 1700000050, ?)",
        (_old_decision_json(statuses),),
    )
    con.commit()
    con.close()
    return path


def test_migration_rewrites_stored_factors_as_the_factor_union(tmp_path):
    _write_v1_decision(tmp_path, ["scored", "unknown", "disabled"])
    with Journal.open(tmp_path) as j:
        [(_, _, got)] = j.decisions()
    assert got.factors == [
        ScoredFactor(name="f0", value=0.5, weight=2.0, contribution=1.0, detail="detail 0"),
        UnknownFactor(name="f1", weight=2.0, detail="detail 1"),
        DisabledFactor(name="f2", detail="detail 2"),
    ]
    assert got.proposed_policy.fee_rate_ppm == 550


def test_a_migration_that_cannot_convert_a_record_stops_with_a_clear_message(tmp_path):
    path = _write_v1_decision(tmp_path, ["scored", "sideways"])
    with pytest.raises(JournalError, match="migrating to schema version 5 failed .*'sideways'"):
        Journal.open(tmp_path)
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA user_version").fetchone()[0] == 4
    [(text,)] = con.execute("SELECT decision FROM decisions").fetchall()
    assert '"sideways"' in text  # that step was rolled back: the record is as it was
    con.close()


@pytest.mark.parametrize(
    "content, message",
    [
        (os.urandom(8192), "not an SQLite database"),
        (b"SQLite format 3\x00" + b"\xff" * 4080, "corrupt|integrity"),
    ],
)
def test_corrupt_journal_stops_with_a_clear_message_and_is_untouched(tmp_path, content, message):
    path = journal_path(tmp_path)
    path.write_bytes(content)
    before = _digest(path)
    with pytest.raises(JournalError, match=message) as err:
        Journal.open(tmp_path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)
    assert _digest(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["journal.sqlite3"]


def test_damaged_pages_in_a_real_journal_are_detected(tmp_path):
    with Journal.open(tmp_path) as j:
        for _ in range(200):
            _intent(j)
    con = sqlite3.connect(journal_path(tmp_path))
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    path = journal_path(tmp_path)
    data = bytearray(path.read_bytes())
    page = 4096
    for start in range(page, len(data), page):  # scribble over every b-tree page's cells
        for i in range(start + 8, min(start + 900, len(data))):
            data[i] = 0x5A
    path.write_bytes(bytes(data))
    before = _digest(path)
    with pytest.raises(JournalError, match="corrupt|integrity"):
        Journal.open(tmp_path)
    assert _digest(path) == before


def test_newer_schema_and_foreign_database_are_refused_untouched(tmp_path):
    path = journal_path(tmp_path)
    with Journal.open(tmp_path):
        pass
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    con.close()
    before = _digest(path)
    with pytest.raises(JournalError, match="newer than this version knows"):
        Journal.open(tmp_path)
    assert _digest(path) == before

    other = tmp_path / "other"
    other.mkdir()
    con = sqlite3.connect(journal_path(other))
    con.execute("CREATE TABLE wallet(x)")
    con.commit()
    con.close()
    before = _digest(journal_path(other))
    with pytest.raises(JournalError, match="another application"):
        Journal.open(other)
    assert _digest(journal_path(other)) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_journal_is_refused(tmp_path):
    with Journal.open(tmp_path):
        pass
    path = journal_path(tmp_path)
    path.chmod(0)
    try:
        with pytest.raises(JournalError, match="cannot be read"):
            Journal.open(tmp_path)
    finally:
        path.chmod(0o600)


def test_missing_journal_is_not_created_by_readers(tmp_path):
    with pytest.raises(JournalError, match="no journal at"):
        Journal.open(tmp_path / "nothing", create=False)
    assert not (tmp_path / "nothing").exists()


def test_service_refuses_to_start_on_a_corrupt_journal(tmp_path):
    import subprocess
    import sys

    path = journal_path(tmp_path)
    path.write_bytes(b"SQLite format 3\x00" + os.urandom(8000))
    before = _digest(path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MCP_")}
    env["MCP_DATA_DIR"] = str(tmp_path)
    env["MCP_HTTP_PORT"] = "0"  # a free port: the default one may be another run's
    r = subprocess.run(
        [sys.executable, "-m", "mcp_optimizer", "run"],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert r.returncode != 0
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("mcp-optimizer run: ") and str(path) in last
    assert "corrupt" in last and "untouched" in last
    assert "Traceback" not in r.stderr
    assert _digest(path) == before


def test_journal_path_that_is_not_a_file_is_refused(tmp_path):
    journal_path(tmp_path).mkdir()
    with pytest.raises(JournalError, match="not a regular file"):
        Journal.open(tmp_path)
    assert journal_path(tmp_path).is_dir()
