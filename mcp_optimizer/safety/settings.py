"""Safety settings read from the environment, and the kill switch's sources.

- ``MCP_MAX_CHANGES_PER_HOUR`` (default 6) and ``MCP_MAX_CHANGES_PER_DAY`` (default 48): global
  caps on the service's own policy changes, all channels together (gossip hygiene: every
  change is a channel_update gossiped to the whole network). When neither is set, both grow
  with the node (``gates.Limits.sized``: ``pricing.gossip_budget_per_channel_day`` changes a
  day per open channel, a quarter of that an hour); a value set is kept as given.
- ``MCP_PAUSED``: read once at start; ``1``/``true``/``yes``/``on`` start the service paused,
  ``0``/``false``/``no``/``off``/empty do not; anything else is an error naming the variable.
- The file ``<data dir>/PAUSED`` (any content) pauses while it exists, checked before each write.
- The control socket / CLI ``pause``: recorded in the journal, survives restarts until resumed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mcp_optimizer.messages.journal import PauseState

from .gates import Limits

PAUSE_FILE = "PAUSED"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


class SettingsError(ValueError):
    """A setting that cannot be used; the message names the variable and the value."""


def _int_env(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name)
    if raw is None:
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise SettingsError(f"{name}={raw!r}: expected a whole number") from None
    if value < 0:
        raise SettingsError(f"{name}={raw!r}: expected 0 or more")
    return value


def limits_from_env(environ: Mapping[str, str] | None = None) -> Limits:
    env = os.environ if environ is None else environ
    return Limits(
        max_changes_per_hour=_int_env(env, "MCP_MAX_CHANGES_PER_HOUR", 6),
        max_changes_per_day=_int_env(env, "MCP_MAX_CHANGES_PER_DAY", 48),
        # the operator's caps are kept as given; the defaults grow with the node
        scaled="MCP_MAX_CHANGES_PER_HOUR" not in env and "MCP_MAX_CHANGES_PER_DAY" not in env,
    )


def paused_from_env(environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    raw = env.get("MCP_PAUSED", "")
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise SettingsError(f"MCP_PAUSED={raw!r}: expected 1/true/yes/on or 0/false/no/off")


@dataclass(frozen=True)
class PauseSources:
    """Where the kill switch is read from (the API source lives in the journal)."""

    data_dir: Path
    env_paused_at_start: bool

    def state(self, api_paused: bool, api_reason: str = "") -> PauseState:
        sources = []
        if api_paused:
            sources.append("api")
        if self.env_paused_at_start:
            sources.append("env MCP_PAUSED")
        flag = self.data_dir / PAUSE_FILE
        if flag.exists():
            sources.append(f"file {flag}")
        return PauseState(
            paused=bool(sources), sources=sources, reason=api_reason if api_paused else ""
        )
