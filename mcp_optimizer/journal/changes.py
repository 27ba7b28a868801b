"""The journal's policy changes: each one's state machine (intent, applied, verified, ...),
its events, and the queries the gates, reconciliation and rollback make of them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from mcp_optimizer.logs import log_change, routine
from mcp_optimizer.messages.decision import ChangeOrigin
from mcp_optimizer.messages.domain import ChannelPolicy, PeerPolicy, PolicyUnknown
from mcp_optimizer.messages.journal import (
    ChangeAction,
    ChangeEvent,
    ChangeRecord,
    ChangeState,
    CrashKind,
    DecisionLink,
    FromDecision,
    GateStop,
    Mode,
    WithoutDecision,
)

from . import states
from .base import (
    IllegalTransition,
    JournalBase,
    JournalError,
    _chunks,
    _enc,
    _ints_dec,
    _peer_policy_dec,
    _policy_dec,
    _stops_dec,
    _strs_dec,
)
from .channels import _set_known
from .integrity import chan_from_db, chan_to_db, reseal_change, reseal_event, verify_changes


class ChangesMixin(JournalBase):
    def record_change(
        self,
        *,
        chan_id: int,
        channel_point: str,
        origin: ChangeOrigin,
        mode: Mode,
        state: ChangeState,
        old_policy: ChannelPolicy,
        new_policy: ChannelPolicy,
        reasons: Sequence[str],
        detail: str,
        action: ChangeAction = ChangeAction.UPDATE_POLICY,
        decision_id: int = 0,
        rolls_back: Sequence[int] = (),
        stopped_by: Sequence[GateStop] = (),
        observed: PeerPolicy | None = None,
        known_after: bool = False,
    ) -> int:
        """Insert a change in one of the initial states; committed (durable) on return.

        ``known_after``: the journal's knowledge of the channel becomes ``new_policy`` in the
        same transaction (for EXTERNAL changes, found on the node).
        """
        if state not in states.INITIAL_STATES:
            raise IllegalTransition(f"a change cannot start in state {state.value}")
        now = self.now_s()
        seen: PeerPolicy = observed if observed is not None else PolicyUnknown(
            reason="not read back"
        )
        with self._tx() as cur:
            cur.execute(
                "INSERT INTO changes(chan_id, channel_point, origin, mode, state, decision_id, "
                "old_policy, new_policy, observed_policy, rolls_back, reasons, stopped_by, "
                "requested_at_s, updated_at_s, action) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    chan_to_db(chan_id), channel_point, origin.value, mode.value, state.value,
                    decision_id,
                    _enc(old_policy), _enc(new_policy), _enc(seen), _enc(list(rolls_back)),
                    _enc(list(reasons)), _enc(list(stopped_by)), now, now, action.value,
                ),
            )
            change_id = int(cur.lastrowid or 0)
            reseal_change(cur, change_id)
            cur.execute(
                "INSERT INTO change_events(change_id, state, at_s, detail) VALUES (?, ?, ?, ?)",
                (change_id, state.value, now, detail),
            )
            reseal_event(cur, int(cur.lastrowid or 0))
            if known_after:
                _set_known(cur, chan_id, channel_point, new_policy, change_id, now)
            gates = [g.gate for g in stopped_by]
            # inside a batch (this thread holds the lock; depth counts this record's savepoint)
            quiet = routine(state, gates) if self._tx_depth > 1 else None
            if quiet is not None:  # counted: one summary line when the batch commits
                key = (state.value, quiet)
                self._routine[key] = self._routine.get(key, 0) + 1
        if quiet is None:
            log_change(change_id, chan_id, origin, state, detail, gates, old_policy,
                       new_policy, reasons)
        return change_id

    def transition(
        self,
        change_id: int,
        state: ChangeState,
        detail: str,
        observed: PeerPolicy | None = None,
        known_after: bool = False,
        crash: tuple[CrashKind, str] | None = None,
    ) -> None:
        """Move a change to ``state`` (checked against the state machine), durably.

        ``observed``: the policy just read from the node. With ``known_after`` it also becomes
        the journal's knowledge of the channel, in the same transaction. ``crash``
        (kind, detail) records a crash for change ``change_id`` in the same transaction too,
        so that a process killed right after cannot leave the outcome without its crash.
        """
        now = self.now_s()
        with self._tx() as cur:
            row = cur.execute(
                "SELECT state, chan_id, channel_point, origin, old_policy, new_policy, reasons "
                "FROM changes WHERE id=?",
                (change_id,),
            ).fetchone()
            if row is None:
                raise JournalError(f"journal {self.path}: no change {change_id}")
            old = ChangeState(row[0])
            if not states.allowed(old, state):
                raise IllegalTransition(
                    f"change {change_id} cannot move from {old.value} to {state.value}"
                )
            if observed is not None:
                cur.execute(
                    "UPDATE changes SET state=?, updated_at_s=?, observed_policy=? WHERE id=?",
                    (state.value, now, _enc(observed), change_id),
                )
            else:
                cur.execute(
                    "UPDATE changes SET state=?, updated_at_s=? WHERE id=?",
                    (state.value, now, change_id),
                )
            reseal_change(cur, change_id)
            cur.execute(
                "INSERT INTO change_events(change_id, state, at_s, detail) VALUES (?, ?, ?, ?)",
                (change_id, state.value, now, detail),
            )
            reseal_event(cur, int(cur.lastrowid or 0))
            if known_after:
                if not isinstance(observed, ChannelPolicy):
                    raise ValueError("known_after needs the observed ChannelPolicy")
                _set_known(cur, chan_from_db(row[1]), row[2], observed, change_id, now)
            if crash is not None:
                cur.execute(
                    "INSERT INTO crashes(kind, source, detail, at_s) VALUES (?, ?, ?, ?)",
                    (crash[0].value, f"change {change_id}", crash[1], now),
                )
        log_change(change_id, chan_from_db(row[1]), row[3], state, detail, (),
                   _policy_dec.decode(row[4]), _policy_dec.decode(row[5]),
                   _strs_dec.decode(row[6]))

    _CHANGE_COLS = (
        "id, chan_id, channel_point, action, origin, mode, state, old_policy, new_policy, "
        "observed_policy, decision_id, rolls_back, reasons, stopped_by, requested_at_s, "
        "updated_at_s"
    )

    def _changes(self, where: str, args: Sequence[object], order: str = "id") -> list[ChangeRecord]:
        with self._lock:
            rows = self._query(
                f"SELECT {self._CHANGE_COLS} FROM changes {where} ORDER BY {order}", args
            )
            ids = [r[0] for r in rows]
            verify_changes(self, ids)  # a damaged policy is never used
            events: dict[int, list[ChangeEvent]] = {i: [] for i in ids}
            for chunk in _chunks(ids, 500):
                marks = ",".join("?" * len(chunk))
                for cid, st, at_s, detail in self._query(
                    "SELECT change_id, state, at_s, detail FROM change_events "
                    f"WHERE change_id IN ({marks}) ORDER BY id",
                    chunk,
                ):
                    events[cid].append(
                        ChangeEvent(state=ChangeState(st), at_s=at_s, detail=detail)
                    )
        return [
            ChangeRecord(
                change_id=r[0], chan_id=chan_from_db(r[1]), channel_point=r[2],
                action=ChangeAction(r[3]),
                origin=ChangeOrigin(r[4]), mode=Mode(r[5]), state=ChangeState(r[6]),
                old_policy=_policy_dec.decode(r[7]), new_policy=_policy_dec.decode(r[8]),
                observed_policy=_peer_policy_dec.decode(r[9]), decision=_decision_link(r[10]),
                rolls_back=_ints_dec.decode(r[11]), reasons=_strs_dec.decode(r[12]),
                stopped_by=_stops_dec.decode(r[13]), requested_at_s=r[14], updated_at_s=r[15],
                events=events[r[0]],
            )
            for r in rows
        ]

    def change(self, change_id: int) -> ChangeRecord:
        found = self._changes("WHERE id=?", (change_id,))
        if not found:
            raise KeyError(change_id)
        return found[0]

    def changes_after(self, change_id: int, limit: int = 1000) -> list[ChangeRecord]:
        """Changes of a higher id than ``change_id``, oldest first, at most ``limit`` (the
        notifier reads what was journaled since its last look)."""
        return self._changes("WHERE id > ?", (change_id,), order=f"id LIMIT {int(limit)}")

    def last_change_id(self) -> int:
        """The highest change id (0 for an empty journal)."""
        return int(self._query("SELECT coalesce(max(id), 0) FROM changes")[0][0])

    def changes(
        self,
        chan_id: int | None = None,
        since_s: int = 0,
        states_in: Iterable[ChangeState] | None = None,
    ) -> list[ChangeRecord]:
        """Changes, oldest first, filtered by channel, time and state."""
        where = ["requested_at_s >= ?"]
        args: list[object] = [since_s]
        if chan_id is not None:
            where.append("chan_id = ?")
            args.append(chan_to_db(chan_id))
        if states_in is not None:
            wanted = [s.value for s in states_in]
            where.append(f"state IN ({','.join('?' * len(wanted))})")
            args += wanted
        return self._changes("WHERE " + " AND ".join(where), args)

    def pending_changes(self) -> list[ChangeRecord]:
        """Changes without a verified outcome (INTENT, APPLIED): what reconciliation resolves."""
        return self.changes(states_in=states.PENDING_STATES)

    def latest_change(self, states_in: Iterable[ChangeState]) -> ChangeRecord | None:
        """The most recent change (any channel) in one of ``states_in``."""
        wanted = [s.value for s in states_in]
        found = self._changes(
            f"WHERE id = (SELECT max(id) FROM changes WHERE state IN "
            f"({','.join('?' * len(wanted))}))",
            wanted,
        )
        return found[0] if found else None

    def has_pending(self) -> bool:
        marks = ",".join("?" * len(states.PENDING_STATES))
        rows = self._query(
            f"SELECT 1 FROM changes WHERE state IN ({marks}) LIMIT 1",
            [s.value for s in states.PENDING_STATES],
        )
        return bool(rows)

    def last_change_at(self, chan_id: int, counted: Iterable[ChangeState]) -> tuple[int, int]:
        """``(change_id, requested_at_s)`` of the channel's latest change in ``counted``,
        ``(0, 0)`` when there is none."""
        wanted = [s.value for s in counted]
        rows = self._query(
            "SELECT id, requested_at_s FROM changes WHERE chan_id=? AND "
            f"state IN ({','.join('?' * len(wanted))}) ORDER BY id DESC LIMIT 1",
            [chan_to_db(chan_id), *wanted],
        )
        return (rows[0][0], rows[0][1]) if rows else (0, 0)

    def change_origin(self, change_id: int) -> ChangeOrigin:
        """Who made a change (KeyError when the journal has none of that id)."""
        rows = self._query("SELECT origin FROM changes WHERE id=?", (change_id,))
        if not rows:
            raise KeyError(change_id)
        return ChangeOrigin(rows[0][0])

    def count_service_changes(self, since_s: int, counted: Iterable[ChangeState]) -> int:
        """Changes made by this service (not rollbacks, not external) since ``since_s``."""
        wanted = [s.value for s in counted]
        rows = self._query(
            "SELECT count(*) FROM changes WHERE origin=? AND requested_at_s >= ? AND "
            f"state IN ({','.join('?' * len(wanted))})",
            [ChangeOrigin.SERVICE.value, since_s, *wanted],
        )
        return int(rows[0][0])

    def count_closes(self, since_s: int) -> int:
        """Closes started (intent, pending or closed) since ``since_s``: the daily close cap."""
        rows = self._query(
            "SELECT count(*) FROM changes WHERE action=? AND requested_at_s >= ? AND "
            "state IN (?, ?, ?)",
            [ChangeAction.CLOSE_CHANNEL.value, since_s, ChangeState.INTENT.value,
             ChangeState.CLOSE_PENDING.value, ChangeState.CLOSED.value],
        )
        return int(rows[0][0])



def _decision_link(decision_id: int) -> DecisionLink:
    """``changes.decision_id`` stores 0 for a change that comes from no decision (decision
    ids start at 1): mapped here to the explicit :class:`WithoutDecision`."""
    return FromDecision(decision_id=decision_id) if decision_id > 0 else WithoutDecision()
