"""Scenario files: the YAML that describes a simulated node, validated into :class:`Scenario`.

The format and every default are documented in docs/scenarios.md. Unknown keys and unknown
profiles are refused with a :class:`ScenarioError` naming them; nothing is silently defaulted
that the document does not list.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from .errors import ScenarioError
from .profiles import PROFILES

SHIPPED_PACKAGE = "mcp_optimizer.simulator.scenarios"

TOP_KEYS = {
    "seed",
    "start",
    "history_days",
    "allow_positive_inbound",
    "alias",
    "graph",
    "market",
    "groups",
    "description",
}
REQUIRED_TOP = ("seed", "start", "groups")
GRAPH_KEYS = {"source", "nodes", "path", "snapshot"}
# (key, default, lowest, highest): every number of the market model (docs/simulator.md)
MARKET_NUMBERS: tuple[tuple[str, float, float, float], ...] = (
    ("elasticity", 1.0, 0, 10),
    ("elasticity_spread", 0.5, 0, 3),
    ("amount_median_sat", 20_000.0, 1, 10_000_000),
    ("amount_sigma", 1.2, 0, 5),
    ("reference_fee_floor_ppm", 10.0, 1, 100_000),
    ("volume_scale", 1.0, 0, 1000),
    ("attempt_cost_sat", 100.0, 0, 100_000),
    ("attempt_cost_ppm", 1000.0, 0, 100_000),
    ("sender_memory", 0.4, 0, 1),
    ("memory_days", 2.0, 0.01, 365),
    ("failure_share", 0.05, 0, 1),
    ("failure_half_life_s", 3600.0, 1, 30 * 86_400),
    ("gossip_delay_s", 1800.0, 1, 7 * 86_400),
    ("competitor_drift_share", 0.3, 0, 1),
    ("competitor_drift_days", 7.0, 0.1, 3650),
    ("competitor_react_share", 0.1, 0, 1),
    ("competitor_react_days", 2.0, 0.1, 3650),
    ("max_competitors", 24.0, 1, 10_000),
    ("seasonality_weekly", 0.15, 0, 0.9),
    ("seasonality_daily", 0.25, 0, 0.9),
    ("regime_days", 14.0, 0.1, 36_500),
    ("regime_sigma", 0.5, 0, 3),
)
MARKET_KEYS = {k for k, *_ in MARKET_NUMBERS} | {"step_s", "fee_limit_ppm"}
GROUP_KEYS = {
    "profile",
    "count",
    "capacity_sat",
    "balance_ratio",
    "fee_ppm",
    "base_fee_msat",
    "age_days",
    "forwards_per_day",
}

MAX_CHANNELS = 10_000
MAX_SYNTHETIC_NODES = 200_000
MAX_HISTORY_DAYS = 366


@dataclass(frozen=True)
class GroupSpec:
    """A group of our channels sharing a profile."""

    profile: str
    count: int
    capacity_sat: tuple[int, int]
    balance_ratio: tuple[float, float]
    fee_ppm: tuple[int, int] | None
    """Absolute fee rate range; None means the profile's multiple of the reference fee."""
    base_fee_msat: tuple[int, int]
    age_days: tuple[float, float]
    forwards_per_day: float
    """Outgoing forward attempts per day at the reference fee (the profile's unless set)."""


@dataclass(frozen=True)
class GraphSpec:
    source: str
    """``"synthetic"`` or ``"real"``."""
    nodes: int
    """Synthetic graph size (nodes); 0 for a real graph."""
    path: str
    """Real graph: the directory holding ``<snapshot>.channels.csv.gz`` and ``.nodes.csv.gz``."""
    snapshot: str
    """Real graph: the snapshot name (file prefix); "" means the only one in ``path``."""


@dataclass(frozen=True)
class MarketSpec:
    """The scenario's ``market:`` (every key and its reasoning: docs/simulator.md)."""

    elasticity: float
    amount_median_sat: float
    amount_sigma: float
    reference_fee_floor_ppm: float
    step_s: int
    volume_scale: float
    elasticity_spread: float = 0.5
    attempt_cost_sat: float = 100.0
    attempt_cost_ppm: float = 1000.0
    sender_memory: float = 0.4
    memory_days: float = 2.0
    failure_share: float = 0.05
    failure_half_life_s: float = 3600.0
    gossip_delay_s: float = 1800.0
    fee_limit_ppm: tuple[float, float] = (5000.0, 50_000.0)
    competitor_drift_share: float = 0.3
    competitor_drift_days: float = 7.0
    competitor_react_share: float = 0.1
    competitor_react_days: float = 2.0
    max_competitors: float = 24.0
    seasonality_weekly: float = 0.15
    seasonality_daily: float = 0.25
    regime_days: float = 14.0
    regime_sigma: float = 0.5


@dataclass(frozen=True)
class Scenario:
    name: str
    seed: int
    start_s: int
    history_days: float
    allow_positive_inbound: bool
    alias: str
    graph: GraphSpec
    market: MarketSpec
    groups: tuple[GroupSpec, ...]
    base_dir: str
    """Directory relative graph paths are resolved against (the scenario file's)."""

    @property
    def channel_count(self) -> int:
        return sum(g.count for g in self.groups)


DEFAULT_MARKET = MarketSpec(
    elasticity=1.0,
    amount_median_sat=20_000.0,
    amount_sigma=1.2,
    reference_fee_floor_ppm=10.0,
    step_s=900,
    volume_scale=1.0,
)


def shipped_scenarios() -> list[str]:
    """Names of the scenarios shipped with the package."""
    root = resources.files(SHIPPED_PACKAGE)
    return sorted(p.name[:-4] for p in root.iterdir() if p.name.endswith(".yml"))


def load_scenario(name_or_path: str) -> Scenario:
    """Read and validate a shipped scenario (by name) or a scenario YAML file (by path)."""
    looks_like_path = (
        "/" in name_or_path or name_or_path.endswith((".yml", ".yaml")) or "\\" in name_or_path
    )
    if looks_like_path:
        path = Path(name_or_path)
        if not path.is_file():
            raise ScenarioError(f"scenario file {name_or_path} does not exist")
        text = path.read_text(encoding="utf-8")
        return parse_scenario(text, name=path.stem, base_dir=str(path.resolve().parent))
    shipped = shipped_scenarios()
    if name_or_path not in shipped:
        raise ScenarioError(
            f"unknown scenario {name_or_path!r}: shipped scenarios are {', '.join(shipped)}"
            " (or give a path to a .yml file)"
        )
    resource = resources.files(SHIPPED_PACKAGE).joinpath(f"{name_or_path}.yml")
    return parse_scenario(
        resource.read_text(encoding="utf-8"), name=name_or_path, base_dir=str(Path.cwd())
    )


def parse_scenario(text: str, *, name: str, base_dir: str) -> Scenario:
    """Validate scenario YAML ``text``; ``name`` is used in error messages."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ScenarioError(f"scenario {name}: not valid YAML{where}") from None
    ctx = f"scenario {name}"
    if not isinstance(raw, dict):
        raise ScenarioError(f"{ctx}: the file must be a mapping of keys to values")
    _check_keys(raw, TOP_KEYS, ctx, "")
    for key in REQUIRED_TOP:
        if key not in raw:
            raise ScenarioError(f"{ctx}: missing required key {key!r}")
    seed = _int(raw["seed"], ctx, "seed", lo=0)
    start_s = _start(raw["start"], ctx)
    history_days = _number(raw.get("history_days", 30), ctx, "history_days", 0, MAX_HISTORY_DAYS)
    allow_pos = raw.get("allow_positive_inbound", False)
    if not isinstance(allow_pos, bool):
        raise ScenarioError(f"{ctx}: allow_positive_inbound must be true or false")
    alias = raw.get("alias", f"sim-{name}")
    if not isinstance(alias, str) or not alias or len(alias.encode()) > 32:
        raise ScenarioError(f"{ctx}: alias must be a non-empty string of at most 32 bytes")
    graph = _graph(raw.get("graph", {"source": "synthetic", "nodes": 2000}), ctx)
    market = _market(raw.get("market", {}), ctx)
    groups_raw = raw["groups"]
    if not isinstance(groups_raw, list) or not groups_raw:
        raise ScenarioError(f"{ctx}: groups must be a non-empty list of channel groups")
    groups = tuple(_group(g, ctx, i) for i, g in enumerate(groups_raw))
    total = sum(g.count for g in groups)
    if total > MAX_CHANNELS:
        raise ScenarioError(f"{ctx}: {total} channels in groups, more than {MAX_CHANNELS}")
    if graph.source == "synthetic" and graph.nodes < total + 1:
        raise ScenarioError(
            f"{ctx}: graph.nodes ({graph.nodes}) must exceed the number of our channels ({total})"
        )
    return Scenario(
        name=name,
        seed=seed,
        start_s=start_s,
        history_days=history_days,
        allow_positive_inbound=allow_pos,
        alias=alias,
        graph=graph,
        market=market,
        groups=groups,
        base_dir=base_dir,
    )


def _check_keys(raw: dict, allowed: set[str], ctx: str, where: str) -> None:
    unknown = sorted(
        (repr(k) if isinstance(k, str) else f"{k!r} (YAML read a {type(k).__name__}: quote it)")
        for k in raw
        if k not in allowed
    )
    if unknown:
        place = f" in {where}" if where else ""
        raise ScenarioError(
            f"{ctx}: unknown key{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(unknown)}{place} (known: {', '.join(sorted(allowed))})"
        )


def _int(value: Any, ctx: str, key: str, lo: int | None = None, hi: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ScenarioError(f"{ctx}: {key} must be an integer, got {value!r}")
    if lo is not None and value < lo:
        raise ScenarioError(f"{ctx}: {key} must be at least {lo}, got {value}")
    if hi is not None and value > hi:
        raise ScenarioError(f"{ctx}: {key} must be at most {hi}, got {value}")
    return value


def _number(value: Any, ctx: str, key: str, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ScenarioError(f"{ctx}: {key} must be a number, got {value!r}")
    if not lo <= value <= hi:
        raise ScenarioError(f"{ctx}: {key} must be between {lo} and {hi}, got {value}")
    return float(value)


def _range(value: Any, ctx: str, key: str, lo: float, hi: float, integer: bool) -> tuple:
    """A ``[min, max]`` pair (or one number meaning ``[x, x]``) within ``[lo, hi]``."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = [value, value]
    if not isinstance(value, list) or len(value) != 2:
        raise ScenarioError(f"{ctx}: {key} must be a number or a [min, max] pair, got {value!r}")
    a, b = value
    for v in (a, b):
        bad_type = isinstance(v, bool) or not isinstance(v, int | float)
        if bad_type or (integer and not isinstance(v, int)):
            kind = "integers" if integer else "numbers"
            raise ScenarioError(f"{ctx}: {key} must hold {kind}, got {v!r}")
        if not lo <= v <= hi:
            raise ScenarioError(f"{ctx}: {key} values must be between {lo} and {hi}, got {v}")
    if a > b:
        raise ScenarioError(f"{ctx}: {key} is [min, max] but min {a} is above max {b}")
    if integer:
        return (int(a), int(b))
    return (float(a), float(b))


def _start(value: Any, ctx: str) -> int:
    if isinstance(value, bool):
        raise ScenarioError(f"{ctx}: start must be a UTC time such as 2026-02-03T00:00:00Z")
    if isinstance(value, int):
        when = dt.datetime.fromtimestamp(value, dt.UTC)
    elif isinstance(value, dt.datetime):
        when = value
    elif isinstance(value, str):
        try:
            when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ScenarioError(
                f"{ctx}: start {value!r} is not a time such as 2026-02-03T00:00:00Z"
            ) from None
    else:
        raise ScenarioError(f"{ctx}: start must be a UTC time such as 2026-02-03T00:00:00Z")
    if when.tzinfo is None:
        raise ScenarioError(f"{ctx}: start must name its time zone (e.g. 2026-02-03T00:00:00Z)")
    ts = int(when.timestamp())
    if not 1_230_768_000 <= ts <= 4_102_444_800:  # 2009 .. 2100
        raise ScenarioError(f"{ctx}: start {when.isoformat()} is outside 2009-2100")
    return ts


def _graph(raw: Any, ctx: str) -> GraphSpec:
    if not isinstance(raw, dict):
        raise ScenarioError(f"{ctx}: graph must be a mapping (source, nodes or path)")
    _check_keys(raw, GRAPH_KEYS, ctx, "graph")
    source = raw.get("source")
    if source == "synthetic":
        for key in ("path", "snapshot"):
            if key in raw:
                raise ScenarioError(f"{ctx}: graph.{key} applies only to source: real")
        if "nodes" not in raw:
            raise ScenarioError(f"{ctx}: a synthetic graph needs graph.nodes (its size)")
        nodes = _int(raw["nodes"], ctx, "graph.nodes", lo=2, hi=MAX_SYNTHETIC_NODES)
        return GraphSpec(source="synthetic", nodes=nodes, path="", snapshot="")
    if source == "real":
        if "nodes" in raw:
            raise ScenarioError(f"{ctx}: graph.nodes applies only to source: synthetic")
        path = raw.get("path")
        if not isinstance(path, str) or not path:
            raise ScenarioError(f"{ctx}: a real graph needs graph.path (the snapshot directory)")
        snapshot = raw.get("snapshot", "")
        if not isinstance(snapshot, str):
            raise ScenarioError(f"{ctx}: graph.snapshot must be a string")
        return GraphSpec(source="real", nodes=0, path=path, snapshot=snapshot)
    raise ScenarioError(f"{ctx}: graph.source must be 'synthetic' or 'real', got {source!r}")


def _market(raw: Any, ctx: str) -> MarketSpec:
    if not isinstance(raw, dict):
        raise ScenarioError(f"{ctx}: market must be a mapping")
    _check_keys(raw, MARKET_KEYS, ctx, "market")
    values: dict[str, Any] = {
        key: _number(raw.get(key, default), ctx, f"market.{key}", lo, hi)
        for key, default, lo, hi in MARKET_NUMBERS
    }
    values["step_s"] = _int(
        raw.get("step_s", DEFAULT_MARKET.step_s), ctx, "market.step_s", lo=60, hi=86_400
    )
    limit = _range(
        raw.get("fee_limit_ppm", list(DEFAULT_MARKET.fee_limit_ppm)),
        ctx,
        "market.fee_limit_ppm",
        1,
        1_000_000,
        False,
    )
    if limit[1] <= limit[0]:
        raise ScenarioError(
            f"{ctx}: market.fee_limit_ppm is [lowest, highest] sender fee limit and needs"
            f" highest above lowest, got {list(limit)}"
        )
    values["fee_limit_ppm"] = limit
    return MarketSpec(**values)


def _group(raw: Any, ctx: str, index: int) -> GroupSpec:
    where = f"groups[{index}]"
    if not isinstance(raw, dict):
        raise ScenarioError(f"{ctx}: {where} must be a mapping with profile and count")
    _check_keys(raw, GROUP_KEYS, ctx, where)
    name = raw.get("profile")
    if name is None:
        raise ScenarioError(f"{ctx}: {where} needs a profile ({', '.join(PROFILES)})")
    if name not in PROFILES:
        raise ScenarioError(
            f"{ctx}: unknown profile {name!r} in {where} (known: {', '.join(PROFILES)})"
        )
    prof = PROFILES[name]
    if "count" not in raw:
        raise ScenarioError(f"{ctx}: {where} needs a count")
    count = _int(raw["count"], ctx, f"{where}.count", lo=1, hi=MAX_CHANNELS)
    capacity = _range(
        raw.get("capacity_sat", list(prof.capacity_sat)),
        ctx,
        f"{where}.capacity_sat",
        20_000,
        10_000_000_000,
        True,
    )
    balance = _range(
        raw.get("balance_ratio", list(prof.balance_ratio)),
        ctx,
        f"{where}.balance_ratio",
        0,
        1,
        False,
    )
    fee = None
    if "fee_ppm" in raw:
        fee = _range(raw["fee_ppm"], ctx, f"{where}.fee_ppm", 0, 1_000_000, True)
    base = _range(
        raw.get("base_fee_msat", list(prof.base_fee_msat)),
        ctx,
        f"{where}.base_fee_msat",
        0,
        100_000_000,
        True,
    )
    age = _range(raw.get("age_days", list(prof.age_days)), ctx, f"{where}.age_days", 0, 5000, False)
    fpd = _number(
        raw.get("forwards_per_day", prof.out_per_day), ctx, f"{where}.forwards_per_day", 0, 1e6
    )
    return GroupSpec(
        profile=name,
        count=count,
        capacity_sat=capacity,
        balance_ratio=balance,
        fee_ppm=fee,
        base_fee_msat=base,
        age_days=age,
        forwards_per_day=fpd,
    )
