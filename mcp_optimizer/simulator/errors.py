"""Errors of the simulator model."""

from __future__ import annotations


class ScenarioError(ValueError):
    """A scenario that cannot be used; the message is one sentence naming what was wrong."""
