"""The policy: which heuristics count and how much, thresholds, bounds, steps, cooldown.

Loaded from the default policy shipped with the package, overlaid by the operator's YAML file,
overlaid by ``MCP_POLICY__SECTION__KEY`` environment variables. Anything invalid is refused at
load with a :class:`PolicyError` naming the key, the value (cut to a few dozen characters) and
what was expected. YAML is read by :mod:`.yaml_safe` (limits, no aliases, no duplicate keys,
YAML 1.2 scalars, ambiguous YAML 1.1 ones refused); every number has a sane range, given by its
type below (a value outside is refused, not clamped).
"""

from __future__ import annotations

import copy
import math
import os
import re
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import msgspec
import yaml

from . import yaml_safe
from .defects import MAX_BASE_FEE_MSAT, MAX_FEE_RATE_PPM
from .overrides import ChannelOverride, OverrideError, check_against, merge_channels, parse_channels
from .yaml_safe import quote

ENV_PREFIX = "MCP_POLICY__"
FACTOR_NAMES = ("centrality", "volume", "uptime", "channel_age", "forward_activity")

NonNeg = Annotated[float, msgspec.Meta(ge=0)]
NonNegInt = Annotated[int, msgspec.Meta(ge=0)]
PosInt = Annotated[int, msgspec.Meta(gt=0)]
Ratio = Annotated[float, msgspec.Meta(ge=0, le=1)]
Pct = Annotated[float, msgspec.Meta(ge=0, le=1000)]

# Sane ranges (documented in docs/decision-engine.md): beyond them a value is a typo or an
# attack, and some would overflow later (a history window of 1e12 s starts before year 1).
YEAR_S = 365 * 86400
MAX_WEIGHT = 1000.0
MAX_COUNT = 10_000_000
"""Largest forward count a target or threshold may name."""
Turnover = Annotated[float, msgspec.Meta(gt=0, le=1000)]
AgeS = Annotated[int, msgspec.Meta(ge=0, le=10 * YEAR_S)]
"""A channel age: up to 10 years."""
WindowS = Annotated[int, msgspec.Meta(ge=1, le=2 * YEAR_S)]
"""A forwarding window: 1 s to 2 years."""
Count = Annotated[int, msgspec.Meta(ge=0, le=MAX_COUNT)]
CooldownS = Annotated[int, msgspec.Meta(ge=0, le=YEAR_S)]
RateStep = Annotated[int, msgspec.Meta(ge=1, le=MAX_FEE_RATE_PPM)]
BaseStep = Annotated[int, msgspec.Meta(ge=1, le=MAX_BASE_FEE_MSAT)]


class _Section(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    pass


class FactorSetting(_Section):
    enabled: bool
    weight: NonNeg  # ranged by _check (0 to MAX_WEIGHT)


class Factors(_Section):
    centrality: FactorSetting
    volume: FactorSetting
    uptime: FactorSetting
    channel_age: FactorSetting
    forward_activity: FactorSetting

    def get(self, name: str) -> FactorSetting:
        return getattr(self, name)


class Targets(_Section):
    volume_turnover: Turnover
    mature_age_s: Annotated[int, msgspec.Meta(ge=1, le=10 * YEAR_S)]
    forwards: Annotated[int, msgspec.Meta(ge=1, le=MAX_COUNT)]


class Windows(_Section):
    history_s: WindowS


class Thresholds(_Section):
    increase_above_score: Ratio
    lower_below_score: Ratio
    low_outbound_ratio: Ratio
    high_outbound_ratio: Ratio
    min_forwards_for_increase: Count
    close_below_score: Ratio
    close_min_age_s: AgeS


class Underperformance(_Section):
    window_s: WindowS
    raise_pct: Pct


class Adjustments(_Section):
    increase_pct: Pct
    lower_pct: Annotated[float, msgspec.Meta(ge=0, le=100)]


class Bounds(_Section):
    # ranged by _check: within what the defect check accepts back
    min_base_fee_msat: NonNegInt
    max_base_fee_msat: NonNegInt
    min_fee_rate_ppm: NonNegInt
    max_fee_rate_ppm: NonNegInt
    min_inbound_base_fee_msat: int
    max_inbound_base_fee_msat: int
    min_inbound_fee_rate_ppm: int
    max_inbound_fee_rate_ppm: int


class Steps(_Section):
    max_fee_rate_step_ppm: RateStep
    max_base_fee_step_msat: BaseStep
    min_change_ppm: Annotated[int, msgspec.Meta(ge=0, le=MAX_FEE_RATE_PPM)]


class Close(_Section):
    execute: bool
    max_per_day: Annotated[int, msgspec.Meta(ge=0, le=100)]
    """Most closes the service starts in 24 h (0: none, even when execute is true)."""
    conf_target: Annotated[int, msgspec.Meta(ge=2, le=1008)]
    """Blocks the closing transaction should confirm within (the node's fee estimate)."""


class Pricing(_Section):
    """The price learner (policies/pricing.py); ranges documented in docs/decision-engine.md."""

    enabled: bool
    min_epoch_s: Annotated[int, msgspec.Meta(ge=0, le=YEAR_S)]
    max_epoch_s: Annotated[int, msgspec.Meta(ge=0, le=YEAR_S)]
    min_forwards: Annotated[int, msgspec.Meta(ge=0, le=100_000)]
    explore_min_forwards: Annotated[int, msgspec.Meta(ge=0, le=100_000)]
    return_hold_s: Annotated[int, msgspec.Meta(ge=0, le=YEAR_S)]
    inbound_discount_pct: Annotated[float, msgspec.Meta(ge=0, le=100)]
    inbound_lift_outbound_ratio: Annotated[float, msgspec.Meta(ge=0, le=1)]
    memory_s: Annotated[int, msgspec.Meta(ge=3600, le=YEAR_S)]
    probe_pct: Annotated[float, msgspec.Meta(ge=1, le=100)]
    max_probe_pct: Annotated[float, msgspec.Meta(ge=1, le=200)]
    min_probe_pct: Annotated[float, msgspec.Meta(ge=0, le=100)]
    significance: Annotated[float, msgspec.Meta(ge=0, le=10)]
    drift_se: Annotated[float, msgspec.Meta(ge=0, le=3)]
    """Log-scale standard error added to each level's count noise for how much the market's
    demand moves between epochs (seasonality, regimes), whatever the fee: the floor of the
    drift measured on the channel's own consecutive epochs, and the drift itself until two
    pairs of them are known."""
    refused_weight: Annotated[float, msgspec.Meta(ge=0, le=1)]
    """How much a forward refused for want of balance counts toward a level's demand."""
    fresh_margin: Annotated[float, msgspec.Meta(ge=0, le=10)]
    max_tries: Annotated[int, msgspec.Meta(ge=0, le=1000)]
    floor_market_ratio: Annotated[float, msgspec.Meta(ge=0, le=10)]
    ceiling_market_ratio: Annotated[float, msgspec.Meta(ge=0, le=1000)]
    gossip_budget_per_channel_day: Annotated[float, msgspec.Meta(ge=0, le=24)]


class Policy(_Section):
    """A validated policy. Build it with :func:`load_policy`, never by hand in production."""

    factors: Factors
    targets: Targets
    windows: Windows
    thresholds: Thresholds
    underperformance: Underperformance
    adjustments: Adjustments
    bounds: Bounds
    steps: Steps
    cooldown_s: CooldownS
    close: Close
    pricing: Pricing
    channels: dict[int, ChannelOverride] = {}
    """Per-channel overrides by chan_id (``policies/overrides.py``); none by default."""


class PolicyError(ValueError):
    """A policy that cannot be used; the message names the key, the value and the expectation."""


def default_policy_text() -> str:
    return resources.files("mcp_optimizer.policies").joinpath("default.yml").read_text("utf-8")


def _parse_yaml(text: str, origin: str) -> dict[str, Any]:
    try:
        data = yaml_safe.load(text)
    except yaml_safe.YAMLRefused as exc:
        raise PolicyError(f"{origin}: refused: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise PolicyError(f"{origin}: not valid YAML{where}: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise PolicyError(
            f"{origin}: expected a mapping of policy sections at the top, "
            f"got {type(data).__name__}"
        )
    return data


def _merge(base: dict[str, Any], over: Mapping[str, Any], origin: str, path: str = "") -> None:
    for key, value in over.items():
        dotted = f"{path}{key}"
        if not path and key == "channels":  # per-channel overrides: policies/overrides.py
            base[key] = merge_channels(base.get(key), value) if isinstance(value, dict) else value
            continue
        if key not in base:
            known = ", ".join(sorted(str(k) for k in base)) or "none"
            raise PolicyError(f"{origin}: unknown key `{dotted}` (known keys here: {known})")
        if isinstance(base[key], dict):
            if not isinstance(value, dict):
                raise PolicyError(
                    f"{origin}: key `{dotted}` has value {quote(value)}, expected a mapping "
                    f"with keys {', '.join(sorted(base[key]))}"
                )
            _merge(base[key], value, origin, dotted + ".")
        else:
            base[key] = value


def _env_overlay(environ: Mapping[str, str], defaults: dict[str, Any]) -> dict[str, Any]:
    overlay: dict[str, Any] = {}
    for name in sorted(environ):
        if not name.startswith(ENV_PREFIX):
            continue
        parts = [p.lower() for p in name[len(ENV_PREFIX):].split("__")]
        node: Any = defaults
        for i, part in enumerate(parts):
            if not isinstance(node, dict) or part not in node:
                dotted = ".".join(parts[: i + 1])
                raise PolicyError(
                    f"environment variable {name}: unknown policy key `{dotted}`"
                )
            node = node[part]
        if isinstance(node, dict):
            raise PolicyError(
                f"environment variable {name}: `{'.'.join(parts)}` is a section; "
                f"name one of its keys ({', '.join(sorted(node))})"
            )
        raw = environ[name]
        try:
            value = yaml_safe.load(raw)
        except yaml_safe.YAMLRefused as exc:
            raise PolicyError(f"environment variable {name}: refused: {exc}") from None
        except yaml.YAMLError:
            value = raw
        target = overlay
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = value
    return overlay


_PATH_RE = re.compile(r" - at `\$\.?([^`]*)`$")


def _lookup(data: Any, dotted: str) -> Any:
    node = data
    for part in dotted.split(".") if dotted else []:
        part = re.sub(r"\[\d+\]$", "", part)
        if isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return "<absent>"
    return node


def _convert(data: dict[str, Any], origin: str) -> Policy:
    if "channels" in data:  # per-channel overrides, checked by policies/overrides.py
        try:
            channels = parse_channels(data["channels"], origin)
        except OverrideError as exc:
            raise PolicyError(str(exc)) from None
        rest = {k: v for k, v in data.items() if k != "channels"}
        return msgspec.structs.replace(_convert(rest, origin), channels=channels)
    try:
        return msgspec.convert(data, Policy)
    except msgspec.ValidationError as exc:
        text = str(exc)
        m = _PATH_RE.search(text)
        key = m.group(1) if m else ""
        expected = _PATH_RE.sub("", text)
        if key:
            value = _lookup(data, key)
            raise PolicyError(
                f"{origin}: key `{key}` has value {quote(value)}: "
                f"{expected[0].lower()}{expected[1:]}"
            ) from None
        raise PolicyError(f"{origin}: {expected}") from None


def _check(policy: Policy, origin: str) -> None:
    try:
        check_against(policy, origin)
    except OverrideError as exc:
        raise PolicyError(str(exc)) from None
    problems: list[str] = []

    def pair(section: str, low: str, high: str) -> None:
        obj = getattr(policy, section)
        lo, hi = getattr(obj, low), getattr(obj, high)
        if lo > hi:
            problems.append(
                f"key `{section}.{low}` has value {lo!r}, expected at most "
                f"`{section}.{high}` ({hi!r})"
            )

    # Every bound within what the defect check accepts back: a fee proposed beyond it would
    # make the next snapshot "defective" and leave the channel stuck there.
    for key, limit in (
        ("max_base_fee_msat", MAX_BASE_FEE_MSAT),
        ("max_fee_rate_ppm", MAX_FEE_RATE_PPM),
        ("max_inbound_base_fee_msat", MAX_BASE_FEE_MSAT),
        ("max_inbound_fee_rate_ppm", MAX_FEE_RATE_PPM),
        ("min_inbound_base_fee_msat", MAX_BASE_FEE_MSAT),
        ("min_inbound_fee_rate_ppm", MAX_FEE_RATE_PPM),
    ):
        value = getattr(policy.bounds, key)
        if value > limit:
            problems.append(f"key `bounds.{key}` has value {value!r}, expected at most {limit}")
        elif value < -limit:
            problems.append(f"key `bounds.{key}` has value {value!r}, expected at least {-limit}")
    pair("bounds", "min_base_fee_msat", "max_base_fee_msat")
    pair("bounds", "min_fee_rate_ppm", "max_fee_rate_ppm")
    pair("bounds", "min_inbound_base_fee_msat", "max_inbound_base_fee_msat")
    pair("bounds", "min_inbound_fee_rate_ppm", "max_inbound_fee_rate_ppm")
    pair("thresholds", "low_outbound_ratio", "high_outbound_ratio")
    pair("thresholds", "lower_below_score", "increase_above_score")
    pair("thresholds", "close_below_score", "lower_below_score")
    if policy.underperformance.window_s > policy.windows.history_s:
        problems.append(
            f"key `underperformance.window_s` has value {policy.underperformance.window_s!r}, "
            f"expected at most `windows.history_s` ({policy.windows.history_s!r}): the recent "
            f"window lies inside the history window"
        )
    # A change is capped at the largest step, then dropped when below the minimum change:
    # with the minimum above the step no fee could ever move.
    pair("steps", "min_change_ppm", "max_fee_rate_step_ppm")
    pair("pricing", "min_epoch_s", "max_epoch_s")
    pair("pricing", "min_probe_pct", "probe_pct")
    pair("pricing", "probe_pct", "max_probe_pct")
    pair("pricing", "floor_market_ratio", "ceiling_market_ratio")
    for name in FACTOR_NAMES:
        weight = policy.factors.get(name).weight
        if not math.isfinite(weight) or weight > MAX_WEIGHT:
            problems.append(
                f"key `factors.{name}.weight` has value {weight!r}, expected a finite number "
                f"from 0 to {MAX_WEIGHT:g}"
            )
    weights = [policy.factors.get(n).weight for n in FACTOR_NAMES]
    if all(math.isfinite(w) for w in weights) and not math.isfinite(sum(weights)):
        problems.append(
            "key `factors`: the weights add up to more than a float holds, expected finite "
            "weights of a sensible size (their sum divides every score)"
        )
    if not any(
        policy.factors.get(n).enabled and policy.factors.get(n).weight > 0 for n in FACTOR_NAMES
    ):
        problems.append(
            "key `factors`: no factor is enabled with a weight above 0, so no channel could be "
            "scored; enable at least one of " + ", ".join(FACTOR_NAMES)
        )
    if problems:
        raise PolicyError(f"{origin}: " + "; ".join(problems))


def load_policy(
    path: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Policy:
    """Load the default policy, overlay the file at ``path`` and the environment, validate."""
    environ = os.environ if environ is None else environ
    merged = _parse_yaml(default_policy_text(), "default policy")
    origin = "default policy"
    if path is not None:
        path = Path(path)
        origin = f"policy file {path}"
        try:
            with path.open("rb") as fh:
                raw = fh.read(yaml_safe.MAX_BYTES + 1)
            if len(raw) > yaml_safe.MAX_BYTES:
                raise PolicyError(
                    f"{origin}: larger than the {yaml_safe.MAX_BYTES} bytes a policy may have"
                )
            text = raw.decode("utf-8")
        except OSError as exc:
            raise PolicyError(f"{origin}: cannot read it: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise PolicyError(f"{origin}: not UTF-8 text") from None
        _merge(merged, _parse_yaml(text, origin), origin)
    env = _env_overlay(environ, copy.deepcopy(merged))
    if env:
        origin = f"{origin} with MCP_POLICY__ environment overrides"
        _merge(merged, env, origin)
    policy = _convert(merged, origin)
    _check(policy, origin)
    return policy
