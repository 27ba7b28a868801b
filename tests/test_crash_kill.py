"""SIGKILL the writing process at random points, again and again: after restart and
reconciliation the journal and the node agree, and nothing written to the node is untracked.

The simulator runs in this process (gRPC on loopback, writes logged by the model); each worker
(tests/crash_worker.py) is a separate process writing through the actuator. The next worker is
started before the current one is killed, so it is already waiting for the writer lock.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from journal_sim import SimNode, key

from mcp_optimizer.journal import Journal
from mcp_optimizer.messages import ChangeOrigin, ChangeState

KILLS = 50
WORKER = Path(__file__).parent / "crash_worker.py"


@pytest.fixture
def sim(tmp_path):
    node = SimNode(tmp_path / "sim")
    yield node
    node.close()


def _spawn(data: Path, seed: int, env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(WORKER), str(data), str(seed)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=env,
    )


def _ready(proc: subprocess.Popen) -> int:
    line = proc.stdout.readline()
    if not line.startswith("reconciled"):
        proc.kill()
        raise AssertionError(f"worker did not start: {line!r} {proc.stderr.read()[-2000:]}")
    return int(line.split()[1])


def _check_agreement(sim: SimNode, data: Path) -> tuple[int, int]:
    with Journal.open(data, readonly=True) as j:
        assert not j.has_pending(), "a write is left without outcome after reconciliation"
        changes = j.changes()
        known = {k.chan_id: key(k.policy) for k in j.known_policies()}
    on_node = sim.policies()
    assert known == on_node, "the journal's last state differs from the node"
    written = [
        (c.channel_point, key(c.new_policy))
        for c in changes
        if c.origin is not ChangeOrigin.EXTERNAL
        and c.state in (ChangeState.VERIFIED, ChangeState.MISMATCHED)
    ]
    assert written == sim.writes, "the node's writes and the journal's applied changes differ"
    assert not [c for c in changes if c.state is ChangeState.MISMATCHED]
    assert not [c for c in changes if c.origin is ChangeOrigin.EXTERNAL]
    failed = sum(c.state is ChangeState.FAILED for c in changes)
    return len(written), failed


def test_sigkill_at_random_points_leaves_journal_and_node_in_agreement(sim, tmp_path):
    data = tmp_path / "data"
    env = {**os.environ, **sim.env()}
    rng = random.Random(20261127)
    started = time.monotonic()
    current = _spawn(data, 0, env)
    reconciled_total = 0
    reconciled_total += _ready(current)
    for i in range(KILLS):
        _check_agreement(sim, data)
        nxt = _spawn(data, i + 1, env)
        current.stdin.write("go\n")
        current.stdin.flush()
        time.sleep(rng.uniform(0.005, 0.1))
        current.send_signal(signal.SIGKILL)
        current.wait(10)
        assert current.returncode == -signal.SIGKILL, current.stderr.read()[-2000:]
        current.stdout.close()
        current.stderr.close()
        current.stdin.close()
        current = nxt
        reconciled_total += _ready(current)
    writes, failed = _check_agreement(sim, data)
    current.stdin.write("stop\n")
    current.stdin.flush()
    assert current.wait(10) == 0
    elapsed = time.monotonic() - started
    print(
        f"{KILLS} kills in {elapsed:.1f} s: {writes} writes verified, {failed} failed, "
        f"{reconciled_total} interrupted writes reconciled"
    )
    assert writes >= 10  # the workers really wrote between kills (how many: the machine's load)
    assert reconciled_total > 0  # and some kills really landed inside a write
