"""What a cycle's actions became, counted apart (pure).

A cycle that proposed ten actions may have written none: six shadowed, three held by the hourly
cap, one refused. Its outcome and its detail say so, and a write that failed or did not verify
makes the cycle ``partial`` (the operator looks), never ``ok``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from mcp_optimizer.messages.actors import ActuationOutcome

NOT_AN_ACTION = "no action"
WRITE_PROBLEMS = ("failed", "mismatched")
"""Outcomes of a write that did not do what was asked: the cycle is ``partial``."""
ORDER = (
    "verified", "applied", "close_pending", "closed", "shadowed", "not_executed", "held",
    "refused", "mismatched", "failed",
)


def action_counts(outcomes: Iterable[ActuationOutcome]) -> dict[str, int]:
    """Actions (decisions other than NO_ACTION, and failed reads) counted by outcome."""
    counts = Counter(o.outcome for o in outcomes if o.outcome != NOT_AN_ACTION)
    ranked = sorted(counts, key=lambda k: (ORDER.index(k) if k in ORDER else len(ORDER), k))
    return {k: counts[k] for k in ranked}


def counts_text(counts: dict[str, int]) -> str:
    """``6 shadowed, 3 held, 1 refused`` (empty for no action)."""
    return ", ".join(f"{n} {what}" for what, n in counts.items())


def write_problems(counts: dict[str, int]) -> str:
    """A note naming the writes that failed or did not verify, or ``""``."""
    bad = [f"{counts[k]} {k}" for k in WRITE_PROBLEMS if counts.get(k)]
    return f"write problems: {', '.join(bad)} (see history)" if bad else ""
