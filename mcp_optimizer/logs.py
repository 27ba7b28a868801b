"""The service's logs (loguru): levels, the three sinks, and secrets kept out of all of them.

Levels: INFO, ACTION (between INFO and WARNING), WARNING, ERROR, CRITICAL. ACTION marks every
step of a write to the node (the intent journaled before the call, the node's acceptance, the
verification), and every operator act that changes what the service may do: mode changes
(going live!) and pause/resume, with who and why. Every change state the journal records is
mirrored to the log, at a level that says how much it matters to an operator, so the log alone
tells what the service did to the node and why, and the journal holds the record. A change's
line names the channel (short id), the old and the new policy, the reasons and the journal's
change id; in the JSON log these are fields of their own as well.

Sinks (:func:`configure_service_logging`): a human one on stderr (``MCP_LOG_LEVEL``, default
INFO), the human ``<data dir>/service.log`` (DEBUG) and the JSON-lines
``<data dir>/service.jsonl`` (DEBUG; one object a line: ``time``, ``ts``, ``level``,
``message``, ``logger``, ``line``, the line's fields, ``exception``), both rotated at
``MCP_LOG_MAX_MB`` (default 10) keeping ``MCP_LOG_KEEP`` old files (default 5).
``mcp-optimizer logs`` reads the JSON one.

Secrets: every sink added through :func:`add_sink` writes each line through :func:`redact`,
which replaces the registered secrets (:func:`add_secret`: the macaroon as read, the values of
environment variables named like keys, tokens, passwords, notification URLs) and any URL
credentials or bearer token by ``[secret]``; a traceback is printed without local variables
(loguru's ``diagnose`` and ``backtrace`` off) and redacted too.
"""

from __future__ import annotations

import base64
import json
import os
import re
import sys
import threading
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loguru import logger

from mcp_optimizer.messages import ChangeOrigin, ChangeState, Gate
from mcp_optimizer.scid import scid_text

ACTION = "ACTION"
ACTION_NO = 25

LOG_FILE = "service.log"
"""The human log file in the data directory."""
JSON_LOG_FILE = "service.jsonl"
"""The JSON-lines log file in the data directory (read by ``mcp-optimizer logs``)."""

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
    ChangeState.CLOSE_PENDING: ACTION,
    ChangeState.CLOSED: ACTION,
}
"""Every change state's log level; a test checks that no state is missing."""

AS_CONFIGURED: frozenset[Gate] = frozenset(
    {Gate.CLOSE_DISABLED, Gate.CLOSE_CAP, Gate.PAUSED, Gate.MIN_CHANGE, Gate.COOLDOWN,
     Gate.HOURLY_CAP,
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


def policy_text(p: Any) -> str:
    """A channel policy in a few words: ``1000 msat + 250 ppm, inbound 0 msat/-50 ppm, cltv 40``."""
    if p is None:
        return "?"
    return (f"{p.base_fee_msat} msat + {p.fee_rate_ppm} ppm, inbound {p.inbound_base_fee_msat}"
            f" msat/{p.inbound_fee_rate_ppm} ppm, cltv {p.time_lock_delta}")


def log_change(
    change_id: int,
    chan_id: int,
    origin: ChangeOrigin | str,
    state: ChangeState,
    detail: str,
    gates: Iterable[Gate] = (),
    old: Any = None,
    new: Any = None,
    reasons: Iterable[str] = (),
) -> None:
    """One line for one state a change reached: its id, the channel, who made it, the state
    and detail, the old and the new policy and the reasons (the ACTION level is registered at
    import)."""
    who = origin.value if isinstance(origin, ChangeOrigin) else origin
    why = [r for r in reasons if r]
    logger.bind(
        change_id=change_id, channel=scid_text(chan_id), origin=who, state=state.value,
        old_policy=policy_text(old), new_policy=policy_text(new), reasons=why,
    ).log(
        level_for(state, gates),
        "change {} on channel {} ({}): {}: {}; policy {} -> {}; reasons: {}",
        change_id, scid_text(chan_id), who, state.value, detail, policy_text(old),
        policy_text(new), "; ".join(why) or "none given",
    )


def routine(state: ChangeState, gates: Iterable[Gate]) -> tuple[str, ...] | None:
    """The gates' names when a change entering ``state`` is routine: held or refused by the
    operator's own settings alone (caps, cooldown, minimum change, pause, closes off). Such
    changes are journaled one by one but, recorded in a batch, logged as one summary line
    (:func:`log_routine`); None for any other change (its own line)."""
    if state not in (ChangeState.HELD, ChangeState.REFUSED):
        return None
    stopped = set(gates)
    if not stopped or not stopped <= AS_CONFIGURED:
        return None
    return tuple(sorted(g.value for g in stopped))


def log_routine(counts: Mapping[tuple[str, tuple[str, ...]], int]) -> None:
    """One INFO line for the routine changes one batch journaled (:func:`routine`): how many
    in each state, by the gates that stopped them. Each is in the journal (``history``)."""
    if not counts:
        return
    by_state: dict[str, dict[str, int]] = {}
    for (state, gates), n in counts.items():
        by_state.setdefault(state, {})["+".join(gates)] = n
    total = sum(counts.values())
    parts = [
        f"{sum(g.values())} {state} ("
        + ", ".join(f"{gate} {n}" for gate, n in sorted(g.items(), key=lambda kv: -kv[1]))
        + ")"
        for state, g in sorted(by_state.items())
    ]
    logger.bind(routine_changes=total, routine_by_state=by_state).info(
        "{} routine change(s) journaled, none written to the node: {} (each in `history`)",
        total, "; ".join(parts),
    )


def log_mode_change(old: str, new: str, by: str, reason: str) -> None:
    """The operating mode changed (going live is the one that matters most): an ACTION line
    naming who and why."""
    warning = " (writes to the node are ON)" if new == "live" and old != "live" else ""
    logger.bind(mode_from=old, mode_to=new, by=by, reason=reason).log(
        ACTION, "mode {} -> {}{} by {}: {}", old, new, warning, by, reason or "(no reason)")


def log_pause(paused: bool, by: str, reason: str) -> None:
    """The kill switch set or lifted over the API: an ACTION line naming who and why."""
    logger.bind(paused=paused, by=by, reason=reason).log(
        ACTION, "{} by {}: {}", "paused" if paused else "resumed", by, reason or "(no reason)")


# ----------------------------------------------------------------------------------- secrets
SECRET_MARK = "[secret]"
MIN_SECRET_LEN = 6
"""Shorter values are not treated as secrets (they would blank common words)."""
SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|CREDENTIAL|"
                         r"MACAROON_HEX|NOTIFY_URLS?|AUTHORIZATION)", re.IGNORECASE)
"""Environment variables whose values are secrets (not ``MCP_WEB_AUTH``: its value ``proxy``
names a mode, and masking it hid the word "proxy" in every log line)."""
_URL_CREDENTIALS = re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://)[^/\s:@]+(?::[^/\s@]*)?@")
_BEARER = re.compile(r"(?i)\b(bearer|token)(\s+|=)[A-Za-z0-9._~+/=-]{8,}")

_secrets: set[str] = set()
_secrets_lock = threading.Lock()
_pattern: re.Pattern[str] | None = None


def add_secret(value: str | bytes | None) -> None:
    """Never write ``value`` (nor, for bytes, their hex or base64) to any log."""
    if not value:
        return
    forms: set[str] = set()
    if isinstance(value, bytes):
        forms |= {value.hex(), value.hex().upper(), base64.b64encode(value).decode()}
        try:
            forms.add(value.decode())
        except UnicodeDecodeError:
            pass
    else:
        forms.add(value)
        if re.fullmatch(r"[0-9a-fA-F]+", value):
            forms |= {value.lower(), value.upper()}
    global _pattern
    with _secrets_lock:
        before = len(_secrets)
        _secrets.update(f for f in forms if len(f.strip()) >= MIN_SECRET_LEN)
        if len(_secrets) != before:
            ordered = sorted(_secrets, key=len, reverse=True)
            _pattern = re.compile("|".join(re.escape(s) for s in ordered))


def register_env_secrets(environ: Mapping[str, str] | None = None) -> None:
    """Treat as secrets the values of variables named like keys, tokens and passwords (every
    URL of a list, too) and the content of the macaroon file named by ``MCP_LND_MACAROON``."""
    env = os.environ if environ is None else environ
    for name, value in env.items():
        if SECRET_NAME.search(name) and value.strip():
            add_secret(value.strip())
            for part in re.split(r"[\s,]+", value):
                add_secret(part)
    path = env.get("MCP_LND_MACAROON", "").strip()
    if path:
        try:
            with open(path, "rb") as fh:
                add_secret(fh.read(1 << 16))
        except OSError:
            pass  # told by the LND settings when they are read


def redact(text: str) -> str:
    """``text`` with every registered secret, URL credential and bearer token replaced."""
    if not text:
        return text
    pattern = _pattern
    if pattern is not None:
        text = pattern.sub(SECRET_MARK, text)
    text = _URL_CREDENTIALS.sub(lambda m: m.group(1) + SECRET_MARK + "@", text)
    return _BEARER.sub(lambda m: m.group(1) + m.group(2) + SECRET_MARK, text)


def _redacted_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list | tuple):
        return [_redacted_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _redacted_value(v) for k, v in value.items()}
    if isinstance(value, bool | int | float) or value is None:
        return value
    return redact(str(value))


def exception_text(record: Mapping[str, Any]) -> str:
    """The record's traceback (code lines and the exception, no local values), redacted."""
    exc = record["exception"]
    if exc is None or exc.type is None:
        return ""
    lines = traceback.format_exception(exc.type, exc.value, exc.traceback)
    return redact("".join(lines))


# ------------------------------------------------------------------------------------- sinks
SINK_OPTIONS = {"diagnose": False, "backtrace": False}
"""Options of every production log sink: loguru's ``diagnose`` prints the values of local
variables in a traceback (a secret held in one would reach service.log), ``backtrace`` the
frames above the catching one. Off: a traceback shows the code and the exception only."""


def _human(fmt: str) -> Callable[[Any], str]:
    def format_line(record: Any) -> str:
        record["message"] = redact(record["message"])
        record["extra"]["_exc"] = exception_text(record)
        return fmt + "\n{extra[_exc]}"

    return format_line


def json_line(record: Any) -> str:
    """One JSON object for ``record`` (its bound fields included), redacted."""
    t = record["time"]
    obj: dict[str, Any] = {
        "time": t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}"
                + t.strftime("%z"),
        "ts": round(t.timestamp(), 3),
        "level": record["level"].name,
        "message": redact(record["message"]),
        "logger": record["name"],
        "line": record["line"],
    }
    for key, value in record["extra"].items():
        if not key.startswith("_") and key not in obj:
            obj[key] = _redacted_value(value)
    exc = exception_text(record)
    if exc:
        obj["exception"] = exc
    return json.dumps(obj, ensure_ascii=False, default=str)


def _json_format(record: Any) -> str:
    record["extra"]["_json"] = json_line(record)
    return "{extra[_json]}\n"


def add_sink(sink, **options):  # noqa: ANN001, ANN201 - loguru's sink and handler id
    """``logger.add`` with :data:`SINK_OPTIONS` (which cannot be overridden by ``options``);
    a format string (loguru's default when none) is applied with every line redacted and its
    traceback printed by :func:`exception_text`."""
    fmt = options.pop("format", None)
    if fmt is None or isinstance(fmt, str):
        fmt = _human(fmt or "{time:YYYY-MM-DD HH:mm:ss.SSS} | {level: <8} | {name}:{function}:"
                            "{line} - {message}")
    return logger.add(sink, format=fmt, **{**options, **SINK_OPTIONS})


def add_json_sink(path: Path, level: str = "DEBUG", max_mb: float = 10, keep: int = 5) -> int:
    """The JSON-lines sink at ``path``, rotated at ``max_mb`` MB keeping ``keep`` old files."""
    return add_sink(path, level=level, format=_json_format, rotation=int(max_mb * 1_000_000),
                    retention=keep, enqueue=False, encoding="utf-8")


class LogSettingsError(ValueError):
    """A log setting that cannot be used; the message names it."""


LEVELS = ("DEBUG", "INFO", ACTION, "WARNING", "ERROR", "CRITICAL")
LEVEL_ALIASES = {"WARN": "WARNING", "ERR": "ERROR", "CRIT": "CRITICAL"}


def level_name(text: str, setting: str = "level") -> str:
    """A level's loguru name from the operator's spelling (``warn``, ``action``...)."""
    name = text.strip().upper()
    name = LEVEL_ALIASES.get(name, name)
    if name not in LEVELS:
        raise LogSettingsError(
            f"{setting} {text!r} is not a log level (one of {', '.join(LEVELS)})")
    return name


@dataclass(frozen=True)
class LogSettings:
    level: str = "INFO"
    """The stderr sink's level (``MCP_LOG_LEVEL``); the files always hold DEBUG and up."""
    max_mb: float = 10.0
    """A log file is rotated past this size (``MCP_LOG_MAX_MB``)."""
    keep: int = 5
    """Rotated files kept of each log (``MCP_LOG_KEEP``)."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> LogSettings:
        env = os.environ if environ is None else environ
        level = env.get("MCP_LOG_LEVEL", "").strip()
        name = level_name(level, "MCP_LOG_LEVEL") if level else "INFO"
        max_mb, keep = 10.0, 5
        text = env.get("MCP_LOG_MAX_MB", "").strip()
        if text:
            try:
                max_mb = float(text)
            except ValueError:
                max_mb = -1.0
            if not 0.01 <= max_mb <= 10_000:
                raise LogSettingsError(f"MCP_LOG_MAX_MB={text!r} is not a size in MB "
                                       "(0.01 to 10000)")
        text = env.get("MCP_LOG_KEEP", "").strip()
        if text:
            if not text.isdigit() or not 1 <= int(text) <= 1000:
                raise LogSettingsError(f"MCP_LOG_KEEP={text!r} is not a number of files "
                                       "(1 to 1000)")
            keep = int(text)
        return cls(level=name, max_mb=max_mb, keep=keep)


def configure_service_logging(data_dir: Path, settings: LogSettings | None = None) -> None:
    """The service's sinks: stderr (human), ``service.log`` (human) and ``service.jsonl``."""
    s = settings or LogSettings()
    logger.remove()
    add_sink(sys.stderr, level=s.level, format="{time:YYYY-MM-DD HH:mm:ss} {level} {message}")
    add_sink(
        data_dir / LOG_FILE, level="DEBUG", rotation=int(s.max_mb * 1_000_000),
        retention=s.keep, enqueue=False,
        format="{time:YYYY-MM-DD HH:mm:ss.SSS} {level} {name}:{line} {message}",
    )
    add_json_sink(data_dir / JSON_LOG_FILE, "DEBUG", s.max_mb, s.keep)


ensure_levels()
