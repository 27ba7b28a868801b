"""Hardening of the policy loader (issue 10, item 7): the attacks replayed against
``load_policy`` and `mcp-optimizer run` — deep nesting, a YAML bomb, duplicate keys, .inf,
absurd magnitudes, YAML 1.1 scalars — each refused with one short line."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcp_optimizer.policies.config import PolicyError, load_policy
from mcp_optimizer.policies.yaml_safe import MAX_BYTES, YAMLRefused, load

SHORT = 400
"""An error stays one line of this many characters at most, whatever the input."""

BOMB = (
    "cooldown_s:\n"
    '  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    "  b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
    "  c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
    "  d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
    "  e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
    "  f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
    "  g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
    "  h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
)
"""A "billion laughs" as the value of a key: PyYAML shares the aliased lists, but the error
message's ``repr`` expanded them (28 MB for 7 levels; this has 8)."""


def refused(tmp_path, text: str, *needles: str) -> str:
    p = tmp_path / "policy.yml"
    p.write_text(text)
    with pytest.raises(PolicyError) as err:
        load_policy(p, environ={})
    message = str(err.value)
    assert "\n" not in message and len(message) < SHORT, message
    for needle in needles:
        assert needle in message, message
    return message


def test_5000_levels_of_nesting_are_refused(tmp_path):
    refused(tmp_path, "cooldown_s: " + "[" * 5000 + "]" * 5000 + "\n", "nested deeper")
    refused(tmp_path, "- " * 5000 + "1\n", "nested deeper")
    refused(tmp_path, "a:\n" + "".join("  " * i + "a:\n" for i in range(1, 400)),
            "nested deeper")


@pytest.mark.timeout(60)
def test_a_yaml_bomb_is_refused_at_its_first_alias(tmp_path):
    assert len(BOMB) < 480
    refused(tmp_path, BOMB, "aliases", "line 3")
    refused(tmp_path, "cooldown_s: &x 1\ntargets: {forwards: *x}\n", "aliases")


def test_a_long_value_is_quoted_short_in_the_error(tmp_path):
    big = "[" + ",".join(["'lol'"] * 5000) + "]"
    refused(tmp_path, f"cooldown_s: {big}\n", "cooldown_s")
    refused(tmp_path, f"factors: {big}\n", "factors")
    refused(tmp_path, f"cooldown_s: '{'x' * 100_000}'\n", "cooldown_s")


@pytest.mark.parametrize(
    "text, where",
    [
        ("cooldown_s: 10\ncooldown_s: 20\n", "line 2"),
        ("steps:\n  min_change_ppm: 1\nsteps:\n  min_change_ppm: 2\n", "line 3"),
        ("steps:\n  min_change_ppm: 1\n  min_change_ppm: 2\n", "line 3"),
        ("factors:\n  volume: {enabled: true, enabled: false}\n", "line 2"),
    ],
)
def test_duplicate_keys_are_refused(tmp_path, text, where):
    refused(tmp_path, text, "appears twice", where)


@pytest.mark.parametrize(
    "text, key",
    [
        ("targets:\n  volume_turnover: .inf\n", "targets.volume_turnover"),
        ("targets:\n  volume_turnover: .nan\n", "targets.volume_turnover"),
        ("cooldown_s: 1000000000000000000000000000000\n", "cooldown_s"),
        ("windows:\n  history_s: 1000000000000\n", "windows.history_s"),
        ("windows:\n  history_s: 630720000\n", "windows.history_s"),  # 20 years
        ("targets:\n  mature_age_s: 1180591620717411303424\n", "targets.mature_age_s"),
        ("steps:\n  max_fee_rate_step_ppm: 18446744073709551616\n", "steps.max_fee_rate_step_ppm"),
        ("steps:\n  max_base_fee_step_msat: 18446744073709551616\n",
         "steps.max_base_fee_step_msat"),
        ("thresholds:\n  min_forwards_for_increase: 1000000000000000000000000000000\n",
         "thresholds.min_forwards_for_increase"),
        ("targets:\n  forwards: 1000000000000000000000000000000\n", "targets.forwards"),
        ("factors:\n  volume: {enabled: true, weight: 1.0e+200}\n", "factors.volume.weight"),
        ("thresholds:\n  close_min_age_s: 1000000000000\n", "thresholds.close_min_age_s"),
    ],
)
def test_absurd_magnitudes_are_refused(tmp_path, text, key):
    refused(tmp_path, text, key)


@pytest.mark.parametrize(
    "text, needle",
    [
        ("cooldown_s: 0600\n", "leading zero"),
        ("cooldown_s: 1:30\n", "base-60"),
        ("cooldown_s: 1_000\n", "underscores"),
        ("close:\n  execute: on\n", "boolean"),
        ("close:\n  execute: yes\n", "boolean"),
        ("cooldown_s: 0b101\n", "binary"),
    ],
)
def test_yaml_1_1_scalars_that_read_otherwise_are_refused(tmp_path, text, needle):
    refused(tmp_path, text, needle, "line 1" if text.startswith("cooldown") else "line 2")


def test_yaml_1_2_scalars_are_read(tmp_path):
    p = tmp_path / "policy.yml"
    p.write_text("cooldown_s: 0o600\nclose:\n  execute: True\ntargets:\n  volume_turnover: 1e-1\n")
    policy = load_policy(p, environ={})
    assert policy.cooldown_s == 384 and policy.close.execute is True
    assert policy.targets.volume_turnover == 0.1


def test_environment_values_are_read_the_same_way():
    with pytest.raises(PolicyError) as err:
        load_policy(environ={"MCP_POLICY__COOLDOWN_S": "0600"})
    assert "MCP_POLICY__COOLDOWN_S" in str(err.value) and "leading zero" in str(err.value)
    with pytest.raises(PolicyError) as err:
        load_policy(environ={"MCP_POLICY__WINDOWS__HISTORY_S": "1000000000000"})
    assert "windows.history_s" in str(err.value)
    assert load_policy(environ={"MCP_POLICY__COOLDOWN_S": "3600"}).cooldown_s == 3600


def test_an_oversized_file_is_refused_without_reading_it_all(tmp_path):
    p = tmp_path / "policy.yml"
    p.write_text("# " + "x" * (MAX_BYTES + 10) + "\n")
    with pytest.raises(PolicyError) as err:
        load_policy(p, environ={})
    assert "bytes" in str(err.value)


def test_the_shipped_policy_still_loads():
    assert load_policy(environ={}).cooldown_s == 86400


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet="[]{}:,-&*! \n\t'\"ab01.#?|>", max_size=300))
def test_any_text_is_a_one_line_policy_error_or_a_policy(text):
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "p.yml"
        p.write_text(text)
        try:
            load_policy(p, environ={})
        except PolicyError as exc:
            assert "\n" not in str(exc) and len(str(exc)) < 1000


def test_refusals_are_yaml_refused_not_other_errors():
    for text in ("a: *b", "a: !!binary aGVsbG8=", "? [a]\n: 1\n", "a: 1\na: 2"):
        with pytest.raises(YAMLRefused):
            load(text)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("attack", ["nesting", "bomb"])
def test_run_refuses_the_attack_in_one_line(tmp_path, attack):
    """`mcp-optimizer run` with the attack as its policy file: one line, exit 2, nothing
    started (it died with exit 70, or did not finish, before)."""
    import os

    policy = tmp_path / "policy.yml"
    policy.write_text("cooldown_s: " + "[" * 5000 + "]" * 5000 + "\n" if attack == "nesting"
                      else BOMB)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MCP_LND_", "MCP_CONTROL_SOCKET", "MCP_PAUSED"))}
    env["MCP_DATA_DIR"] = str(tmp_path / "data")
    env["MCP_POLICY_FILE"] = str(policy)
    r = subprocess.run([sys.executable, "-m", "mcp_optimizer", "run"], env=env,
                       capture_output=True, text=True, timeout=100)
    assert r.returncode not in (0, 70), r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and len(lines[0]) < SHORT, r.stderr
    assert "policy" in lines[0]
