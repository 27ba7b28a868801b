"""The MCP server's settings: its bearer token and whether acting tools are offered.

- ``MCP_MCP_TOKEN``: the bearer token ``/mcp`` asks for (at least 16 characters). Unset, the
  service makes one at its first start and keeps it in ``<data dir>/mcp-token`` (mode 0600);
  ``mcp-optimizer mcp`` and the operator read it there.
- ``MCP_MCP_ACTIONS``: ``true`` offers the acting tools (pause, resume, rollback, evaluate
  now); ``false`` (the default) offers only the read tools. A mode change is never offered.

The token is registered with the log's redaction (:func:`mcp_optimizer.logs.add_secret`): it
never reaches a log line.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

TOKEN_VAR = "MCP_MCP_TOKEN"
ACTIONS_VAR = "MCP_MCP_ACTIONS"
TOKEN_FILE = "mcp-token"
MIN_TOKEN = 16
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off", ""}


class McpSettingsError(ValueError):
    """A bad MCP_MCP_* setting (the message names it)."""


@dataclass(frozen=True)
class McpSettings:
    actions: bool
    """Offer the acting tools (MCP_MCP_ACTIONS)."""
    token: str
    """The bearer token given in MCP_MCP_TOKEN ('' when unset: the data dir's file is used)."""


def load_mcp_settings(env: Mapping[str, str]) -> McpSettings:
    """The settings, or :class:`McpSettingsError` in one line naming the variable."""
    raw = env.get(ACTIONS_VAR, "").strip().lower()
    if raw not in _TRUE | _FALSE:
        raise McpSettingsError(f"{ACTIONS_VAR}={raw[:20]!r}: expected true or false")
    token = env.get(TOKEN_VAR, "").strip()
    if token and len(token) < MIN_TOKEN:
        raise McpSettingsError(f"{TOKEN_VAR} is {len(token)} characters, expected at least "
                               f"{MIN_TOKEN}")
    if token and (not token.isprintable() or " " in token):
        raise McpSettingsError(f"{TOKEN_VAR} holds spaces or control characters")
    return McpSettings(actions=raw in _TRUE, token=token)


def token_path(data_dir: Path) -> Path:
    return data_dir / TOKEN_FILE


def read_token(data_dir: Path) -> str:
    """The token kept in the data dir, or '' when there is none (nor a readable file)."""
    try:
        return token_path(data_dir).read_text().strip()
    except (FileNotFoundError, PermissionError, IsADirectoryError):
        return ""


def service_token(settings: McpSettings, data_dir: Path) -> str:
    """The token ``/mcp`` asks for: MCP_MCP_TOKEN, else the data dir's file, made (0600,
    written whole) when missing."""
    from mcp_optimizer.logs import add_secret

    token = settings.token or read_token(data_dir)
    if not token:
        token = secrets.token_urlsafe(32)
        path = token_path(data_dir)
        tmp = path.with_name(path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(token + "\n")
        os.replace(tmp, path)
    add_secret(token)
    return token
