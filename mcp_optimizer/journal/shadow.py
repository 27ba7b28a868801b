"""The shadow report with its effect estimate, from a journal and a node's forwarding history.

Shared by the running service (``ShadowReportRequest`` on the control socket: its journal, its
clock, its node) and by the CLI when no service runs (the journal read-only, the node named by
``MCP_LND_*``). The estimate itself is pure: :mod:`.effect`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from itertools import chain

from mcp_optimizer.messages.journal import ShadowReport
from mcp_optimizer.messages.node import ForwardingEvent
from mcp_optimizer.messages.shadow_effect import EffectNotEstimated, ShadowEffect, WouldBePeriod
from mcp_optimizer.providers.lnd.errors import LndError

from .effect import estimate_effect
from .reports import shadow_report
from .store import Journal

NO_NODE = (
    "effect not estimated: no node to read forwarding history from (no running service, no "
    "MCP_LND_* settings)"
)

EffectFn = Callable[[list[WouldBePeriod]], ShadowEffect]
PageReader = Callable[[int, int], Iterable[list[ForwardingEvent]]]
"""``(start_s, end_s) -> pages of forwards``: ``LndClient.forwarding_event_pages``."""


def not_estimated(reason: str) -> EffectFn:
    """An effect that says why there is no estimate."""
    return lambda periods: EffectNotEstimated(reason=reason)


def from_history(read_pages: PageReader, source: str, since_s: int, until_s: int) -> EffectFn:
    """An effect estimated on the forwards ``read_pages`` gives for ``[since_s, until_s)``,
    read page by page (never all held at once). A failed read gives the reason instead."""

    def effect(periods: list[WouldBePeriod]) -> ShadowEffect:
        if not periods:  # no channel in the report: nothing to read
            return estimate_effect([], [], source)
        try:
            return estimate_effect(
                periods, chain.from_iterable(read_pages(since_s, until_s)), source
            )
        except (LndError, OSError) as exc:
            return EffectNotEstimated(
                reason=f"effect not estimated: the forwarding history could not be read from "
                f"{source}: {exc}"
            )

    return effect


def build_shadow_report(
    journal: Journal, since_s: int, until_s: int, effect: EffectFn
) -> ShadowReport:
    """The shadow report over ``[since_s, until_s]`` from ``journal``, its effect by ``effect``."""
    return shadow_report(
        journal.changes(since_s=since_s), journal.known_policies(), since_s, until_s, effect
    )
