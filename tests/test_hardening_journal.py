"""Journal integrity (issue 10, items 3 to 6) on real SQLite files: damaged policies refused
(at open, at read, in a rollback), no write of a policy outside the bounds, the data dir's
marker against truncation, zeroed pages and a deleted WAL, a journal that cannot be written,
and channel ids at or above 2^63 stored losslessly."""

from __future__ import annotations

import os
import shutil
import sqlite3

import msgspec
import pytest
from builders import channel, policy
from journal_support import Clock, MemoryNode, decision, make_channels

from mcp_optimizer.journal import Journal, JournalError
from mcp_optimizer.journal.integrity import MARKER_FILE, DamagedRecord, chan_from_db, chan_to_db
from mcp_optimizer.messages import ChangeOrigin, ChangeState, Gate, Mode
from mcp_optimizer.policies.config import load_policy
from mcp_optimizer.safety.actuator import Actuator, RollbackRefused

POLICY = load_policy(environ={})
ALIAS = (16_000_000 << 40) | 123  # LND's alias SCIDs: above 2^63


def live_rig(tmp_path, channels=None):
    clock = Clock()
    node = MemoryNode(channels or make_channels(2))
    journal = Journal.open(tmp_path, clock)
    act = Actuator(journal, node, POLICY, tmp_path, environ={})
    act.observe(node.list_channels())
    act.set_mode(Mode.LIVE, by="test")
    return act, node, clock


def alter(tmp_path, sql: str, *args) -> None:
    """Bit rot: a change made to the file behind the journal's back (checksums untouched)."""
    con = sqlite3.connect(tmp_path / "journal.sqlite3")
    con.execute(sql, args)
    con.commit()
    con.close()


# ---- item 6 --------------------------------------------------------------------------------


def test_channel_id_codec_is_lossless():
    for cid in (0, 1, (1 << 63) - 1, 1 << 63, ALIAS, (1 << 64) - 1):
        assert chan_from_db(chan_to_db(cid)) == cid
        assert -(1 << 63) <= chan_to_db(cid) < 1 << 63
    with pytest.raises(ValueError):
        chan_to_db(1 << 64)


def test_alias_scids_above_2_63_are_journaled_and_read_back(tmp_path):
    ch = channel(chan_id=ALIAS, channel_point="ab" * 32 + ":1", our_policy=policy(fee_rate_ppm=500))
    small = make_channels(1)[0]
    act, node, clock = live_rig(tmp_path, [ch, small])
    try:
        assert act.journal.known_policy(ALIAS).policy.fee_rate_ppm == 500
        rec = act.apply_decision(decision(ch, 550), ch.channel_point)
        assert rec.state is ChangeState.VERIFIED and rec.chan_id == ALIAS
        [(_, _, d)] = act.journal.decisions(chan_id=ALIAS)
        assert d.chan_id == ALIAS
        assert [c.change_id for c in act.journal.changes(chan_id=ALIAS)] == [rec.change_id]
        assert [k.chan_id for k in act.journal.known_policies()] == [small.chan_id, ALIAS]
        assert act.journal.known_policy(ALIAS).policy.fee_rate_ppm == 550
        undo = act.rollback(rec.change_id)
        assert undo.state is ChangeState.VERIFIED and node.get_policy(ALIAS).fee_rate_ppm == 500
    finally:
        act.close()
        act.journal.close()


# ---- item 3 --------------------------------------------------------------------------------


def _digit_changed(tmp_path, table: str, column: str, where: str) -> None:
    alter(tmp_path, f"UPDATE {table} SET {column} = replace({column}, "
                    "'\"fee_rate_ppm\":550', '\"fee_rate_ppm\":950') WHERE " + where)


def test_a_changed_digit_in_a_stored_policy_is_refused_at_open(tmp_path):
    act, node, _ = live_rig(tmp_path)
    ch = node.list_channels()[0]
    act.apply_decision(decision(ch, 550), ch.channel_point)
    act.close()
    act.journal.close()
    _digit_changed(tmp_path, "changes", "new_policy", "1=1")
    with pytest.raises(JournalError) as err:
        Journal.open(tmp_path)
    assert "fails its checksum" in str(err.value) and "\n" not in str(err.value)


def test_a_changed_known_policy_is_refused_at_open(tmp_path):
    act, node, _ = live_rig(tmp_path)
    ch = node.list_channels()[0]
    act.apply_decision(decision(ch, 550), ch.channel_point)
    act.close()
    act.journal.close()
    _digit_changed(tmp_path, "channel_state", "policy", "1=1")
    with pytest.raises(JournalError) as err:
        Journal.open(tmp_path)
    assert "known policy of channel" in str(err.value)


def test_bit_rot_while_running_is_never_used_nor_written(tmp_path):
    """The attack: the stored old policy of the last change altered (986 instead of 186 ppm);
    the service recorded a false external change and `rollback --last` wrote 986 ppm."""
    chans = [channel(chan_id=2000, channel_point="cd" * 32 + ":0",
                     our_policy=policy(fee_rate_ppm=186))]
    act, node, _ = live_rig(tmp_path, chans)
    try:
        ch = node.list_channels()[0]
        rec = act.apply_decision(decision(ch, 200), ch.channel_point)
        assert rec.state is ChangeState.VERIFIED
        alter(tmp_path, "UPDATE changes SET old_policy = replace(old_policy, "
                        "'\"fee_rate_ppm\":186', '\"fee_rate_ppm\":986')")
        alter(tmp_path, "UPDATE channel_state SET policy = replace(policy, "
                        "'\"fee_rate_ppm\":200', '\"fee_rate_ppm\":986')")
        with pytest.raises(DamagedRecord):
            act.journal.change(rec.change_id)
        with pytest.raises(DamagedRecord):  # no false EXTERNAL change from damaged knowledge
            act.observe(node.list_channels())
        with pytest.raises(RollbackRefused) as err:
            act.rollback_last()
        assert "checksum" in str(err.value)
        assert node.get_policy(2000).fee_rate_ppm == 200
        assert [w[1].fee_rate_ppm for w in node.writes] == [200]
    finally:
        act.close()
        act.journal.close()


def test_no_policy_outside_the_bounds_is_written_even_by_a_rollback(tmp_path):
    # the node held 2600 ppm (set by hand, above max_fee_rate_ppm 2500) before our change:
    # undoing our change would write it back; it is refused at the time of writing instead
    chans = [channel(chan_id=3000, channel_point="ef" * 32 + ":0",
                     our_policy=policy(fee_rate_ppm=2400))]
    act, node, clock = live_rig(tmp_path, chans)
    try:
        node.set_by_hand(3000, policy(fee_rate_ppm=2600))
        act.observe(node.list_channels())  # recorded as external: 2400 -> 2600
        clock.advance(7 * 86400)
        ch = node.list_channels()[0]
        rec = act.apply_decision(
            msgspec.structs.replace(decision(ch, 2500)), ch.channel_point)
        assert rec.state is ChangeState.VERIFIED
        undo = act.rollback(rec.change_id)
        assert undo.state is ChangeState.REFUSED
        assert Gate.FEE_BOUNDS in [s.gate for s in undo.stopped_by]
        assert undo.origin is ChangeOrigin.ROLLBACK
        assert node.get_policy(3000).fee_rate_ppm == 2500
    finally:
        act.close()
        act.journal.close()


# ---- item 4 --------------------------------------------------------------------------------


def _journal_with_history(tmp_path) -> None:
    act, node, _ = live_rig(tmp_path)
    for ch in node.list_channels():
        act.apply_decision(decision(ch, 550), ch.channel_point)
    act.close()
    act.journal.close()
    assert (tmp_path / MARKER_FILE).exists()


def test_a_journal_truncated_to_zero_bytes_is_refused(tmp_path):
    _journal_with_history(tmp_path)
    for suffix in ("", "-wal", "-shm"):
        p = tmp_path / f"journal.sqlite3{suffix}"
        if p.exists():
            p.write_bytes(b"") if suffix == "" else p.unlink()
    with pytest.raises(JournalError) as err:
        Journal.open(tmp_path)
    assert "is empty" in str(err.value) and "marker" in str(err.value)
    assert (tmp_path / "journal.sqlite3").stat().st_size == 0  # left as it was


def test_a_deleted_journal_is_refused_and_moving_both_away_starts_fresh(tmp_path):
    _journal_with_history(tmp_path)
    (tmp_path / "journal.sqlite3").unlink()
    with pytest.raises(JournalError) as err:
        Journal.open(tmp_path)
    assert "does not exist" in str(err.value)
    assert not (tmp_path / "journal.sqlite3").exists()
    (tmp_path / MARKER_FILE).rename(tmp_path / "old.marker")  # the operator's explicit act
    Journal.open(tmp_path).close()


def test_a_deleted_wal_is_refused(tmp_path):
    """Records since the last checkpoint live in the WAL: a process killed, then its WAL
    deleted, loses them. Simulated with a copy of the file taken before the last records."""
    act, node, _ = live_rig(tmp_path)
    ch0, ch1 = node.list_channels()
    act.apply_decision(decision(ch0, 550), ch0.channel_point)
    with act.journal._lock:
        act.journal._con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copy(tmp_path / "journal.sqlite3", tmp_path / "checkpointed")
    act.apply_decision(decision(ch1, 560), ch1.channel_point)  # only in the WAL
    act.close()
    act.journal.close()
    shutil.copy(tmp_path / "checkpointed", tmp_path / "journal.sqlite3")  # WAL gone
    for suffix in ("-wal", "-shm"):
        if (tmp_path / f"journal.sqlite3{suffix}").exists():
            os.unlink(tmp_path / f"journal.sqlite3{suffix}")
    with pytest.raises(JournalError) as err:
        Journal.open(tmp_path)
    assert "lost records" in str(err.value) and "changes up to id" in str(err.value)


@pytest.mark.parametrize("table", ["changes", "channel_state", "change_events"])
def test_zeroed_bytes_on_a_page_of_records_are_refused(tmp_path, table):
    """64 zeroed bytes at the end of the (last) page holding a table's records, where SQLite
    keeps its cells: quick_check passed such a file, the records were quietly gone."""
    _journal_with_history(tmp_path)
    with Journal.open(tmp_path) as j:  # checkpoint everything into the main file
        with j._lock:
            j._con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    path = tmp_path / "journal.sqlite3"
    con = sqlite3.connect(path)
    page_size = con.execute("PRAGMA page_size").fetchone()[0]
    (page,) = con.execute(
        "SELECT max(pageno) FROM dbstat WHERE name = ? AND pagetype = 'leaf'", (table,)
    ).fetchone()
    con.close()
    assert page, f"no leaf page of {table}"
    with open(path, "r+b") as fh:
        fh.seek(page * page_size - 64)
        assert fh.read(64) != bytes(64)  # the records are there
        fh.seek(page * page_size - 64)
        fh.write(bytes(64))
    with pytest.raises(JournalError):
        Journal.open(tmp_path)


def test_another_journal_in_its_place_is_refused(tmp_path):
    _journal_with_history(tmp_path)
    other = tmp_path / "other"
    Journal.open(other).close()
    for suffix in ("-wal", "-shm"):
        if (tmp_path / f"journal.sqlite3{suffix}").exists():
            os.unlink(tmp_path / f"journal.sqlite3{suffix}")
    shutil.copy(other / "journal.sqlite3", tmp_path / "journal.sqlite3")
    with pytest.raises(JournalError) as err:
        Journal.open(tmp_path)
    assert "another identity" in str(err.value)


def test_readonly_opens_check_the_marker_too(tmp_path):
    _journal_with_history(tmp_path)
    (tmp_path / "journal.sqlite3").write_bytes(b"")
    with pytest.raises(JournalError):
        Journal.open(tmp_path, readonly=True)


# ---- item 5 --------------------------------------------------------------------------------


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes read-only files")
def test_an_unwritable_journal_is_refused_at_open(tmp_path):
    Journal.open(tmp_path).close()
    os.chmod(tmp_path / "journal.sqlite3", 0o400)
    try:
        with pytest.raises(JournalError) as err:
            Journal.open(tmp_path)
    finally:
        os.chmod(tmp_path / "journal.sqlite3", 0o600)
    assert "cannot be written" in str(err.value)


def test_an_unwritable_journal_is_refused_at_open_even_for_root(tmp_path):
    """A read-only connection stands for an immutable file or a read-only mount."""
    Journal.open(tmp_path).close()
    import mcp_optimizer.journal.store as store

    real = sqlite3.connect

    def readonly_connect(target, *a, **kw):
        if str(target).endswith("journal.sqlite3") and "mode=ro" not in str(target):
            return real(f"file:{target}?mode=ro", *a, uri=True, **kw)
        return real(target, *a, **kw)

    store.sqlite3.connect = readonly_connect
    try:
        with pytest.raises(JournalError) as err:
            Journal.open(tmp_path)
    finally:
        store.sqlite3.connect = real
    assert "cannot be written" in str(err.value)


def test_a_write_failure_while_running_is_kept_until_a_write_succeeds(tmp_path):
    j = Journal.open(tmp_path)
    try:
        assert j.write_failure == ""
        with j._lock:
            j._con.execute("PRAGMA query_only=ON")  # every write now fails, as on a full disk
        with pytest.raises((JournalError, sqlite3.Error)):
            j.begin_cycle("test")
        assert "journal" in j.write_failure and "readonly" in j.write_failure.lower()
        with j._lock:
            j._con.execute("PRAGMA query_only=OFF")
        j.begin_cycle("test")
        assert j.write_failure == ""
    finally:
        j.close()


def test_status_says_when_the_journal_cannot_be_written(tmp_path):
    from mcp_optimizer.messages.control import SafeModeOff, SafeModeOn
    from mcp_optimizer.runtime.run import open_service
    from mcp_optimizer.runtime.settings import ServiceSettings

    env = {"MCP_DATA_DIR": str(tmp_path / "data"), "MCP_CONTROL_SOCKET": str(tmp_path / "c.sock"),
           "MCP_SIM_SPEED": "0", "MCP_HTTP_PORT": "off"}
    with open_service(ServiceSettings.from_env(env), env) as service:
        journal = service.actuator.journal
        assert isinstance(service.status().safe_mode, SafeModeOff)
        with journal._lock:
            journal._con.execute("PRAGMA query_only=ON")  # as an immutable file or full disk
        try:
            service.runner.run("test")
        except Exception:  # noqa: BLE001 - the cycle cannot journal: it fails, one way or another
            pass
        status = service.status()
        assert isinstance(status.safe_mode, SafeModeOn), status.safe_mode
        assert any("journal cannot be written" in r for r in status.safe_mode.reasons)
        with journal._lock:
            journal._con.execute("PRAGMA query_only=OFF")
        service.runner.run("test")
        assert isinstance(service.status().safe_mode, SafeModeOff)
