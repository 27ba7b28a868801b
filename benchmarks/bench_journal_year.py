"""Benchmark: a year of 6-hourly cycles on 2,000 channels, journaled and compacted.

Writes into a real journal file what 1,460 cycles of a 2,000-channel node leave there, as the
write path records it (``Journal.batch``, one transaction per cycle): every channel's
decision (real ``Decision`` messages from the engine on synthetic snapshots, reasons and
factor breakdowns included), for the channels the engine wants to move a change stopped by
the cooldown or the caps (HELD, routine), within the caps a dry-run change (NOT_EXECUTED,
kept forever), now and then an external change; the journal's clock moves 6 h per cycle and
the runner's compaction (``compact_if_due``, the default 3-day window, once a day) runs after
each cycle, as in the service. Then: the file's size, the time to open it (its integrity
check included), and the queries of a cycle and of the views on it.

Run: .venv/bin/python benchmarks/bench_journal_year.py [--days 365] [--channels 2000]
Figures: docs/benchmarks.md ("journal over a year").
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import msgspec
from sample_snapshots import sample_snapshots

from mcp_optimizer.journal import Journal
from mcp_optimizer.journal.compaction import CompactionSettings
from mcp_optimizer.journal.states import EFFECTIVE_STATES, as_if_states
from mcp_optimizer.messages import (
    ChangeOrigin,
    ChangeState,
    CycleOutcome,
    DecisionKind,
    Gate,
    GateEffect,
    GateStop,
    Mode,
)
from mcp_optimizer.policies.config import load_policy
from mcp_optimizer.policies.engine import evaluate_channel

START_S = 1_790_000_000


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--channels", type=int, default=2000)
    ap.add_argument("--report-days", type=int, default=30, help="print the size every N days")
    args = ap.parse_args()
    from loguru import logger

    logger.remove()  # one INFO line per change would be most of the time measured
    policy = load_policy(environ={})
    snaps = sample_snapshots(args.channels)
    decisions = [evaluate_channel(s, policy) for s in snaps]
    acting = sum(d.kind is not DecisionKind.NO_ACTION for d in decisions)
    size = sum(len(msgspec.json.encode(d)) for d in decisions) / len(decisions)
    print(f"{args.channels} channels, {args.days} days of 6-hourly cycles; the engine moves "
          f"{acting} of them each cycle; a decision is {size:.0f} bytes of JSON (load "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())})", flush=True)
    clock = {"t": float(START_S)}
    rng = random.Random(5)
    hold = [GateStop(gate=Gate.COOLDOWN, effect=GateEffect.HOLD,
                     reason="the channel was changed by change 1 3600 s ago; cooldown is 86400 s")]
    close = [GateStop(gate=Gate.CLOSE_DISABLED, effect=GateEffect.REFUSE,
                      reason="closing channels is a recommendation only (policy close.execute "
                      "is false)")]
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        journal = Journal.open(data, lambda: clock["t"])
        journal.set_mode(Mode.DRY_RUN, "benchmark")
        settings = CompactionSettings()
        counted = as_if_states(Mode.DRY_RUN)
        started = time.perf_counter()
        cycles = args.days * 4
        for cycle in range(cycles):
            cid = journal.begin_cycle("schedule")
            budget = 12  # the daily cap (48) over 4 cycles
            with journal.batch():
                for d in decisions:
                    did = journal.record_decision(d, cid)
                    if d.kind is DecisionKind.NO_ACTION:
                        continue
                    point = f"{d.chan_id:064x}:0"
                    state, stops = ChangeState.HELD, hold
                    if d.kind is DecisionKind.CLOSE_CHANNEL:
                        state, stops = ChangeState.REFUSED, close
                    elif budget and rng.random() < 0.02:
                        state, stops, budget = ChangeState.NOT_EXECUTED, [], budget - 1
                    journal.record_change(
                        chan_id=d.chan_id, channel_point=point, origin=ChangeOrigin.SERVICE,
                        mode=Mode.DRY_RUN, state=state, old_policy=d.current_policy,
                        new_policy=d.proposed_policy, reasons=d.reasons,
                        detail="; ".join(s.reason for s in stops) or "dry-run: not sent",
                        decision_id=did, stopped_by=stops,
                    )
                if cycle % 28 == 5:
                    d = decisions[cycle % len(decisions)]
                    journal.record_change(
                        chan_id=d.chan_id, channel_point=f"{d.chan_id:064x}:0",
                        origin=ChangeOrigin.EXTERNAL, mode=Mode.DRY_RUN,
                        state=ChangeState.EXTERNAL, old_policy=d.current_policy,
                        new_policy=d.proposed_policy, reasons=["changed on the node"],
                        detail="found on the node", observed=d.proposed_policy,
                        known_after=True,
                    )
            journal.finish_cycle(cid, CycleOutcome.OK)
            journal.compact_if_due(settings, by="benchmark")
            clock["t"] += 6 * 3600
            if cycle % (4 * args.report_days) == 4 * args.report_days - 1:
                mib = journal.path.stat().st_size / 2**20
                print(f"  day {cycle // 4 + 1:4d}: {mib:7.1f} MiB, "
                      f"{time.perf_counter() - started:6.0f} s so far", flush=True)
        journal.close()
        path = data / "journal.sqlite3"
        wal = path.with_name(path.name + "-wal")
        mib = path.stat().st_size / 2**20
        t = time.perf_counter()
        journal = Journal.open(data, lambda: clock["t"])
        open_s = time.perf_counter() - t
        rows = {t: journal._query(f"SELECT count(*) FROM {t}")[0][0]
                for t in ("decisions", "changes", "change_events", "routine_days",
                          "compactions", "cycles")}
        print(f"after {args.days} days: {mib:.1f} MiB on disk "
              f"(WAL {wal.stat().st_size / 2**20 if wal.exists() else 0:.1f} MiB); "
              f"opens in {open_s:.2f} s (integrity check included); rows {rows}")
        chan = decisions[0].chan_id
        for label, fn in (
            ("a cycle's cooldown look-up (2,000 channels)",
             lambda: [journal.last_change_at(d.chan_id, counted) for d in decisions]),
            ("the hourly and daily cap counts",
             lambda: (journal.count_service_changes(int(clock["t"]) - 3600, counted),
                      journal.count_service_changes(int(clock["t"]) - 86400, counted))),
            ("one channel's history (`history --channel`)", lambda: journal.changes(chan)),
            ("effective changes (`rollback --last`)",
             lambda: journal.latest_change(EFFECTIVE_STATES)),
            ("the last cycle's decisions (`cycle`)",
             lambda: journal.decisions(cycle_id=cycles, limit=10**6)),
            ("one channel's decisions", lambda: journal.decisions(chan_id=chan, limit=100)),
        ):
            t = time.perf_counter()
            fn()
            print(f"  {label:<48} {1000 * (time.perf_counter() - t):8.1f} ms")
        journal.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
