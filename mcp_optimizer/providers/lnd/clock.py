"""Does the node's clock agree with ours? Forwards are read over windows that end at this
machine's "now"; a node whose chain tip is dated far from it (a simulator serving a scenario's
past, a node still syncing, a wrong system clock) would give windows with nothing in them, and
every channel would look idle. Such a read is refused with one sentence instead."""

from __future__ import annotations

import datetime as _dt

MAX_BEHIND_S = 6 * 3600
"""A node's best header may trail the wall clock by a block interval; blocks more than six
hours apart are rare enough that a tip older than this means the node is not current."""
MAX_AHEAD_S = 2 * 3600
"""Block timestamps may run up to two hours ahead of real time (Bitcoin's consensus rule)."""


def _when(ts: int) -> str:
    return _dt.datetime.fromtimestamp(ts, _dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def clock_disagreement(node_time_s: int, local_now_s: int) -> str | None:
    """A sentence when the node's clock (its best header's time) and ours disagree, else None."""
    drift = local_now_s - node_time_s
    if -MAX_AHEAD_S <= drift <= MAX_BEHIND_S:
        return None
    way = "behind" if drift > 0 else "ahead of"
    hours = abs(drift) / 3600
    return (
        f"the node's clock ({_when(node_time_s)}, its best block header) is {hours:,.1f} h "
        f"{way} this machine's ({_when(local_now_s)}): its forwarding history would be read "
        "over the wrong window, so nothing is decided; is the node synced (or, for "
        "`mcp-optimizer simulate`, started with --start now)?"
    )
