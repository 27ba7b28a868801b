"""Helpers for the journal, gate and rollback tests: a small in-memory node and builders.

``MemoryNode`` serves the unit tests of the write path that need faults the simulator cannot
produce on demand (a refused write, a read-back that differs); the property and crash tests run
against the real simulator over gRPC.
"""

from __future__ import annotations

import threading

import msgspec
from builders import channel, policy

from mcp_optimizer.messages import Channel, ChannelPolicy, Decision, DecisionKind


class MemoryNode:
    def __init__(self, channels: list[Channel]):
        self.channels = {c.chan_id: c for c in channels}
        self.writes: list[tuple[str, ChannelPolicy]] = []
        self.fail_next_write = ""
        self.tamper_next_write = False
        self.down = False
        self.fail_after_apply = ""
        self.fail_next_read = ""
        self._lock = threading.Lock()

    def _check_up(self) -> None:
        if self.down:
            raise ConnectionError("node unreachable")

    def list_channels(self) -> list[Channel]:
        self._check_up()
        with self._lock:
            return list(self.channels.values())

    def get_policy(self, chan_id: int) -> ChannelPolicy:
        self._check_up()
        with self._lock:
            if self.fail_next_read:
                msg, self.fail_next_read = self.fail_next_read, ""
                raise TimeoutError(msg)
            if chan_id not in self.channels:
                raise LookupError(f"channel {chan_id} not found")
            return self.channels[chan_id].our_policy

    def update_policy(self, channel_point: str, new: ChannelPolicy) -> None:
        with self._lock:
            if self.fail_next_write:
                msg, self.fail_next_write = self.fail_next_write, ""
                raise RuntimeError(msg)
            for cid, ch in self.channels.items():
                if ch.channel_point == channel_point:
                    if self.tamper_next_write:
                        self.tamper_next_write = False
                        new = msgspec.structs.replace(new, fee_rate_ppm=new.fee_rate_ppm + 1)
                    self.writes.append((channel_point, new))
                    self.channels[cid] = msgspec.structs.replace(ch, our_policy=new)
                    if self.fail_after_apply:
                        msg, self.fail_after_apply = self.fail_after_apply, ""
                        raise TimeoutError(msg)
                    return
            raise LookupError(f"channel {channel_point} not found")

    def set_by_hand(self, chan_id: int, new: ChannelPolicy) -> None:
        with self._lock:
            ch = self.channels[chan_id]
            self.channels[chan_id] = msgspec.structs.replace(ch, our_policy=new)

    def close(self, chan_id: int) -> None:
        with self._lock:
            del self.channels[chan_id]


def make_channels(n: int = 3) -> list[Channel]:
    return [
        channel(chan_id=1000 + i, channel_point=f"{i:064x}:0", our_policy=policy(fee_rate_ppm=500))
        for i in range(n)
    ]


def decision(ch: Channel, new_rate: int, kind: DecisionKind | None = None, **kw) -> Decision:
    cur = ch.our_policy
    if kind is None:
        up = new_rate > cur.fee_rate_ppm
        kind = DecisionKind.INCREASE_FEES if up else DecisionKind.LOWER_FEES
    base = dict(
        chan_id=ch.chan_id,
        kind=kind,
        current_policy=cur,
        proposed_policy=msgspec.structs.replace(cur, fee_rate_ppm=new_rate),
        reasons=["test decision"],
        factors=[],
        score=0.5,
        executable=True,
        evaluated_at_s=1_790_000_000,
    )
    base.update(kw)
    return Decision(**base)


class Clock:
    def __init__(self, start: float = 1_790_000_000):
        self.t = start

    def __call__(self) -> float:
        return self.t

    def advance(self, s: float) -> None:
        self.t += s
