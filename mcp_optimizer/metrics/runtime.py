"""Series of the running service that the journal does not hold: the supervisor's view of its
actors, the kill switch's sources, and the cycles' timings and forwarding totals as the cycle
runner saw them.

Read at each scrape from their owners (no copy kept):

- ``mcp_actor_up{actor}`` (1 while running), ``mcp_actor_restarts_total{actor}``,
  ``mcp_actor_crashes_total{actor}``: the supervisor's records (the actors are a fixed set).
- ``mcp_safe_mode`` (1 while an escalation holds every write).
- ``mcp_paused`` (1 while the kill switch is on) and ``mcp_pause_source{source}``
  (``api``, ``env``, ``file``).

Observed by :class:`CycleTimings` as cycles run (they exist nowhere else; a restart starts
them again, as Prometheus expects of counters):

- ``mcp_cycle_duration_seconds`` (histogram of whole cycles) and
  ``mcp_cycle_stage_duration_seconds{stage}`` (ingestion, observation, journal lookup,
  preprocessing, scorer, decider, actuator: the last observed once per decision acted on).
- ``mcp_forwards{window}`` and ``mcp_routing_fees_earned_msat{window}``: the forwards and fees
  (msat) over the policy's ``recent`` and ``history`` windows that the latest ingestion read,
  with ``mcp_forwarding_window_seconds{window}``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

CYCLE_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)
STAGE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
                 300.0)
STAGES = ("ingestion", "observation", "journal lookup", "preprocessing", "scorer", "decider",
          "actuator")
"""The stages the cycle runner names (``runtime/cycle.py``)."""


class SupervisorCollector:
    """Actors, safe mode and pause, read from ``supervisor`` and ``pause_state`` at scrape."""

    def __init__(self, supervisor: Any, pause_state: Callable[[], Any] | None = None) -> None:
        self.supervisor = supervisor
        self.pause_state = pause_state

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("mcp_actor_up", "1 while the actor runs, else 0.",
                               labels=["actor"])
        restarts = CounterMetricFamily(
            "mcp_actor_restarts", "Times the supervisor restarted the actor.", labels=["actor"])
        crashes = CounterMetricFamily(
            "mcp_actor_crashes", "Times the actor crashed.", labels=["actor"])
        for record in self.supervisor.snapshot():
            name = record.spec.name
            up.add_metric([name], 1.0 if record.state.value == "running" else 0.0)
            restarts.add_metric([name], record.restarts)
            crashes.add_metric([name], record.crashes)
        yield up
        yield restarts
        yield crashes
        yield GaugeMetricFamily(
            "mcp_safe_mode", "1 while safe mode holds every write (an actor escalated).",
            value=1.0 if self.supervisor.safe_mode.active else 0.0)
        if self.pause_state is not None:
            state = self.pause_state()
            yield GaugeMetricFamily(
                "mcp_paused", "1 while the kill switch stops every write to the node.",
                value=1.0 if state.paused else 0.0)
            sources = GaugeMetricFamily(
                "mcp_pause_source", "1 for each source holding the pause (api, env, file).",
                labels=["source"])
            held = {s.split(" ", 1)[0] for s in state.sources}
            for source in ("api", "env", "file"):
                sources.add_metric([source], 1.0 if source in held else 0.0)
            yield sources


class CycleTimings:
    """The cycle runner's observer: durations as histograms, the latest forwarding totals."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.cycle = Histogram(
            "mcp_cycle_duration_seconds", "Duration of whole evaluation cycles.",
            buckets=CYCLE_BUCKETS, registry=registry)
        self.stage = Histogram(
            "mcp_cycle_stage_duration_seconds",
            "Duration of each stage of a cycle (actuator: once per decision acted on).",
            ["stage"], buckets=STAGE_BUCKETS, registry=registry)
        for stage in STAGES:
            self.stage.labels(stage)
        self._lock = threading.Lock()
        self._forwarding: dict[str, tuple[int, int, int]] = {}
        registry.register(_ForwardingCollector(self))

    # called by CycleRunner (worker thread)
    def stage_done(self, stage: str, seconds: float) -> None:
        self.stage.labels(stage if stage in STAGES else "other").observe(seconds)

    def cycle_done(self, seconds: float) -> None:
        self.cycle.observe(seconds)

    def node_data(self, recent_window_s: int, history_window_s: int, stats: list[Any]) -> None:
        """Totals of the latest ingestion's ``ForwardingStats`` per window."""
        totals: dict[str, tuple[int, int, int]] = {}
        for name, window_s in (("recent", recent_window_s), ("history", history_window_s)):
            chosen = [s for s in stats if s.window_s == window_s]
            totals[name] = (
                window_s,
                sum(s.forwards_out for s in chosen),
                sum(s.fees_earned_msat for s in chosen),
            )
        with self._lock:
            self._forwarding = totals

    def forwarding(self) -> dict[str, tuple[int, int, int]]:
        with self._lock:
            return dict(self._forwarding)


class _ForwardingCollector:
    def __init__(self, timings: CycleTimings) -> None:
        self.timings = timings

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        data = self.timings.forwarding()
        forwards = GaugeMetricFamily(
            "mcp_forwards", "Forwards over the window the latest ingestion read (all channels).",
            labels=["window"])
        fees = GaugeMetricFamily(
            "mcp_routing_fees_earned_msat",
            "Routing fees earned (msat) over the window the latest ingestion read.",
            labels=["window"])
        windows = GaugeMetricFamily(
            "mcp_forwarding_window_seconds", "Length of each forwarding window.",
            labels=["window"])
        for name, (window_s, n, msat) in sorted(data.items()):
            forwards.add_metric([name], n)
            fees.add_metric([name], msat)
            windows.add_metric([name], window_s)
        yield forwards
        yield fees
        yield windows
