"""Times as operators type them (``--since`` on the command line, ``since`` in the MCP tools):
Unix seconds, an ISO date or date/time (UTC unless it says otherwise), or an age before now."""

from __future__ import annotations

import re
from datetime import UTC, datetime

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
"""An age's units: seconds, minutes, hours, days, weeks."""
HINT = "give Unix seconds, an ISO date/time (2026-11-27T08:00:00Z) or an age such as 6h or 7d"


def parse_time(text: str, now_s: int) -> int:
    """Unix seconds from ``1790000000``, ``2026-11-27``, ``2026-11-27T08:00:00Z`` or an age
    like ``90m``, ``6h``, ``7d`` (that long before ``now_s``). ValueError names the text."""
    t = text.strip()
    if re.fullmatch(r"\d{9,12}", t):
        return int(t)
    age = re.fullmatch(r"(\d{1,9})([smhdw])", t)
    if age:
        return now_s - int(age.group(1)) * UNITS[age.group(2)]
    try:
        dt = datetime.fromisoformat(t.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text[:40]!r} is not a time: {HINT}") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp())
