"""What the control room costs to render on a big node: 2,000 channels and a journal of
100,000 changes (plus one cycle's 2,000 decisions), through the real Starlette app and routes
(in-process, no socket), the journal read-only as the service reads it.

Run: ``.venv/bin/python benchmarks/bench_web.py [--channels 2000] [--rows 100000]``
(about a minute). Prints, per page and API call: median and max of 5 requests, and the
response's size. The node's forwarding history (revenue windows) is not read here: the page
reads it once per 5 minutes in a worker thread (``web/history.py``), apart from rendering.
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
sys.path.insert(0, str(ROOT / "benchmarks"))

import msgspec  # noqa: E402
from prometheus_client import CollectorRegistry  # noqa: E402
from sample_snapshots import sample_snapshots  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from mcp_optimizer.http.app import build_app  # noqa: E402
from mcp_optimizer.http.context import HttpContext  # noqa: E402
from mcp_optimizer.journal import Journal  # noqa: E402
from mcp_optimizer.messages.control import (  # noqa: E402
    NoCycleDue,
    NoCycleYet,
    SafeModeOff,
    StatusReply,
)
from mcp_optimizer.messages.journal import Mode, PauseState  # noqa: E402
from mcp_optimizer.policies.engine import evaluate_channel  # noqa: E402
from mcp_optimizer.policies.layers import load_effective  # noqa: E402


class Runner:
    """What the routes read of the cycle runner: the latest snapshots."""

    def __init__(self, snapshots):
        self.last_snapshots = snapshots
        self.snapshot_listeners = []


def build(tmp: Path, channels: int, rows: int):
    snaps = sample_snapshots(channels)
    ids = [s.channel.chan_id for s in snaps]
    journal = Journal.open(tmp)
    policy = load_effective(None, tmp, {}).policy
    enc = msgspec.json.Encoder()
    pol = enc.encode(snaps[0].channel.our_policy).decode()
    con = journal._con  # bulk fill, as months of cycles would leave it
    rng = random.Random(3)
    t0 = snaps[0].taken_at_s - rows * 60
    states = ["held", "held", "refused", "verified", "shadowed", "external"]
    con.execute("BEGIN")
    for i in range(rows):
        st = rng.choice(states)
        con.execute(
            "INSERT INTO changes(chan_id, channel_point, origin, mode, state, old_policy, "
            "new_policy, observed_policy, reasons, requested_at_s, updated_at_s) "
            "VALUES (?, 'aa:0', ?, 'live', ?, ?, ?, ?, '[\"bench\"]', ?, ?)",
            (rng.choice(ids), "external" if st == "external" else "service", st, pol, pol,
             pol, t0 + i * 60, t0 + i * 60),
        )
        con.execute("INSERT INTO change_events(change_id, state, at_s, detail) "
                    "VALUES (?, ?, ?, 'x')", (i + 1, st, t0 + i * 60))
    try:  # the journal's checksums (journal/integrity.py), as the write path would seal them
        from mcp_optimizer.journal.integrity import fill_sums_v6

        fill_sums_v6(con.cursor())
    except ImportError:
        pass
    con.execute("COMMIT")
    journal.close()
    for marker in tmp.glob("journal.marker"):  # the bulk fill bypassed what the marker counts
        marker.unlink()
    clock = [float(snaps[0].taken_at_s)]
    journal = Journal.open(tmp, clock=lambda: clock[0])
    cycle = journal.begin_cycle("bench")
    for s in snaps:
        journal.record_decision(evaluate_channel(s, policy), cycle)
    journal.close()
    return snaps, clock


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--channels", type=int, default=2000)
    ap.add_argument("--rows", type=int, default=100_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        t = time.perf_counter()
        snaps, clock = build(tmp, args.channels, args.rows)
        print(f"built {args.channels} channels, {args.rows:,} changes, {args.channels} "
              f"decisions in {time.perf_counter() - t:.1f} s")
        now = int(clock[0])

        def status() -> StatusReply:
            return StatusReply(
                node="bench", started_at_s=now, mode=Mode.SHADOW,
                pause=PauseState(paused=False, sources=[], reason=""), safe_mode=SafeModeOff(),
                actors=[], cycle_running=False, last_cycle=NoCycleYet(),
                next_cycle=NoCycleDue(reason="bench"), open_crashes=[])

        async def control(request, by="web"):
            raise AssertionError("reads only")

        from mcp_optimizer.journal.store import journal_path
        from mcp_optimizer.policies.desk import PolicyDesk

        writer = Journal.open(tmp, clock=lambda: clock[0])
        desk = PolicyDesk(writer, load_effective(None, tmp, {}), tmp, {})
        desk.snapshots = lambda: snaps
        ctx = HttpContext(control_handler=control, status_fn=status,
                          journal_path=journal_path(tmp), registry=CollectorRegistry(),
                          journal_clock=lambda: clock[0],
                          extras={"policy": desk, "runner": Runner(snaps)})
        client = TestClient(build_app(ctx), backend="trio")
        scid = client.get("/api/v1/channels?limit=1").json()["channels"][0]["scid"]
        for label, path in (
            ("overview page", "/"),
            ("overview API", "/api/v1/overview"),
            ("channels page (all rows)", "/channels"),
            ("channels page sorted by fees", "/channels?sort=fees&desc=1"),
            ("channels API", "/api/v1/channels"),
            ("a channel's page", f"/channels/{scid}"),
            ("journal page (newest 50)", "/journal"),
            ("journal filtered (verified, 7d)", "/journal?state=verified&since=7d"),
            ("journal page 1,000", "/journal?offset=49950"),
            ("cycles page", "/cycles"),
            ("policy page", "/policy"),
        ):
            times, size = [], 0
            for _ in range(5):
                t = time.perf_counter()
                r = client.get(path)
                times.append(time.perf_counter() - t)
                assert r.status_code == 200, (path, r.status_code, r.text[:200])
                size = len(r.content)
            print(f"  {label:34s} median {statistics.median(times) * 1000:7.1f} ms, "
                  f"max {max(times) * 1000:7.1f} ms, {size / 1024:7.1f} KiB")
        t = time.perf_counter()
        r = client.post("/api/v1/policy/preview", json={"set": {"cooldown_s": "3600"}},
                        headers={"X-CSRF-Token": client.get("/api/v1/csrf").json()["token"]})
        assert r.status_code == 200, r.text
        print(f"  {'policy preview (2,000 decisions x2)':34s} "
              f"{(time.perf_counter() - t) * 1000:7.1f} ms")
        writer.close()


if __name__ == "__main__":
    main()
