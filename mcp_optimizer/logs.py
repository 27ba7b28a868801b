"""Log levels of the service: INFO, WARNING, ACTION, ERROR (loguru).

ACTION (between INFO and WARNING) marks every step of a write to the node: the intent journaled
before the call, the node's acceptance, the verification. Every change state the journal
records is mirrored to the log, at a level that says how much it matters to an operator, so the
log alone tells what the service did to the node and why, and the journal holds the record.
"""

from __future__ import annotations

from collections.abc import Iterable

from loguru import logger

from mcp_optimizer.messages import ChangeOrigin, ChangeState, Gate
from mcp_optimizer.scid import scid_text

ACTION = "ACTION"
ACTION_NO = 25

LEVEL_BY_STATE: dict[ChangeState, str] = {
    ChangeState.INTENT: ACTION,
    ChangeState.APPLIED: ACTION,
    ChangeState.VERIFIED: ACTION,
    ChangeState.SHADOWED: "INFO",
    ChangeState.NOT_EXECUTED: "INFO",
    ChangeState.HELD: "INFO",
    ChangeState.REFUSED: "WARNING",
    ChangeState.EXTERNAL: "WARNING",
    ChangeState.FAILED: "ERROR",
    ChangeState.MISMATCHED: "ERROR",
}
"""Every change state's log level; a test checks that no state is missing."""

AS_CONFIGURED: frozenset[Gate] = frozenset(
    {Gate.CLOSE_DISABLED, Gate.PAUSED, Gate.MIN_CHANGE, Gate.COOLDOWN, Gate.HOURLY_CAP,
     Gate.DAILY_CAP}
)
"""Gates that stop a change because the operator's settings say so (a close that is only a
recommendation, a pause, a cap): a change stopped by these alone is logged at INFO, whatever
its state, since nothing went wrong."""


def level_for(state: ChangeState, gates: Iterable[Gate] = ()) -> str:
    """The log level of a change entering ``state``, stopped by ``gates`` (if any)."""
    stopped = set(gates)
    if stopped and stopped <= AS_CONFIGURED:
        return "INFO"
    return LEVEL_BY_STATE[state]


def ensure_levels() -> None:
    """Register the ACTION level once per process (loguru levels are global)."""
    try:
        logger.level(ACTION)
    except ValueError:
        logger.level(ACTION, no=ACTION_NO, color="<magenta><bold>")


def log_change(
    change_id: int,
    chan_id: int,
    origin: ChangeOrigin | str,
    state: ChangeState,
    detail: str,
    gates: Iterable[Gate] = (),
) -> None:
    """One line for one state a change reached (the ACTION level is registered at import)."""
    who = origin.value if isinstance(origin, ChangeOrigin) else origin
    logger.log(
        level_for(state, gates),
        "change {} on channel {} ({}): {}: {}",
        change_id, scid_text(chan_id), who, state.value, detail,
    )



def log_mode_change(old: str, new: str, by: str, reason: str) -> None:
    """The operating mode changed (going live is the one that matters most): an ACTION line
    naming who and why."""
    warning = " (writes to the node are ON)" if new == "live" and old != "live" else ""
    logger.log(ACTION, "mode {} -> {}{} by {}: {}", old, new, warning, by, reason or "(no reason)")


def log_pause(paused: bool, by: str, reason: str) -> None:
    """The kill switch set or lifted over the API: an ACTION line naming who and why."""
    logger.log(ACTION, "{} by {}: {}", "paused" if paused else "resumed", by,
               reason or "(no reason)")


SINK_OPTIONS = {"diagnose": False, "backtrace": False}
"""Options of every production log sink: loguru's ``diagnose`` prints the values of local
variables in a traceback (a secret held in one would reach service.log), ``backtrace`` the
frames above the catching one. Off: a traceback shows the code and the exception only."""


def add_sink(sink, **options):  # noqa: ANN001, ANN201 - loguru's sink and handler id
    """``logger.add`` with :data:`SINK_OPTIONS` (which cannot be overridden by ``options``)."""
    return logger.add(sink, **{**options, **SINK_OPTIONS})


ensure_levels()
