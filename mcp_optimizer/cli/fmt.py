"""What every verb prints and parses the same way: channel ids, times, counts.

Human output names a channel by its short channel id ``BLOCKxTXxOUTPUT`` (as block explorers,
``lncli`` and the service's log do) and a time as ``YYYY-MM-DD HH:MM:SS UTC``; ``--json`` keeps
LND's integer ``chan_id`` and Unix seconds. A channel given on the command line may be either
form.
"""

from __future__ import annotations

import argparse
import re
import textwrap
import time

from mcp_optimizer.scid import scid_text

CHANNEL_WIDTH = 18
"""Column width of a channel id in tables: ``BLOCKxTXxOUT`` is 14 to 16 characters on
mainnet today (a longer one pushes its row to the right, nothing is cut)."""


def chan(chan_id: int) -> str:
    """``835469x1000004x1`` for LND's integer channel id."""
    return scid_text(chan_id)


def when(at_s: int) -> str:
    """``2026-11-27 08:00:00 UTC``."""
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(at_s))


def when_bare(at_s: int) -> str:
    """``2026-11-27 08:00:00``, for a table whose header says ``(UTC)``."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(at_s))


WIDTH = 100
"""Human output fits in this many columns: longer text (reasons) is wrapped."""


def wrapped(prefix: str, text: str, width: int = WIDTH) -> list[str]:
    """``prefix`` then ``text`` wrapped to ``width`` columns, each further line indented to
    where the text started (words longer than a line are kept whole)."""
    body = textwrap.wrap(
        text, width=max(40, width - len(prefix)), break_long_words=False, break_on_hyphens=False
    ) or [""]
    return [prefix + body[0]] + [" " * len(prefix) + b for b in body[1:]]


_SCID = re.compile(r"(\d+)[x:](\d+)[x:](\d+)")


def parse_channel(text: str) -> int:
    """argparse type: LND's integer ``chan_id`` or ``BLOCKxTXxOUTPUT`` -> the integer."""
    t = text.strip()
    if t.isdigit():
        value = int(t)
        if value < 2**64:
            return value
    m = _SCID.fullmatch(t)
    if m:
        block, tx, out = (int(g) for g in m.groups())
        if block < 2**24 and tx < 2**24 and out < 2**16:
            return (block << 40) | (tx << 16) | out
    raise argparse.ArgumentTypeError(
        f"{text!r} is not a channel id: give BLOCKxTXxOUTPUT (e.g. 835469x1000004x1) or "
        "LND's integer chan_id"
    )


MAX_COUNT = 1_000_000
"""The largest count a verb takes (--limit)."""
MAX_DAYS = 3650.0
"""The longest period a verb takes, in days (ten years)."""


def positive_int(text: str) -> int:
    """argparse type: a whole number from 1 to :data:`MAX_COUNT`."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 0 < value <= MAX_COUNT:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a whole number from 1 to {MAX_COUNT:,}"
        )
    return value


def _positive(text: str, unit: str, most: float) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value <= most:  # also refuses nan and inf
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number of {unit} above 0 and at most {most:g}"
        )
    return value


def positive_seconds(text: str) -> float:
    """argparse type: a number of seconds above 0 (at most a day)."""
    return _positive(text, "seconds", 86400.0)


def positive_days(text: str) -> float:
    """argparse type: a number of days above 0 (at most :data:`MAX_DAYS`)."""
    return _positive(text, "days", MAX_DAYS)
