"""Reads the web page needs from the journal: one page of changes under filters, counts by
day, the latest cycle's decisions. Bounded queries only: a journal of 100,000 changes answers
each in milliseconds (``benchmarks/bench_web.py``)."""

from __future__ import annotations

from collections.abc import Iterable

from mcp_optimizer.messages.decision import Decision
from mcp_optimizer.messages.journal import ChangeRecord, ChangeState, Mode

from .base import _decision_dec
from .changes import ChangesMixin
from .integrity import chan_from_db, chan_to_db

DAY_S = 86400


class ReadsMixin(ChangesMixin):
    def _change_filter(
        self,
        chan_id: int | None,
        origins: Iterable[str] | None,
        states: Iterable[str] | None,
        since_s: int,
        until_s: int | None,
    ) -> tuple[str, list[object]]:
        where = ["requested_at_s >= ?"]
        args: list[object] = [since_s]
        if until_s is not None:
            where.append("requested_at_s < ?")
            args.append(until_s)
        if chan_id is not None:
            where.append("chan_id = ?")
            args.append(chan_to_db(chan_id))
        for column, values in (("origin", origins), ("state", states)):
            if values:
                vs = list(values)
                where.append(f"{column} IN ({','.join('?' * len(vs))})")
                args += vs
        return "WHERE " + " AND ".join(where), args

    def changes_page(
        self,
        *,
        chan_id: int | None = None,
        origins: Iterable[str] | None = None,
        states: Iterable[str] | None = None,
        since_s: int = 0,
        until_s: int | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[int, list[ChangeRecord]]:
        """``(total matching, one page newest first)``."""
        origins = list(origins or [])
        states = list(states or [])
        where, args = self._change_filter(chan_id, origins, states, since_s, until_s)
        total = int(self._query(f"SELECT count(*) FROM changes {where}", args)[0][0])
        page = self._changes(where, [*args, limit, offset], order="id DESC LIMIT ? OFFSET ?")
        return total, page

    def service_changes_by_day(self, since_s: int, states: Iterable[ChangeState]) -> dict[int, int]:
        """``{day start (Unix s): count}`` of the service's changes in ``states``."""
        wanted = [s.value for s in states]
        rows = self._query(
            "SELECT requested_at_s / ? AS day, count(*) FROM changes "
            "WHERE origin = 'service' AND requested_at_s >= ? "
            f"AND state IN ({','.join('?' * len(wanted))}) GROUP BY day",
            [DAY_S, since_s, *wanted],
        )
        return {int(d) * DAY_S: int(n) for d, n in rows}

    def cycle_decisions(self, cycle_id: int, since_s: int) -> list[tuple[int, Mode, Decision]]:
        """The decisions of one cycle (``since_s``: the cycle's start, for the time index)."""
        rows = self._query(
            "SELECT id, mode, decision FROM decisions WHERE recorded_at_s >= ? AND cycle_id = ? "
            "ORDER BY id",
            (since_s, cycle_id),
        )
        return [(r[0], Mode(r[1]), _decision_dec.decode(r[2])) for r in rows]

    def latest_decided_cycle(self) -> tuple[int, int] | None:
        """``(cycle_id, started_at_s)`` of the latest cycle that journaled decisions."""
        rows = self._query(
            "SELECT c.id, c.started_at_s FROM cycles c WHERE EXISTS "
            "(SELECT 1 FROM decisions d WHERE d.cycle_id = c.id AND d.recorded_at_s >= "
            "c.started_at_s) ORDER BY c.id DESC LIMIT 1"
        )
        return (int(rows[0][0]), int(rows[0][1])) if rows else None

    def channel_ids_seen(self) -> list[int]:
        """Every channel the journal knows a policy of."""
        rows = self._query("SELECT chan_id FROM channel_state")
        return sorted(chan_from_db(int(r[0])) for r in rows)
