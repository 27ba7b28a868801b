"""The backtest through its public interfaces: one run of the real service on the simulator
over gRPC (run_one), and the ``backtest`` verb (one-line errors, JSON, the plot)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from mcp_optimizer.backtest.harness import CYCLE_S, DAY_S, RunSpec, run_one
from mcp_optimizer.simulator.scenario import load_scenario

SEED = load_scenario("demo").seed


@pytest.fixture(scope="module")
def flow_runs():
    """The flow baseline on demo, two days, twice on the same seed (and once on another)."""
    a = run_one(RunSpec("demo", SEED, 2, "flow"))
    b = run_one(RunSpec("demo", SEED, 2, "flow"))
    return a, b


def _figures(r):
    return (r.revenue_msat, r.forwards, r.failed_by_cause, r.updates, r.fee_paths,
            r.cum_revenue_msat, r.held_by_gate, r.refused_by_gate, r.depleted_share)


def test_a_seed_gives_the_same_run(flow_runs):
    a, b = flow_runs
    assert a.forwards > 0 and a.revenue_msat > 0
    assert _figures(a) == _figures(b)


def test_ground_truth_agrees_with_the_node_and_the_journal_and_nothing_is_out_of_bounds(
    flow_runs,
):
    a, _ = flow_runs
    assert all(a.checks.values()), a.check_detail
    assert a.violations == {} and a.bound_violations == 0
    assert a.cycles == 2 * DAY_S // CYCLE_S and a.cycle_outcomes == {"ok": a.cycles}
    assert a.cum_revenue_msat[-1] == a.revenue_msat
    assert 0.0 <= a.depleted_share <= 1.0


def test_flow_changes_a_channel_at_most_once_per_24_hours(flow_runs):
    a, _ = flow_runs
    assert a.updates > 0, "flow should fire on the demo's idle and drained channels"
    assert a.max_updates_channel_day <= 1
    per_day = DAY_S // CYCLE_S
    for j in range(len(a.chan_ids)):
        path = [p[j] for p in a.fee_paths]
        moved = [k for k in range(1, len(path)) if path[k] != path[k - 1]]
        assert all(y - x >= per_day for x, y in zip(moved, moved[1:], strict=False))


def test_static_reaches_its_fee_through_the_gates_in_steps():
    r = run_one(RunSpec("demo", SEED, 1, "static:2000"))
    assert r.bound_violations == 0 and all(r.checks.values()), r.check_detail
    start = scenario_fees()
    for k, path in enumerate(r.fee_paths):
        before = [start[c] for c in r.chan_ids] if k == 0 else r.fee_paths[k - 1]
        assert all(0 <= new - old <= 250 for old, new in zip(before, path, strict=True))
    assert any(f > max(start.values()) for f in r.fee_paths[-1])  # on its way up
    assert sum(r.held_by_gate.values()) > 0  # 21 channels against 6 changes an hour


def scenario_fees() -> dict[int, int]:
    from mcp_optimizer.simulator.model import SimulatedNode

    node = SimulatedNode.from_config(load_scenario("demo"))
    return {c.chan_id: c.local_policy.fee_rate_ppm for c in node.channels()}


def _cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mcp_optimizer", "backtest", *args],
        capture_output=True, text=True, timeout=timeout,
    )


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--strategy", "static:abc"], "static:abc"),
        (["--compare", "keep,bogus"], "bogus"),
        (["--days", "0"], "--days"),
        (["--days", "nan"], "--days"),
        (["--seeds", "0"], "--seeds"),
        (["--scenario", "no-such-scenario"], "no-such-scenario"),
        (["--plot", "out.jpg"], "--plot"),
        (["--plot", "/no/such/dir/x.png"], "--plot"),
        (["--static-grid", "10,x"], "--static-grid"),
    ],
)
def test_bad_arguments_give_one_line_and_status_2(args, named):
    p = _cli(*args, "--no-progress", timeout=60)
    assert p.returncode == 2, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and named in lines[0], p.stderr
    assert p.stdout == ""


def test_cli_json_and_plot(tmp_path):
    png = tmp_path / "bt.png"
    p = _cli("--days", "0.5", "--seeds", "1", "--strategy", "keep", "--compare", "static:100",
             "--workers", "1", "--json", "--plot", str(png))
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert set(out["strategies"]) == {"keep", "static:100"}
    keep = out["strategies"]["keep"]
    assert keep["policy_updates"]["mean"] == 0 and keep["revenue_msat"]["mean"] > 0
    assert out["ratios"]["keep"]["static:100"]["mean"] > 0
    assert out["checks"]["all_agree"] is True
    assert png.stat().st_size > 10_000 and png.read_bytes()[:4] == b"\x89PNG"
    assert "backtest [" in p.stderr  # the progress bar


def _children(pid: int) -> set[int]:
    out = set()
    for stat in __import__("pathlib").Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.add(int(stat.parent.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = __import__("pathlib").Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1]
    except OSError:
        return False
    return state.split()[0] != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_killed_backtest_leaves_no_worker_running():
    import signal
    import time

    p = subprocess.Popen(
        [sys.executable, "-m", "mcp_optimizer", "backtest", "--days", "30", "--seeds", "1",
         "--strategy", "keep", "--compare", "static:100", "--workers", "2", "--no-progress"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        kids: set[int] = set()
        while len(kids) < 3 and time.monotonic() < deadline:  # the manager and two workers
            time.sleep(0.2)
            kids = _children(p.pid)
        assert len(kids) >= 3, kids
        p.send_signal(signal.SIGKILL)  # nothing of the parent runs: no cleanup of its own
        p.wait(30)
        deadline = time.monotonic() + 60
        while any(_alive(k) for k in kids) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(_alive(k) for k in kids), [k for k in kids if _alive(k)]
    finally:
        if p.poll() is None:
            p.kill()
