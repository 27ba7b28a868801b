"""The journal's policy changes: each save of the page's policy layer, with who, why, the layer
before and after (schema v9, ``policy_changes``)."""

from __future__ import annotations

import msgspec

from mcp_optimizer.messages.policy import PolicyChangeRecord, PolicyKeyChange

from .base import JournalBase

_keys_dec = msgspec.json.Decoder(list[PolicyKeyChange])
_enc = msgspec.json.Encoder()

_COLUMNS = "id, at_s, by, reason, old_layer, new_layer, keys, undoes"


def _record(r: tuple) -> PolicyChangeRecord:
    return PolicyChangeRecord(
        policy_change_id=r[0], at_s=r[1], by=r[2], reason=r[3], old_layer=r[4],
        new_layer=r[5], keys=_keys_dec.decode(r[6]), undoes=r[7],
    )


class PolicyChangesMixin(JournalBase):
    def record_policy_change(
        self,
        *,
        by: str,
        reason: str,
        old_layer: str,
        new_layer: str,
        keys: list[PolicyKeyChange],
        undoes: int = 0,
        then: object = None,
    ) -> PolicyChangeRecord:
        """Journal a policy change. ``then`` (a callable) runs inside the same transaction
        after the row is written: the file replaced there is journaled or nothing is (an
        exception from it rolls the row back and propagates)."""
        now = self.now_s()
        with self._tx() as cur:
            cur.execute(
                "INSERT INTO policy_changes(at_s, by, reason, old_layer, new_layer, keys, undoes)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (now, by, reason, old_layer, new_layer, _enc.encode(keys).decode(), undoes),
            )
            cid = int(cur.lastrowid or 0)
            if callable(then):
                then()
        return PolicyChangeRecord(
            policy_change_id=cid, at_s=now, by=by, reason=reason, old_layer=old_layer,
            new_layer=new_layer, keys=keys, undoes=undoes,
        )

    def policy_change(self, policy_change_id: int) -> PolicyChangeRecord:
        rows = self._query(f"SELECT {_COLUMNS} FROM policy_changes WHERE id=?",
                           (policy_change_id,))
        if not rows:
            raise KeyError(policy_change_id)
        return _record(rows[0])

    def policy_changes(self, limit: int = 100, offset: int = 0) -> list[PolicyChangeRecord]:
        """Policy changes, newest first."""
        return [
            _record(r) for r in self._query(
                f"SELECT {_COLUMNS} FROM policy_changes ORDER BY id DESC LIMIT ? OFFSET ?",
                (limit, offset),
            )
        ]

    def last_policy_change(self) -> PolicyChangeRecord | None:
        found = self.policy_changes(limit=1)
        return found[0] if found else None
