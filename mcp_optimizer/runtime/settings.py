"""The service's settings, from the environment. Anything invalid is refused with a sentence.

``MCP_DATA_DIR``
    Where the journal, the control socket, the log file and the embedded simulator's state
    live (default ``./var``, as the journal verbs use).
``MCP_CONTROL_SOCKET``
    The control socket's path (default ``<data dir>/control.sock``).
``MCP_POLICY_FILE``
    A policy YAML file laid over the default policy (default: none).
``MCP_CYCLE_INTERVAL_S``
    Seconds between full cycles (default 21600, 6 h).
``MCP_EVENT_DEBOUNCE_S`` / ``MCP_EVENT_MAX_DELAY_S`` / ``MCP_EVENT_MIN_INTERVAL_S``
    Quiet time after node events before the cycle they ask for (default 30), the longest
    wait after the first event of a storm (default 300), and the shortest time between two
    cycles asked by events (default 1800); events never move the 6-hourly schedule.
``MCP_FAILURE_BURST``
    ``COUNT/SECONDS``: forwarding failures that count as a burst (default ``20/60``).
``MCP_RESTART_INTENSITY``
    ``RESTARTS/SECONDS``: most restarts of one actor in that time before safe mode
    (default ``3/60``).
``MCP_HTTP_HOST`` / ``MCP_HTTP_PORT``
    Where the HTTP server (health, metrics, the web page) listens: default ``127.0.0.1`` and
    ``8731``; port ``0`` takes a free port (written to ``<data dir>/http-address``); ``off``
    as the port runs no HTTP server.
``MCP_LOG_LEVEL`` / ``MCP_LOG_MAX_MB`` / ``MCP_LOG_KEEP``
    The stderr log's level (default INFO; the files hold DEBUG and up), the size a log file is
    rotated at (default 10 MB) and how many rotated files are kept (default 5); see
    ``mcp_optimizer/logs.py``.
``MCP_CENTRALITY_PIVOTS``
    The first local centrality computation at start is estimated from this many sampled
    pivots (default 1024) where the graph is large enough for that to save most of the work
    (at least four times as many BFS sources; a mainnet-sized graph), and the exact one follows
    in the background; 0: exact from the start.
``MCP_SIM_SCENARIO`` / ``MCP_SIM_SPEED``
    Without LND settings (no ``MCP_LND_*`` variable), the embedded simulator runs this scenario
    (default ``demo``), its clock advancing this many simulated seconds per second (default 1,
    at most 100000).

Every duration is at most 10 years; ``inf`` and ``nan`` are refused. ``run`` checks these and
every other setting (providers, policy, LND or scenario: :func:`check_start`) before it starts
or writes anything.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mcp_optimizer.logs import LogSettings, LogSettingsError
from mcp_optimizer.safety.settings import SettingsError as SafetySettingsError
from mcp_optimizer.safety.settings import limits_from_env, paused_from_env
from mcp_optimizer.supervisor import Intensity

from .schedule import ScheduleSettings


class SettingsError(ValueError):
    """A setting that cannot be used; the message names it."""


def data_dir_from_env(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    text = env.get("MCP_DATA_DIR", "").strip()
    return Path(text).expanduser() if text else Path("var")


def control_socket_path(environ: Mapping[str, str] | None = None) -> Path:
    """Where the running service's control socket is (CLI and service agree on it)."""
    env = os.environ if environ is None else environ
    text = env.get("MCP_CONTROL_SOCKET", "").strip()
    return Path(text).expanduser() if text else data_dir_from_env(env) / "control.sock"


MAX_SECONDS = 10 * 365 * 86400.0
"""The longest duration a setting may give (10 years): beyond it a value is a typo, and timers
and clocks would overflow."""

MAX_SIM_SPEED = 100_000.0
"""The fastest embedded simulator clock (simulated seconds per second, about a day a second):
a faster one (``inf``, ``1e308``) overflows the simulated clock."""


def _quoted(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:39] + "\u2026")


def _number(
    env: Mapping[str, str], name: str, default: float, minimum: float,
    maximum: float = MAX_SECONDS,
) -> float:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise SettingsError(f"{name}={_quoted(text)} is not a number") from None
    if not value >= minimum:
        raise SettingsError(f"{name}={_quoted(text)} must be at least {minimum:g}")
    if not value <= maximum:  # also refuses inf and nan
        raise SettingsError(f"{name}={_quoted(text)} must be at most {maximum:g}")
    return value


def _count(env: Mapping[str, str], name: str, default: int) -> int:
    """A whole number from 0 to 1,000,000."""
    value = _number(env, name, float(default), 0.0, 1_000_000.0)
    if value != int(value):
        raise SettingsError(f"{name}={_quoted(env[name].strip())} is not a whole number")
    return int(value)


def _ratio(env: Mapping[str, str], name: str, default: tuple[int, float]) -> tuple[int, float]:
    text = env.get(name, "").strip()
    if not text:
        return default
    count, sep, seconds = text.partition("/")
    try:
        n, s = int(count), float(seconds)
    except ValueError:
        n, s = -1, 0.0
    if not sep or not 0 <= n <= 1_000_000 or not 0 < s <= MAX_SECONDS:
        raise SettingsError(f"{name}={_quoted(text)} is not COUNT/SECONDS (e.g. {default[0]}/"
                            f"{default[1]:g}; at most 1000000/{MAX_SECONDS:g})")
    return n, s


def lnd_configured(environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return any(k.startswith("MCP_LND_") and v.strip() for k, v in env.items())


def _sim_start(env: Mapping[str, str]) -> bool:
    raw = env.get("MCP_SIM_START", "").strip().lower() or "now"
    if raw not in ("now", "scenario"):
        raise SettingsError(
            f"MCP_SIM_START is {env['MCP_SIM_START']!r}: expected 'now' (the embedded "
            "simulator's clock starts at the wall clock) or 'scenario' (at its scenario's date)"
        )
    return raw == "now"


DEFAULT_HTTP_PORT = 8731
DEFAULT_CENTRALITY_PIVOTS = 1024
"""On the 2026 mainnet graph: about 15 % of exact Brandes' work, Spearman 0.996 with it, 9-10
of the top 10 (docs/benchmarks.md, "Session 6")."""
"""The HTTP server's port unless ``MCP_HTTP_PORT`` says otherwise."""


def _http_port(env: Mapping[str, str]) -> int | None:
    text = env.get("MCP_HTTP_PORT", "").strip()
    if not text:
        return DEFAULT_HTTP_PORT
    if text.lower() == "off":
        return None
    if not text.isdigit() or int(text) > 65535:
        raise SettingsError(
            f"MCP_HTTP_PORT={text!r} is not a TCP port (0 to 65535, 0 for a free one, or 'off')"
        )
    return int(text)


def _http_host(env: Mapping[str, str]) -> str:
    text = env.get("MCP_HTTP_HOST", "").strip() or "127.0.0.1"
    if any(c.isspace() or c in "/[]" for c in text):
        raise SettingsError(f"MCP_HTTP_HOST={text!r} is not a host name or IP address")
    return text


def _log_settings(env: Mapping[str, str]) -> LogSettings:
    try:
        return LogSettings.from_env(env)
    except LogSettingsError as exc:
        raise SettingsError(str(exc)) from None


@dataclass(frozen=True)
class ServiceSettings:
    data_dir: Path
    socket_path: Path
    policy_file: Path | None
    schedule: ScheduleSettings
    intensity: Intensity
    use_simulator: bool
    sim_scenario: str
    sim_speed: float
    sim_start_now: bool
    """Start the embedded simulator's clock at the wall clock (MCP_SIM_START=now, the default)
    rather than at its scenario's date (MCP_SIM_START=scenario), so that the journal's times and
    the operator's clock agree."""
    http_host: str = "127.0.0.1"
    """The address the HTTP server binds (MCP_HTTP_HOST)."""
    http_port: int | None = DEFAULT_HTTP_PORT
    """Its port (MCP_HTTP_PORT; 0: a free one; None: no HTTP server)."""
    log: LogSettings = LogSettings()
    """The log sinks' level, rotation and retention (MCP_LOG_*)."""
    centrality_pivots: int = DEFAULT_CENTRALITY_PIVOTS
    """The first centrality's sampled pivots (MCP_CENTRALITY_PIVOTS; 0: exact)."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ServiceSettings:
        env = os.environ if environ is None else environ
        burst_n, burst_s = _ratio(env, "MCP_FAILURE_BURST", (20, 60.0))
        if burst_n < 1:
            raise SettingsError("MCP_FAILURE_BURST needs a COUNT of at least 1")
        restarts, period = _ratio(env, "MCP_RESTART_INTENSITY", (3, 60.0))
        policy = env.get("MCP_POLICY_FILE", "").strip()
        # The write path's own settings, read again by the Actuator: checked here as well, so
        # that a bad value stops the start before a simulator or a journal is opened.
        try:
            paused_from_env(env)
            limits_from_env(env)
        except SafetySettingsError as exc:
            raise SettingsError(str(exc)) from None
        return cls(
            data_dir=data_dir_from_env(env),
            socket_path=control_socket_path(env),
            policy_file=Path(policy).expanduser() if policy else None,
            schedule=ScheduleSettings(
                interval_s=_number(env, "MCP_CYCLE_INTERVAL_S", 6 * 3600.0, 1.0),
                debounce_s=_number(env, "MCP_EVENT_DEBOUNCE_S", 30.0, 0.0),
                max_delay_s=_number(env, "MCP_EVENT_MAX_DELAY_S", 300.0, 1.0),
                event_min_interval_s=_number(env, "MCP_EVENT_MIN_INTERVAL_S", 1800.0, 0.0),
                failure_burst_count=burst_n,
                failure_burst_window_s=burst_s,
            ),
            intensity=Intensity(max_restarts=restarts, period_s=period),
            use_simulator=not lnd_configured(env),
            sim_scenario=env.get("MCP_SIM_SCENARIO", "").strip() or "demo",
            sim_speed=_number(env, "MCP_SIM_SPEED", 1.0, 0.0, MAX_SIM_SPEED),
            sim_start_now=_sim_start(env),
            http_host=_http_host(env),
            http_port=_http_port(env),
            log=_log_settings(env),
            centrality_pivots=_count(env, "MCP_CENTRALITY_PIVOTS", DEFAULT_CENTRALITY_PIVOTS),
        )


def check_start(settings: ServiceSettings, environ: Mapping[str, str] | None = None) -> None:
    """Every other setting a start reads, checked before anything starts or is written (no
    simulator, no data dir, no log line): the providers' (``MCP_PROVIDER_*`` and the rest,
    unknown names refused), the policy (file and ``MCP_POLICY__*``), LND's (``MCP_LND_*``) or
    the embedded simulator's scenario, and the journal's read-only checks. Raises the first
    error, one sentence."""
    from mcp_optimizer.journal.integrity import preflight
    from mcp_optimizer.policies.config import load_policy
    from mcp_optimizer.providers.http import load_provider_settings

    env = os.environ if environ is None else environ
    load_provider_settings(env)
    load_policy(settings.policy_file, env)
    preflight(settings.data_dir)  # a damaged or lost journal: refused before anything runs
    if settings.use_simulator:
        from mcp_optimizer.simulator.scenario import load_scenario

        load_scenario(settings.sim_scenario)
    else:
        from mcp_optimizer.providers.lnd.settings import LndSettings

        LndSettings.from_env(env)
