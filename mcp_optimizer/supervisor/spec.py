"""Supervision described as data: what to start, when to restart it, how often is too often."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pykka

    from .supervisor import ActorContext


class Restart(enum.Enum):
    """When a child is restarted (OTP's restart types)."""

    PERMANENT = "permanent"
    """Always restarted, whether it crashed or stopped by itself."""
    TRANSIENT = "transient"
    """Restarted only when it crashed; a child that stops by itself stays stopped."""
    TEMPORARY = "temporary"
    """Never restarted."""


class Strategy(enum.Enum):
    """Which children a supervisor restarts when one of them exits."""

    ONE_FOR_ONE = "one_for_one"
    """Only the child that exited."""
    ONE_FOR_ALL = "one_for_all"
    """Every child (for children that cannot work without each other)."""


@dataclass(frozen=True)
class Intensity:
    """At most ``max_restarts`` restarts of one child within ``period_s`` seconds."""

    max_restarts: int = 3
    period_s: float = 10.0

    def __post_init__(self) -> None:
        if self.max_restarts < 0:
            raise ValueError(f"max_restarts must be 0 or more, got {self.max_restarts}")
        if not self.period_s > 0:
            raise ValueError(f"period_s must be more than 0, got {self.period_s}")


@dataclass(frozen=True)
class ChildSpec:
    """One child of a supervisor.

    ``factory`` receives the child's :class:`ActorContext` (its name, the registry to reach
    its peers by name, the crash reporter) and returns the started actor's reference. It is
    called again, with a fresh context, for every restart: a restarted actor starts from a
    clean state.
    """

    name: str
    factory: Callable[[ActorContext], pykka.ActorRef[Any]]
    restart: Restart = Restart.PERMANENT
    intensity: Intensity | None = None
    """Overrides the supervisor's intensity for this child."""
    writes_policy: bool = False
    """A child that writes to the node (the actuator): informational, shown in status."""

    def __post_init__(self) -> None:
        if not self.name or not self.name.replace("-", "_").isidentifier():
            raise ValueError(f"child name must be a simple identifier, got {self.name!r}")
