"""Benchmark of the journaled write path and of the journal's queries as it grows.

Run: ``.venv/bin/python benchmarks/bench_journal.py [--writes 300] [--rows 100000]``
(about half a minute). Prints:

* live writes through the actuator against the simulator over gRPC on loopback: each is
  INTENT, node call, APPLIED, read-back, VERIFIED, with three fsync'd transactions (WAL,
  synchronous=FULL) — median and p95 latency, writes per second;
* decisions journaled per second (one transaction each);
* on a journal grown to ``--rows`` changes (written directly, as months of cycles would leave
  it): file size, and the time of the queries the write path and the CLI make: one channel's
  history, the effective changes ``rollback --last`` plans from, the hourly-cap count, the
  cooldown look-up, and opening the file (integrity check included).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import msgspec  # noqa: E402

from mcp_optimizer.journal import Journal  # noqa: E402
from mcp_optimizer.journal.states import EFFECTIVE_STATES, WRITE_STATES  # noqa: E402
from mcp_optimizer.messages import (  # noqa: E402
    ChangeState,
    Decision,
    DecisionKind,
    Mode,
)
from mcp_optimizer.policies.config import load_policy  # noqa: E402
from mcp_optimizer.safety.actuator import Actuator  # noqa: E402


def _ms(values: list[float]) -> str:
    values = sorted(values)
    p95 = values[int(len(values) * 0.95) - 1]
    return f"median {statistics.median(values) * 1000:.2f} ms, p95 {p95 * 1000:.2f} ms"


def bench_writes(n: int, tmp: Path) -> None:
    from journal_sim import SimNode

    sim = SimNode(tmp / "sim")
    policy = load_policy(environ={"MCP_POLICY__COOLDOWN_S": "0"})
    env = {"MCP_MAX_CHANGES_PER_HOUR": "1000000", "MCP_MAX_CHANGES_PER_DAY": "1000000"}
    journal = Journal.open(tmp / "w")
    act = Actuator(journal, sim.client, policy, tmp / "w", environ=env)
    act.set_mode(Mode.LIVE, by="bench")
    chans = sim.client.list_channels()
    act.observe(chans)
    rng = random.Random(1)
    times = []
    for _ in range(n):
        ch = rng.choice(chans)
        cur = sim.client.get_policy(ch.chan_id)
        rate = cur.fee_rate_ppm
        while abs(rate - cur.fee_rate_ppm) < 5:
            step = rng.choice([-1, 1]) * rng.randint(5, 200)
            rate = min(2500, max(1, cur.fee_rate_ppm + step))
        d = Decision(
            chan_id=ch.chan_id, kind=DecisionKind.LOWER_FEES, current_policy=cur,
            proposed_policy=msgspec.structs.replace(cur, fee_rate_ppm=rate), reasons=["bench"],
            factors=[], score=0.5, executable=True, evaluated_at_s=0,
        )
        t = time.perf_counter()
        rec = act.apply_decision(d, ch.channel_point)
        times.append(time.perf_counter() - t)
        assert rec.state is ChangeState.VERIFIED, rec.events[-1].detail
    total = sum(times)
    print(f"live writes (decision + intent + node + applied + read-back + verified), n={n}:")
    print(f"  {_ms(times)}; {n / total:.0f} writes/s")
    t = time.perf_counter()
    for _ in range(n):
        journal.record_decision(d, 0)
    el = time.perf_counter() - t
    print(f"decisions journaled: {n / el:.0f} /s ({el / n * 1000:.2f} ms each)")
    act.close()
    journal.close()
    sim.close()


def bench_queries(rows: int, tmp: Path) -> None:
    data = tmp / "q"
    journal = Journal.open(data)
    policy_json = msgspec.json.encode(
        msgspec.json.decode(
            b'{"type":"ChannelPolicy","base_fee_msat":1000,"fee_rate_ppm":500,'
            b'"inbound_base_fee_msat":0,"inbound_fee_rate_ppm":0,"time_lock_delta":80,'
            b'"min_htlc_msat":1000,"max_htlc_msat":990000000,"disabled":false,'
            b'"last_update_s":0}'
        )
    ).decode()
    con = journal._con  # bulk fill: one transaction, as many rows as months of cycles
    rng = random.Random(2)
    states = ["held", "held", "refused", "verified", "shadowed", "external"]
    t0 = 1_700_000_000
    con.execute("BEGIN")
    for i in range(rows):
        st = rng.choice(states)
        con.execute(
            "INSERT INTO changes(chan_id, channel_point, origin, mode, state, old_policy, "
            "new_policy, observed_policy, reasons, requested_at_s, updated_at_s) "
            "VALUES (?, ?, ?, 'live', ?, ?, ?, ?, '[\"bench\"]', ?, ?)",
            (
                rng.randrange(2000), "aa:0", "external" if st == "external" else "service",
                st, policy_json, policy_json, policy_json, t0 + i * 60, t0 + i * 60,
            ),
        )
        con.execute(
            "INSERT INTO change_events(change_id, state, at_s, detail) VALUES (?, ?, ?, 'x')",
            (i + 1, st, t0 + i * 60),
        )
    con.execute("COMMIT")
    journal._con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    journal.close()
    size = sum(p.stat().st_size for p in data.glob("journal.sqlite3*"))
    t = time.perf_counter()
    journal = Journal.open(data)
    open_s = time.perf_counter() - t
    now = t0 + rows * 60

    def timed(label: str, fn, repeat: int = 5) -> None:
        ts = []
        for _ in range(repeat):
            t = time.perf_counter()
            out = fn()
            ts.append(time.perf_counter() - t)
        n = len(out) if isinstance(out, list) else out
        print(f"  {label}: {statistics.median(ts) * 1000:.1f} ms ({n})")

    print(f"journal with {rows} changes ({size / 1e6:.1f} MB incl. WAL); open + check "
          f"{open_s * 1000:.0f} ms")
    timed("one channel's history", lambda: journal.changes(chan_id=7))
    timed("latest effective change (rollback --last)",
          lambda: journal.latest_change(EFFECTIVE_STATES).change_id)
    timed("hourly-cap count", lambda: journal.count_service_changes(now - 3600, WRITE_STATES))
    timed("cooldown look-up", lambda: journal.last_change_at(7, WRITE_STATES)[0])
    timed("pending check", lambda: int(journal.has_pending()))
    timed("history since 1 day", lambda: journal.changes(since_s=now - 86400))
    journal.close()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--writes", type=int, default=300)
    ap.add_argument("--rows", type=int, default=100_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        bench_writes(args.writes, Path(d))
        bench_queries(args.rows, Path(d))
    return 0


if __name__ == "__main__":
    sys.exit(main())
