"""Short channel ids: LND's 64-bit integer and the ``BLOCKxTXxOUTPUT`` form operators read."""

from __future__ import annotations


def scid_text(chan_id: int) -> str:
    """``800000x1234x1`` for LND's integer channel id."""
    return f"{chan_id >> 40}x{(chan_id >> 16) & 0xFFFFFF}x{chan_id & 0xFFFF}"


def scid_block_height(chan_id: int) -> int:
    """The block in which the channel's funding transaction confirmed."""
    return chan_id >> 40
