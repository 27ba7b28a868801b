"""Which runs a backtest needs, run on a pool of worker processes, and the grids resolved.

Strategies named by the operator become runs per seed: ``best-static`` is every fee of
:data:`~.strategies.STATIC_GRID`, ``best-competitor`` every multiple of
:data:`~.strategies.COMPETITOR_GRID`, and ``oracle`` needs ``keep`` and both grids first (its
fee for each channel is the fee of the run, among those, in which that channel earned most),
then one run of its own. A grid's result for a seed is its best run on that seed; the
oracle's is the best of its own run and every candidate run (each is a fixed fee per channel
found in hindsight), so it is a ceiling for a fixed fee, not a guess.

Runs are independent (a fresh service, simulator and journal each), so they go to a pool of
worker processes (``workers``, default: the CPUs); the oracle's run of a seed starts as soon as
its candidates are done. Every run is deterministic for its seed, so the pool's order does not
change any figure.
"""

from __future__ import annotations

import ctypes
import multiprocessing as mp
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from multiprocessing.managers import SyncManager

from .harness import CYCLE_S, DAY_S, BacktestError, RunResult, RunSpec, run_one
from .strategies import COMPETITOR_GRID, STATIC_GRID, check_name

PR_SET_PDEATHSIG = 1
"""Linux prctl option: the signal a process gets when its parent ends."""


@dataclass(frozen=True)
class Plan:
    scenario: str
    seeds: tuple[int, ...]
    days: float
    strategies: tuple[str, ...]
    """Normalised names as asked (the first is the one compared with the others)."""
    static_grid: tuple[int, ...] = STATIC_GRID
    competitor_grid: tuple[float, ...] = COMPETITOR_GRID

    def grid(self, name: str) -> list[str]:
        if name == "best-static":
            return [f"static:{p}" for p in self.static_grid]
        if name == "best-competitor":
            return [f"competitor:{k:g}" for k in self.competitor_grid]
        if name == "oracle":
            return ["keep", *self.grid("best-static"), *self.grid("best-competitor")]
        return [name]

    def first_runs(self) -> list[str]:
        """Single runs per seed before any oracle run (no duplicates, in a stable order)."""
        names: list[str] = []
        for s in self.strategies:
            for r in self.grid(s):
                if r not in names:
                    names.append(r)
        return names

    @property
    def cycles_per_run(self) -> int:
        return max(1, int(round(self.days * DAY_S / CYCLE_S)))

    @property
    def total_runs(self) -> int:
        oracle = 1 if "oracle" in self.strategies else 0
        return len(self.seeds) * (len(self.first_runs()) + oracle)


def seeds_of(scenario: str, count: int) -> tuple[int, ...]:
    """``count`` seeds: the scenario's own, then the next integers (reproducible)."""
    base = _scenario_seed(scenario)
    return tuple(base + i for i in range(count))


def _scenario_seed(scenario: str) -> int:
    from mcp_optimizer.simulator.scenario import load_scenario

    return load_scenario(scenario).seed


def oracle_fees(candidates: Sequence[RunResult]) -> dict[int, int]:
    """Per channel, the fee it ended with in the candidate run where it earned most."""
    fees: dict[int, int] = {}
    best: dict[int, int] = {}
    for run in candidates:
        for cid, fee in run.final_fees.items():
            earned = run.channel_revenue_msat.get(cid, 0)
            if cid not in best or earned > best[cid]:
                best[cid], fees[cid] = earned, fee
    return fees


@dataclass
class Outcome:
    """Every run's result, and each asked strategy's result per seed."""

    plan: Plan
    runs: list[RunResult]
    by_strategy: dict[str, dict[int, RunResult]] = field(default_factory=dict)
    """Asked name -> seed -> the run standing for it (a grid's best run)."""
    chosen: dict[str, dict[int, str]] = field(default_factory=dict)
    """For grid names: seed -> the run that won."""
    wall_s: float = 0.0
    workers: int = 1


def resolve(plan: Plan, runs: list[RunResult]) -> Outcome:
    out = Outcome(plan=plan, runs=runs)
    index = {(r.label, r.seed): r for r in runs}
    for name in plan.strategies:
        out.by_strategy[name] = {}
        for seed in plan.seeds:
            pool = [index[(n, seed)] for n in plan.grid(name) if (n, seed) in index]
            if name == "oracle" and ("oracle", seed) in index:
                pool.append(index[("oracle", seed)])
            if not pool:
                continue
            best = max(pool, key=lambda r: r.revenue_msat)
            out.by_strategy[name][seed] = best
            if name in ("best-static", "best-competitor", "oracle"):
                out.chosen.setdefault(name, {})[seed] = best.label
    return out


def _die_with_parent() -> None:
    """A worker outliving a backtest killed by a signal would go on running its runs on the
    CPUs: on Linux each worker is sent SIGTERM when the process that started it ends
    (``prctl(PR_SET_PDEATHSIG)``); elsewhere nothing."""
    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass
    if os.getppid() == 1:  # the parent ended before the call: nobody will read the results
        os._exit(1)


def _worker(spec: RunSpec, ticks) -> RunResult:
    try:
        return run_one(spec, progress=lambda n: ticks.put(1))
    except BacktestError:
        raise
    except Exception as exc:  # noqa: BLE001 - named with its run, in one line
        raise BacktestError(
            f"run {spec.label} seed {spec.seed} failed: {type(exc).__name__}: "
            f"{' '.join(str(exc).split())}"
        ) from None


class Progress:
    """A one-line progress bar on stderr (cycles of all runs), redrawn at most 5 times a
    second; silent when ``enabled`` is false."""

    def __init__(self, total_cycles: int, total_runs: int, enabled: bool = True) -> None:
        self.total = max(1, total_cycles)
        self.runs = total_runs
        self.done = 0
        self.runs_done = 0
        self.enabled = enabled
        self.t0 = time.monotonic()
        self._last = 0.0

    def tick(self, n: int = 1, force: bool = False) -> None:
        self.done += n
        now = time.monotonic()
        if not self.enabled or (not force and now - self._last < 0.2):
            return
        self._last = now
        frac = min(1.0, self.done / self.total)
        width = 30
        bar = "#" * int(frac * width) + "." * (width - int(frac * width))
        spent = now - self.t0
        eta = spent / frac - spent if frac > 0 else 0.0
        sys.stderr.write(
            f"\rbacktest [{bar}] {frac:6.1%}  runs {self.runs_done}/{self.runs}  "
            f"{spent:5.0f} s, about {eta:4.0f} s left "
        )
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            self.tick(0, force=True)
            sys.stderr.write("\n")
            sys.stderr.flush()


def execute(plan: Plan, workers: int | None = None, progress: bool = True,
            run: Callable[[RunSpec], RunResult] | None = None,
            on_result: Callable[[RunResult], None] = lambda r: None,
            done: Sequence[RunResult] = ()) -> Outcome:
    """Every run of ``plan`` on ``workers`` processes (1: in this process); ``on_result`` is
    told each run as it finishes (a long benchmark keeps what it measured). ``done``: runs
    of this plan measured before (same scenario, days and code), used instead of running
    them again; the caller vouches that they came from the same tree."""
    workers = workers or os.cpu_count() or 1
    labels = {*plan.first_runs(), *(("oracle",) if "oracle" in plan.strategies else ())}
    have = {(r.seed, r.label): r for r in done
            if r.scenario == plan.scenario and r.days == plan.days and r.seed in plan.seeds
            and r.label in labels}
    specs = [
        RunSpec(plan.scenario, seed, plan.days, name, label=name)
        for seed in plan.seeds for name in plan.first_runs() if (seed, name) not in have
    ]
    bar = Progress((plan.total_runs - len(have)) * plan.cycles_per_run,
                   plan.total_runs - len(have), progress)
    started = time.monotonic()
    results: list[RunResult] = list(have.values())
    oracle = "oracle" in plan.strategies

    def oracle_spec(seed: int) -> RunSpec | None:
        if not oracle:
            return None
        names = set(plan.grid("oracle"))
        cands = [r for r in results if r.seed == seed and r.label in names]
        if len(cands) < len(names):
            return None
        return RunSpec(plan.scenario, seed, plan.days, "oracle",
                       fixed_fees=oracle_fees(cands), label="oracle")

    launched: set[int] = {seed for seed, label in have if label == "oracle"}
    ready = [spec for spec in (oracle_spec(seed) for seed in plan.seeds if seed not in launched)
             if spec is not None]  # seeds whose candidates were all measured before
    launched.update(spec.seed for spec in ready)
    if workers <= 1:
        for spec in ready + specs:
            results.append(_run_here(spec, bar, run))
            on_result(results[-1])
            extra = None if spec.seed in launched else oracle_spec(spec.seed)
            if extra is not None:
                launched.add(spec.seed)
                results.append(_run_here(extra, bar, run))
                on_result(results[-1])
    else:
        ctx = mp.get_context("spawn")  # no fork of a process holding threads
        manager = SyncManager(ctx=ctx)
        manager.start(_die_with_parent)
        with manager, ProcessPoolExecutor(
            workers, mp_context=ctx, initializer=_die_with_parent
        ) as pool:
            ticks = manager.Queue()
            stop = threading.Event()

            def drain() -> None:
                while not stop.is_set():
                    try:
                        ticks.get(timeout=0.2)
                    except queue.Empty:
                        continue
                    bar.tick()

            drainer = threading.Thread(target=drain, daemon=True)
            drainer.start()
            pending: set[Future] = {pool.submit(_worker, s, ticks) for s in ready + specs}
            try:
                while pending:
                    finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for fut in finished:
                        r = fut.result()
                        results.append(r)
                        on_result(r)
                        bar.runs_done += 1
                        extra = None if r.seed in launched else oracle_spec(r.seed)
                        if extra is not None:
                            launched.add(r.seed)
                            pending.add(pool.submit(_worker, extra, ticks))
            except BaseException:
                for fut in pending:
                    fut.cancel()
                raise
            finally:
                stop.set()
                drainer.join(2)
    bar.close()
    out = resolve(plan, sorted(results, key=lambda r: (r.seed, r.label)))
    out.wall_s = time.monotonic() - started
    out.workers = workers
    return out


def _run_here(spec: RunSpec, bar: Progress, run) -> RunResult:
    result = (run or (lambda s: run_one(s, progress=lambda n: bar.tick())))(spec)
    bar.runs_done += 1
    return result


def make_plan(scenario: str, seeds: int, days: float, strategy: str,
              compare: Sequence[str], static_grid=STATIC_GRID,
              competitor_grid=COMPETITOR_GRID) -> Plan:
    names: list[str] = []
    for n in (strategy, *compare):
        n = check_name(n)
        if n not in names:
            names.append(n)
    return Plan(scenario=scenario, seeds=seeds_of(scenario, seeds), days=days,
                strategies=tuple(names), static_grid=tuple(static_grid),
                competitor_grid=tuple(competitor_grid))
