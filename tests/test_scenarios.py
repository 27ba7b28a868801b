"""Scenario files: the shipped ones, the documented defaults, and clear refusals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from mcp_optimizer.simulator.model import ScenarioError, SimulatedNode
from mcp_optimizer.simulator.profiles import PROFILES
from mcp_optimizer.simulator.scenario import (
    GRAPH_KEYS,
    GROUP_KEYS,
    MARKET_KEYS,
    TOP_KEYS,
    load_scenario,
    parse_scenario,
    shipped_scenarios,
)

MINIMAL = """\
seed: 1
start: 2026-02-03T00:00:00Z
groups:
  - profile: balanced
    count: 2
"""


def parse(text: str):
    return parse_scenario(text, name="t", base_dir=".")


def write(tmp_path: Path, text: str, name: str = "s.yml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_shipped_scenarios_parse() -> None:
    names = shipped_scenarios()
    assert {"demo", "mainnet", "large"} <= set(names)
    for name in names:
        sc = load_scenario(name)
        assert sc.name == name and sc.channel_count > 0


def test_demo_is_a_mixed_node_covering_every_profile() -> None:
    sc = load_scenario("demo")
    assert {g.profile for g in sc.groups} == set(PROFILES)
    assert 15 <= sc.channel_count <= 25
    assert sc.graph.source == "synthetic" and sc.graph.nodes == 2000
    assert sc.history_days == 30


def test_mainnet_scenario_names_the_real_graph() -> None:
    sc = load_scenario("mainnet")
    assert sc.graph.source == "real"
    assert sc.graph.path == "../shared/data/ln-graph"


def test_large_scenario_has_2000_channels_and_about_a_million_forwards() -> None:
    sc = load_scenario("large")
    assert sc.channel_count == 2000 and sc.history_days == 30
    node = SimulatedNode.from_config(sc)
    now = node.now_s()
    assert 900_000 <= len(node.forwards(now - 30 * 86_400, now)) <= 1_100_000
    assert len(node.channels()) == 2000


def test_defaults_are_documented_values() -> None:
    sc = parse(MINIMAL)
    assert sc.history_days == 30
    assert sc.allow_positive_inbound is False
    assert sc.alias == "sim-t"
    assert sc.graph.source == "synthetic" and sc.graph.nodes == 2000
    assert sc.market.elasticity == 1.0 and sc.market.step_s == 900
    g = sc.groups[0]
    p = PROFILES["balanced"]
    assert g.capacity_sat == p.capacity_sat
    assert g.balance_ratio == p.balance_ratio
    assert g.base_fee_msat == p.base_fee_msat
    assert g.age_days == p.age_days
    assert g.forwards_per_day == p.out_per_day
    assert g.fee_ppm is None  # the profile's multiple of the competitors' fee


def test_market_keys_default_to_the_documented_values_and_are_read() -> None:
    m = parse(MINIMAL).market
    assert (m.elasticity_spread, m.sender_memory, m.failure_share) == (0.5, 0.4, 0.05)
    assert (m.attempt_cost_sat, m.attempt_cost_ppm, m.failure_half_life_s) == (100, 1000, 3600)
    assert m.fee_limit_ppm == (5000.0, 50_000.0) and m.gossip_delay_s == 1800
    text = MINIMAL + "market: {elasticity: 2.5, fee_limit_ppm: [1000, 20000], regime_days: 3}\n"
    m = parse(text).market
    assert (m.elasticity, m.fee_limit_ppm, m.regime_days) == (2.5, (1000.0, 20000.0), 3.0)
    doc = (Path(__file__).resolve().parents[1] / "docs" / "simulator.md").read_text()
    for key in MARKET_KEYS:  # every market key is documented
        assert f"| `{key}` |" in doc, key


def test_group_ranges_are_applied(tmp_path) -> None:
    text = """\
seed: 3
start: "2026-02-03T00:00:00+00:00"
history_days: 0
allow_positive_inbound: true
graph: {source: synthetic, nodes: 300}
groups:
  - profile: balanced
    count: 8
    capacity_sat: [2000000, 3000000]
    balance_ratio: [0.2, 0.3]
    fee_ppm: [100, 200]
    base_fee_msat: 0
    age_days: [10, 20]
"""
    node = SimulatedNode.from_scenario(write(tmp_path, text))
    assert node.allow_positive_inbound is True
    assert node.forward_count() == 0  # no history asked for
    for c in node.channels():
        assert 2_000_000 <= c.capacity_sat <= 3_000_000
        assert 0.2 - 1e-6 <= c.local_balance_sat / c.capacity_sat <= 0.3 + 1e-6
        assert 100 <= c.local_policy.fee_rate_ppm <= 200
        assert c.local_policy.base_fee_msat == 0
        assert 10 * 86_400 <= node.now_s() - c.opened_at_s <= 20 * 86_400


def test_same_file_same_history(tmp_path) -> None:
    path = write(tmp_path, MINIMAL.replace("count: 2", "count: 4"))
    a, b = SimulatedNode.from_scenario(path), SimulatedNode.from_scenario(path)
    ca, cb = a.forwards(0, a.now_s()).columns, b.forwards(0, b.now_s()).columns
    assert len(ca) > 100
    assert np.array_equal(ca.timestamp_ns, cb.timestamp_ns)
    assert np.array_equal(ca.amt_out_msat, cb.amt_out_msat)
    assert a.channels() == b.channels()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (MINIMAL + "colour: red\n", r"unknown key 'colour' \(known: "),
        (MINIMAL + "    capacity: 5\n", r"unknown key 'capacity' in groups\[0\]"),
        (
            MINIMAL.replace("balanced", "whale"),
            r"unknown profile 'whale' in groups\[0\] \(known: star, balanced",
        ),
        (
            MINIMAL + "graph: {source: synthetic, nodes: 10, size: 3}\n",
            "unknown key 'size' in graph",
        ),
        (MINIMAL + "market: {elastic: 2}\n", "unknown key 'elastic' in market"),
        (
            MINIMAL + "market: {sender_memory: 1.5}\n",
            "market.sender_memory must be between 0 and 1, got 1.5",
        ),
        (MINIMAL + "market: {failure_share: lots}\n", "market.failure_share must be a number"),
        (
            MINIMAL + "market: {fee_limit_ppm: [5000, 5000]}\n",
            r"market.fee_limit_ppm is \[lowest, highest\] .* got \[5000.0, 5000.0\]",
        ),
        (MINIMAL + "market: {regime_days: 0}\n", "market.regime_days must be between 0.1"),
        (MINIMAL.replace("seed: 1\n", ""), "missing required key 'seed'"),
        (MINIMAL.replace("seed: 1", "seed: true"), "seed must be an integer"),
        (MINIMAL.replace("seed: 1", "seed: -4"), "seed must be at least 0"),
        (MINIMAL.replace("count: 2", "count: 0"), r"groups\[0\].count must be at least 1"),
        (MINIMAL.replace("    count: 2\n", ""), r"groups\[0\] needs a count"),
        (MINIMAL + "    capacity_sat: [9000000, 1000000]\n", "min 9000000 is above max 1000000"),
        (MINIMAL + "    balance_ratio: [0.5, 1.5]\n", "balance_ratio values must be between 0"),
        (MINIMAL + "    fee_ppm: [1.5, 3]\n", "fee_ppm must hold integers"),
        (MINIMAL + "    fee_ppm: cheap\n", "fee_ppm must be a number or a"),
        (
            MINIMAL.replace("2026-02-03T00:00:00Z", "2026-02-03 00:00:00"),
            "start must name its time zone",
        ),
        (MINIMAL.replace("2026-02-03T00:00:00Z", "tomorrow"), "start 'tomorrow' is not a time"),
        (MINIMAL + "history_days: 400\n", "history_days must be between 0 and 366"),
        (MINIMAL + "allow_positive_inbound: yes please\n", "allow_positive_inbound must be true"),
        (MINIMAL + "graph: {source: imaginary}\n", "graph.source must be 'synthetic' or 'real'"),
        (MINIMAL + "graph: {source: real}\n", "a real graph needs graph.path"),
        (MINIMAL + "graph: {source: synthetic}\n", "a synthetic graph needs graph.nodes"),
        (MINIMAL + "graph: {source: synthetic, nodes: 2}\n", r"graph.nodes \(2\) must exceed"),
        (MINIMAL + "graph: {source: real, path: x, nodes: 5}\n", "graph.nodes applies only"),
        (MINIMAL + "alias: " + "x" * 40 + "\n", "alias must be a non-empty string of at most 32"),
        (MINIMAL.replace("groups:\n  - profile: balanced\n    count: 2\n", "groups: []\n"),
         "groups must be a non-empty list"),
        ("- 1\n- 2\n", "must be a mapping"),
        ("seed: [1\n", "not valid YAML at line"),
    ],
)
def test_bad_scenarios_are_refused_with_a_clear_error(text: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message) as info:
        parse(text)
    assert str(info.value).startswith("scenario t: ")
    assert "\n" not in str(info.value)


def test_unknown_shipped_name_lists_the_shipped_ones() -> None:
    expected = r"unknown scenario 'nope': shipped scenarios are .*demo"
    with pytest.raises(ScenarioError, match=expected):
        load_scenario("nope")


def test_missing_file_is_named(tmp_path) -> None:
    missing = tmp_path / "missing.yml"
    with pytest.raises(ScenarioError, match=f"scenario file {missing} does not exist"):
        load_scenario(str(missing))


def test_relative_real_graph_path_is_resolved_against_the_scenario_file(tmp_path) -> None:
    text = MINIMAL + "graph: {source: real, path: graphdir}\n"
    path = write(tmp_path, text)
    sc = load_scenario(path)
    assert sc.base_dir == str(tmp_path.resolve())
    with pytest.raises(ScenarioError, match=f"{tmp_path.resolve() / 'graphdir'} does not exist"):
        SimulatedNode.from_config(sc)


@pytest.mark.parametrize(
    "name", [n for n in shipped_scenarios() if n not in ("large", "mainnet")]
)
def test_shipped_synthetic_scenarios_build(name: str) -> None:
    sc = load_scenario(name)
    node = SimulatedNode.from_config(sc)
    assert len(node.channels()) == sc.channel_count
    assert node.forward_count() > 1000
    assert node.allow_positive_inbound is sc.allow_positive_inbound


@settings(max_examples=40, deadline=None)
@given(
    key=st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12),
    where=st.sampled_from(["top", "group", "graph", "market"]),
)
def test_any_unknown_key_is_named(key: str, where: str) -> None:
    allowed = {
        "top": TOP_KEYS,
        "group": GROUP_KEYS,
        "graph": GRAPH_KEYS,
        "market": MARKET_KEYS,
    }[where]
    assume(key not in allowed)
    quoted = f"'{key}'"  # quoted: YAML would read yes/no/on/off/null as other types
    if where == "top":
        text = MINIMAL + f"{quoted}: 1\n"
    elif where == "group":
        text = MINIMAL + f"    {quoted}: 1\n"
    elif where == "graph":
        text = MINIMAL + f"graph: {{source: synthetic, nodes: 50, {quoted}: 1}}\n"
    else:
        text = MINIMAL + f"market: {{{quoted}: 1}}\n"
    with pytest.raises(ScenarioError, match=f"unknown key '{key}'"):
        parse(text)
