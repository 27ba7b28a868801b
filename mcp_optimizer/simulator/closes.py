"""Cooperative closes on the simulated node, as LND shows them.

``CloseChannel`` disables the channel at once (no more forwards through it), takes it out of
ListChannels (LND lists it under pending channels), and broadcasts a closing transaction whose
txid is drawn from the channel point. After ``SETTLE_BLOCKS`` blocks of simulated time the
close confirms: the channel leaves the graph (GetChanInfo: not found) and a ``closed`` channel
event is sent. The state lives on the node's core, so it is kept with the node (persist).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

SETTLE_BLOCKS = 3
"""Blocks until a cooperative close confirms (LND waits for one; a few is typical)."""


@dataclass
class Close:
    chan_id: int
    channel_point: str
    txid: str
    started_height: int
    sat_per_vbyte: int
    settled: bool = False


def closing_txid(channel_point: str) -> str:
    return hashlib.sha256(f"close|{channel_point}".encode()).hexdigest()


def closes_of(core) -> dict[int, Close]:
    """The core's closes by channel id (created on first use)."""
    found = getattr(core, "closes", None)
    if found is None:
        found = core.closes = {}
    return found


def closing_ids(core) -> set[int]:
    return set(closes_of(core))


def settled_ids(core) -> set[int]:
    return {cid for cid, c in closes_of(core).items() if c.settled}


def settle_due(core, height: int) -> list[Close]:
    """Mark the closes confirmed by ``height``; returns those that just settled."""
    done = []
    for c in closes_of(core).values():
        if not c.settled and height >= c.started_height + SETTLE_BLOCKS:
            c.settled = True
            done.append(c)
    return done
