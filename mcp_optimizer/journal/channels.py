"""What the journal knows of each channel's policy on the node (``channel_state``)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from mcp_optimizer.messages.domain import ChannelPolicy

from .base import JournalBase, _enc, _policy_dec
from .integrity import chan_from_db, chan_to_db, reseal_channel, verify_channels


@dataclass(frozen=True)
class KnownPolicy:
    """The journal's last knowledge of a channel's policy on the node."""

    chan_id: int
    channel_point: str
    policy: ChannelPolicy
    change_id: int
    """The change that produced it; 0 when first observed (baseline)."""
    seen_at_s: int
    open: bool


class ChannelsMixin(JournalBase):
    def known_policy(self, chan_id: int) -> KnownPolicy | None:
        rows = self._query(
            "SELECT chan_id, channel_point, policy, change_id, seen_at_s, open "
            "FROM channel_state WHERE chan_id=?",
            (chan_to_db(chan_id),),
        )
        verify_channels(self, [r[0] for r in rows])
        return _known(rows[0]) if rows else None

    def known_policies(self) -> list[KnownPolicy]:
        rows = self._query(
            "SELECT chan_id, channel_point, policy, change_id, seen_at_s, open FROM channel_state"
        )
        verify_channels(self, [r[0] for r in rows])
        return sorted((_known(r) for r in rows), key=lambda k: k.chan_id)

    def set_baseline(self, chan_id: int, channel_point: str, policy: ChannelPolicy) -> None:
        """First sight of a channel: what the node shows becomes the journal's knowledge."""
        with self._tx() as cur:
            _set_known(cur, chan_id, channel_point, policy, 0, self.now_s())

    def set_open(self, chan_id: int, is_open: bool) -> None:
        with self._tx() as cur:
            cur.execute(
                "UPDATE channel_state SET open=? WHERE chan_id=?",
                (int(is_open), chan_to_db(chan_id)),
            )


def _set_known(
    cur: sqlite3.Cursor, chan_id: int, point: str, policy: ChannelPolicy, change_id: int, now: int
) -> None:
    cur.execute(
        "INSERT INTO channel_state(chan_id, channel_point, policy, change_id, seen_at_s, open) "
        "VALUES (?, ?, ?, ?, ?, 1) ON CONFLICT(chan_id) DO UPDATE SET "
        "channel_point=excluded.channel_point, policy=excluded.policy, "
        "change_id=excluded.change_id, seen_at_s=excluded.seen_at_s, open=1",
        (chan_to_db(chan_id), point, _enc(policy), change_id, now),
    )
    reseal_channel(cur, chan_to_db(chan_id))


def _known(r: tuple) -> KnownPolicy:
    return KnownPolicy(
        chan_id=chan_from_db(r[0]), channel_point=r[1], policy=_policy_dec.decode(r[2]),
        change_id=r[3],
        seen_at_s=r[4], open=bool(r[5]),
    )
