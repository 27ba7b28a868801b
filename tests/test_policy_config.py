"""The policy file: defaults, overlays, environment overrides, and clear refusals."""

from pathlib import Path

import pytest

from mcp_optimizer.policies.config import FACTOR_NAMES, PolicyError, load_policy


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "policy.yml"
    p.write_text(text)
    return p


def test_default_policy_loads_with_every_factor():
    policy = load_policy(environ={})
    for name in FACTOR_NAMES:
        assert policy.factors.get(name).enabled
        assert policy.factors.get(name).weight > 0
    assert policy.close.execute is False
    assert policy.underperformance.window_s == 48 * 3600
    assert policy.underperformance.raise_pct == 20


def test_file_overlays_only_what_it_names(tmp_path):
    p = write(
        tmp_path, "factors:\n  uptime:\n    enabled: false\nbounds:\n  max_fee_rate_ppm: 900\n"
    )
    policy = load_policy(p, environ={})
    assert policy.factors.uptime.enabled is False
    assert policy.factors.uptime.weight == load_policy(environ={}).factors.uptime.weight
    assert policy.bounds.max_fee_rate_ppm == 900
    assert policy.bounds.min_fee_rate_ppm == 1


def test_environment_overrides_file(tmp_path):
    p = write(tmp_path, "bounds:\n  max_fee_rate_ppm: 900\n")
    env = {
        "MCP_POLICY__BOUNDS__MAX_FEE_RATE_PPM": "1200",
        "MCP_POLICY__FACTORS__CENTRALITY__ENABLED": "false",
        "MCP_POLICY__UNDERPERFORMANCE__RAISE_PCT": "35",
        "MCP_OTHER_SETTING": "ignored: not a policy variable",
    }
    policy = load_policy(p, environ=env)
    assert policy.bounds.max_fee_rate_ppm == 1200
    assert policy.factors.centrality.enabled is False
    assert policy.underperformance.raise_pct == 35


@pytest.mark.parametrize(
    "text, needles",
    [
        ("bogus: 1\n", ["unknown key `bogus`"]),
        ("factors:\n  volume:\n    wieght: 2\n", ["unknown key `factors.volume.wieght`"]),
        ("factors:\n  volume:\n    weight: -1\n", ["factors.volume.weight", "-1", ">= 0"]),
        ("cooldown_s: soon\n", ["cooldown_s", "'soon'", "int"]),
        (
            "bounds:\n  min_fee_rate_ppm: 3000\n",
            ["bounds.min_fee_rate_ppm", "3000", "at most", "bounds.max_fee_rate_ppm"],
        ),
        ("thresholds:\n  low_outbound_ratio: 1.5\n", ["thresholds.low_outbound_ratio", "1.5"]),
        ("close:\n  execute: perhaps\n", ["close.execute", "'perhaps'", "bool"]),
        ("factors: [1, 2]\n", ["factors", "expected a mapping"]),
        ("bounds: {max_fee_rate_ppm: [\n", ["not valid YAML", "line"]),
        ("- a list\n", ["expected a mapping"]),
    ],
)
def test_invalid_file_is_refused_naming_key_value_expectation(tmp_path, text, needles):
    p = write(tmp_path, text)
    with pytest.raises(PolicyError) as err:
        load_policy(p, environ={})
    message = str(err.value)
    assert str(p) in message
    for needle in needles:
        assert needle in message, message


@pytest.mark.parametrize(
    "env, needle",
    [
        ({"MCP_POLICY__FACTORS__SPEED__WEIGHT": "1"}, "MCP_POLICY__FACTORS__SPEED__WEIGHT"),
        ({"MCP_POLICY__BOUNDS": "1"}, "is a section"),
        ({"MCP_POLICY__FACTORS__VOLUME__WEIGHT": "heavy"}, "factors.volume.weight"),
    ],
)
def test_invalid_environment_is_refused(env, needle):
    with pytest.raises(PolicyError) as err:
        load_policy(environ=env)
    assert needle in str(err.value)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(PolicyError, match="cannot read it"):
        load_policy(tmp_path / "nope.yml", environ={})


@pytest.mark.parametrize(
    "text, needles",
    [
        # every change would be capped below the smallest change worth sending: no fee could
        # ever move, silently
        (
            "steps:\n  max_fee_rate_step_ppm: 20\n  min_change_ppm: 50\n",
            ["steps.min_change_ppm", "50", "at most", "steps.max_fee_rate_step_ppm"],
        ),
        # no factor can be scored: every channel would score 0 (weak, close candidate)
        (
            "factors:\n"
            "  centrality: {enabled: false}\n  volume: {weight: 0}\n  uptime: {enabled: false}\n"
            "  channel_age: {enabled: false}\n  forward_activity: {weight: 0}\n",
            ["factors", "enabled", "weight above 0"],
        ),
    ],
)
def test_settings_valid_alone_but_absurd_together_are_refused(tmp_path, text, needles):
    p = write(tmp_path, text)
    with pytest.raises(PolicyError) as err:
        load_policy(p, environ={})
    message = str(err.value)
    assert str(p) in message
    for needle in needles:
        assert needle in message, message


@pytest.mark.parametrize(
    "text, needles",
    [
        # the engine would propose a fee that the next cycle's defect check rejects as absurd:
        # the channel would then be stuck there, never lowered again
        (
            "bounds:\n  max_fee_rate_ppm: 2000000\n",
            ["bounds.max_fee_rate_ppm", "2000000", "at most 1000000"],
        ),
        (
            "bounds:\n  max_base_fee_msat: 2000000000\n",
            ["bounds.max_base_fee_msat", "2000000000", "at most 1000000000"],
        ),
        (
            "bounds:\n  min_inbound_fee_rate_ppm: -5000000000\n",
            ["bounds.min_inbound_fee_rate_ppm", "-5000000000", "at least -1000000"],
        ),
        (
            "bounds:\n  min_inbound_base_fee_msat: -2000000000\n",
            ["bounds.min_inbound_base_fee_msat", "-2000000000", "at least -1000000000"],
        ),
    ],
)
def test_bounds_beyond_what_the_engine_accepts_back_are_refused(tmp_path, text, needles):
    p = write(tmp_path, text)
    with pytest.raises(PolicyError) as err:
        load_policy(p, environ={})
    message = str(err.value)
    for needle in needles:
        assert needle in message, message


def test_weights_whose_sum_overflows_are_refused(tmp_path):
    # each weight is finite, but their sum is not: every score came out 0.0 (weak channel,
    # fees lowered everywhere)
    env = {
        f"MCP_POLICY__FACTORS__{name.upper()}__WEIGHT": "1.0e+308"
        for name in ("volume", "forward_activity", "centrality")
    }
    with pytest.raises(PolicyError) as err:
        load_policy(environ=env)
    message = str(err.value)
    assert "factors" in message and "weights" in message and "finite" in message, message
