"""What the service can tell the operator, and one message."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class EventKind(enum.Enum):
    """An event the operator may be told of; the values are ``MCP_NOTIFY_EVENTS``' names."""

    CHANGES_APPLIED = "changes_applied"
    """Live fee changes written and verified, one message per cycle."""
    MISMATCH = "mismatch"
    """A policy read back after a write differed from what was written."""
    EXTERNAL_CHANGE = "external_change"
    """Someone else changed a policy on the node."""
    ROLLBACK = "rollback"
    """A rollback was written to the node."""
    WRITES_HELD = "writes_held"
    """Changes held by the circuit breaker (an unacknowledged crash) or safe mode."""
    CLOSE_RECOMMENDED = "close_recommended"
    """The engine recommends (or made) the close of a channel."""
    CYCLE_FAILED = "cycle_failed"
    """A cycle failed at a stage other than reading the node."""
    NODE_UNREACHABLE = "node_unreachable"
    """The cycle could not read the node (its ingestion failed)."""
    MODE = "mode"
    """The mode changed (shadow, dry-run, live)."""
    PAUSE = "pause"
    """The kill switch was set or lifted over the API."""
    CRASH = "crash"
    """An actor crashed and was restarted; live writes wait for ack-crash."""
    SAFE_MODE = "safe_mode"
    """Safe mode entered (restart intensity exceeded) or cleared."""
    STARTED = "started"
    """The service started (after a stop, a crash or an upgrade)."""
    DIGEST = "digest"
    """The daily digest (``MCP_NOTIFY_DIGEST_HOUR``)."""


ALL_KINDS = frozenset(EventKind)


@dataclass(frozen=True)
class Notice:
    """One message to send: its event, a title and a plain-text body."""

    kind: EventKind
    title: str
    body: str
