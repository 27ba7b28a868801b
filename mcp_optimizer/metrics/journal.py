"""Series read from the journal at each scrape: what the service decided, changed and ran.

The journal is the record; these series are counts of it, never a second bookkeeping. Its
rows are append-only (a change's later states are new ``change_events`` rows), so the counts
are kept incrementally: each scrape reads only the rows added since the previous one (by
primary key), on a read-only connection of its own (a scrape never takes the writer's lock).

- ``mcp_decisions_total{kind,mode}``: decisions journaled, by kind and the mode in force.
- ``mcp_policy_changes_total{origin,state}``: policy changes that reached each state (one per
  journaled state event: a live change counts once as ``intent``, ``applied``, ``verified``);
  ``state="rolled_back"`` counts changes undone by a verified rollback.
- ``mcp_gate_stops_total{gate}``: changes each gate stopped (held or refused).
- ``mcp_cycles_total{outcome}``: finished cycles by outcome (``ok``, ``partial``, ``failed``,
  ``abandoned``); ``mcp_last_cycle_timestamp_seconds`` (started), and
  ``mcp_last_cycle_end_timestamp_seconds``.
- ``mcp_crashes_total{kind}``, ``mcp_open_crashes`` (not acknowledged: they hold live
  writes), ``mcp_last_critical_error_timestamp_seconds`` (the latest journaled crash; 0 when
  none: every crash opens the circuit breaker, so each is critical).
- ``mcp_mode{mode}`` (1 for the mode in force).
- ``mcp_metrics_errors_total{collector="journal"}``: scrapes that could not read the journal
  (its series are then left out; the rest of the scrape is served).

Label values are the journal's enumerations; a value the code does not know is ``other``.
Times are the journal's clock (the node's; on the simulator, the simulated clock).
"""

from __future__ import annotations

import math
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from loguru import logger
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from mcp_optimizer.messages import ChangeOrigin, ChangeState, CrashKind, CycleOutcome, Gate, Mode
from mcp_optimizer.messages.decision import DecisionKind

ERROR_LOG_EVERY_S = 300.0
"""A journal that cannot be read is logged at most this often (scrapes come every 15 s)."""

_KNOWN = {
    "kind": {k.value for k in DecisionKind},
    "mode": {m.value for m in Mode},
    "origin": {o.value for o in ChangeOrigin},
    "state": {s.value for s in ChangeState} | {"rolled_back"},
    "gate": {g.value for g in Gate},
    "outcome": {o.value for o in CycleOutcome},
    "crash": {k.value for k in CrashKind},
}


def _label(kind: str, value: object) -> str:
    text = str(value)
    return text if text in _KNOWN[kind] else "other"


@dataclass
class JournalCounts:
    """Running totals of the journal, with the last row id each was counted up to."""

    decisions: Counter[tuple[str, str]] = field(default_factory=Counter)
    changes: Counter[tuple[str, str]] = field(default_factory=Counter)
    gates: Counter[str] = field(default_factory=Counter)
    rolled_back: Counter[str] = field(default_factory=Counter)
    cycles: Counter[str] = field(default_factory=Counter)
    last_decision_id: int = 0
    last_event_id: int = 0
    last_change_id: int = 0
    last_rollback_scan_id: int = 0
    rolled_back_ids: set[int] = field(default_factory=set)
    cycles_done_upto: int = 0
    """Every cycle with an id up to this one has ended and is counted."""
    cycles_counted_after: set[int] = field(default_factory=set)
    """Ended cycles above ``cycles_done_upto`` already counted (a running one sits between)."""


class JournalCollector:
    """A prometheus-client collector over the journal file at ``path`` (read-only)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.counts = JournalCounts()
        self._lock = threading.Lock()
        self._con: sqlite3.Connection | None = None
        self._closed = False
        self.errors = 0
        """Scrapes that could not read the journal (``mcp_metrics_errors_total``)."""
        self._told_at = -math.inf

    def _connection(self) -> sqlite3.Connection:
        if self._con is None:
            con = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, isolation_level=None,
                                  check_same_thread=False, timeout=5.0)
            con.execute("PRAGMA busy_timeout=5000")
            self._con = con
        return self._con

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._con is not None:
                self._con.close()
                self._con = None

    def warm(self) -> None:
        """Count what the journal holds now (the first, full count), quietly."""
        try:
            list(self.collect())
        except Exception:  # noqa: BLE001 - a scrape will count (and tell) instead
            pass

    def describe(self) -> list[Metric]:
        return []  # collected at scrape time only (registering must not read the journal)

    def collect(self) -> Iterator[Metric]:
        snapshot = None
        with self._lock:
            if self._closed:
                return
            try:
                con = self._connection()
                con.execute("BEGIN")  # one consistent snapshot of the file for the scrape
                try:
                    self._update(con)
                    snapshot = self._snapshot(con)
                finally:
                    con.execute("COMMIT")
            except sqlite3.Error as exc:  # the scrape goes on without the journal's series
                self.errors += 1
                now = time.monotonic()
                if now - self._told_at >= ERROR_LOG_EVERY_S:
                    self._told_at = now
                    logger.warning("metrics: the journal {} cannot be read ({}); its series "
                                   "are left out of this scrape", self.path, exc)
                if self._con is not None:
                    self._con.close()
                    self._con = None
        errors = CounterMetricFamily(
            "mcp_metrics_errors", "Scrapes that could not read a source, by collector.",
            labels=["collector"])
        errors.add_metric(["journal"], self.errors)
        yield errors
        if snapshot is not None:
            yield from self._families(snapshot)

    # ------------------------------------------------------------------ incremental reads
    def _update(self, con: sqlite3.Connection) -> None:
        c = self.counts
        for kind, mode, n, top in con.execute(
            "SELECT kind, mode, COUNT(*), MAX(id) FROM decisions WHERE id > ? GROUP BY kind, mode",
            (c.last_decision_id,),
        ):
            c.decisions[(_label("kind", kind), _label("mode", mode))] += n
            c.last_decision_id = max(c.last_decision_id, top)
        for origin, state, n, top in con.execute(
            "SELECT c.origin, e.state, COUNT(*), MAX(e.id) FROM change_events e "
            "JOIN changes c ON c.id = e.change_id WHERE e.id > ? GROUP BY c.origin, e.state",
            (c.last_event_id,),
        ):
            c.changes[(_label("origin", origin), _label("state", state))] += n
            c.last_event_id = max(c.last_event_id, top)
        for gate, n in con.execute(
            "SELECT json_extract(g.value, '$.gate'), COUNT(*) FROM changes c, "
            "json_each(c.stopped_by) g WHERE c.id > ? AND c.stopped_by != '[]' GROUP BY 1",
            (c.last_change_id,),
        ):
            c.gates[_label("gate", gate)] += n
        top = con.execute("SELECT COALESCE(MAX(id), 0) FROM changes").fetchone()[0]
        c.last_change_id = max(c.last_change_id, top)
        # rolled back: changes named by a rollback change that was verified (a rollback's
        # verification is a new change_events row, so scan rollbacks verified since last time)
        for target, origin in con.execute(
            "SELECT DISTINCT j.value, o.origin FROM changes r "
            "JOIN change_events e ON e.change_id = r.id AND e.state = 'verified' AND e.id > ?, "
            "json_each(r.rolls_back) j JOIN changes o ON o.id = j.value "
            "WHERE r.origin = 'rollback'",
            (c.last_rollback_scan_id,),
        ):
            if int(target) not in c.rolled_back_ids:
                c.rolled_back_ids.add(int(target))
                c.rolled_back[_label("origin", origin)] += 1
        c.last_rollback_scan_id = c.last_event_id
        # cycles end later than they start: count each once it has ended
        for cid, outcome, finished in con.execute(
            "SELECT id, outcome, finished_at_s FROM cycles WHERE id > ? ORDER BY id",
            (c.cycles_done_upto,),
        ):
            if not finished:
                continue
            if cid not in c.cycles_counted_after:
                c.cycles[_label("outcome", outcome)] += 1
                c.cycles_counted_after.add(cid)
        while c.cycles_done_upto + 1 in c.cycles_counted_after:
            c.cycles_done_upto += 1
            c.cycles_counted_after.discard(c.cycles_done_upto)

    def _snapshot(self, con: sqlite3.Connection) -> dict[str, object]:
        """The few point-in-time values (not counts) read at each scrape."""
        last = con.execute(
            "SELECT started_at_s, finished_at_s FROM cycles ORDER BY id DESC LIMIT 1"
        ).fetchone()
        last_end = con.execute(
            "SELECT COALESCE(MAX(finished_at_s), 0) FROM cycles"
        ).fetchone()[0]
        crashes = Counter(
            {_label("crash", k): n for k, n in con.execute(
                "SELECT kind, COUNT(*) FROM crashes GROUP BY kind")}
        )
        open_crashes = con.execute(
            "SELECT COUNT(*) FROM crashes WHERE acknowledged_at_s = 0"
        ).fetchone()[0]
        last_crash = con.execute("SELECT COALESCE(MAX(at_s), 0) FROM crashes").fetchone()[0]
        mode_row = con.execute(
            "SELECT new_mode FROM mode_changes ORDER BY id DESC LIMIT 1"
        ).fetchone()
        return {
            "last_cycle_start": last[0] if last else 0,
            "last_cycle_end": last_end,
            "crashes": crashes,
            "open_crashes": open_crashes,
            "last_crash": last_crash,
            "mode": mode_row[0] if mode_row else Mode.SHADOW.value,
        }

    # ------------------------------------------------------------------------- families
    def _families(self, snap: dict[str, object]) -> Iterator[Metric]:
        c = self.counts
        decisions = CounterMetricFamily(
            "mcp_decisions", "Decisions journaled, by kind and the mode in force.",
            labels=["kind", "mode"])
        values = {(kind, str(snap["mode"])): 0 for kind in _KNOWN["kind"]}  # every kind shown
        values.update(c.decisions)
        for (kind, mode), n in sorted(values.items()):
            decisions.add_metric([kind, mode], n)
        yield decisions

        changes = CounterMetricFamily(
            "mcp_policy_changes",
            "Policy changes that reached each state (one per journaled state event), by origin; "
            "state rolled_back: undone by a verified rollback.",
            labels=["origin", "state"])
        values = {(o, s): 0 for o in _KNOWN["origin"] for s in _KNOWN["state"]}  # all shown
        values.update(c.changes)
        for origin, n in c.rolled_back.items():
            values[(origin, "rolled_back")] = n
        for (origin, state), n in sorted(values.items()):
            changes.add_metric([origin, state], n)
        yield changes

        gates = CounterMetricFamily(
            "mcp_gate_stops", "Policy changes stopped by each gate (held or refused).",
            labels=["gate"])
        for gate in sorted(_KNOWN["gate"]):
            gates.add_metric([gate], c.gates.get(gate, 0))
        if "other" in c.gates:
            gates.add_metric(["other"], c.gates["other"])
        yield gates

        cycles = CounterMetricFamily(
            "mcp_cycles", "Evaluation cycles ended, by outcome.", labels=["outcome"])
        for outcome in sorted(_KNOWN["outcome"]):
            cycles.add_metric([outcome], c.cycles.get(outcome, 0))
        yield cycles
        yield GaugeMetricFamily(
            "mcp_last_cycle_timestamp_seconds",
            "When the latest cycle started (Unix seconds, the journal's clock; 0: none yet).",
            value=float(snap["last_cycle_start"]))  # type: ignore[arg-type]
        yield GaugeMetricFamily(
            "mcp_last_cycle_end_timestamp_seconds",
            "When the latest cycle to end ended (Unix seconds, the journal's clock; 0: none).",
            value=float(snap["last_cycle_end"]))  # type: ignore[arg-type]

        crash_counts: Counter[str] = snap["crashes"]  # type: ignore[assignment]
        crashes = CounterMetricFamily(
            "mcp_crashes", "Crashes journaled (each opens the circuit breaker), by kind.",
            labels=["kind"])
        for kind in sorted(_KNOWN["crash"]):
            crashes.add_metric([kind], crash_counts.get(kind, 0))
        yield crashes
        yield GaugeMetricFamily(
            "mcp_open_crashes",
            "Crashes not acknowledged yet (they hold live writes until ack-crash).",
            value=float(snap["open_crashes"]))  # type: ignore[arg-type]
        yield GaugeMetricFamily(
            "mcp_last_critical_error_timestamp_seconds",
            "When the latest crash was journaled (Unix seconds, the journal's clock; 0: never).",
            value=float(snap["last_crash"]))  # type: ignore[arg-type]

        mode = GaugeMetricFamily(
            "mcp_mode", "The operating mode in force (1) among shadow, dry-run and live.",
            labels=["mode"])
        for m in Mode:
            mode.add_metric([m.value], 1.0 if m.value == snap["mode"] else 0.0)
        yield mode
