"""The journal: an SQLite file recording every cycle, decision, mode change and policy change.

See ``docs/journal.md``. Open it with :meth:`Journal.open`; writes to the node go through
:class:`mcp_optimizer.safety.actuator.Actuator`, never around it.
"""

from .planning import RollbackPlan, RollbackRefused
from .store import JOURNAL_FILE, Journal, JournalError, KnownPolicy, journal_path

__all__ = [
    "JOURNAL_FILE",
    "Journal",
    "JournalError",
    "KnownPolicy",
    "RollbackPlan",
    "RollbackRefused",
    "journal_path",
]
