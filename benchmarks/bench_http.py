"""Benchmark of the HTTP side: the server choice, a scrape of a running service, and the
journal collector's cost as the journal grows.

Run: ``.venv/bin/python benchmarks/bench_http.py [--requests 500] [--rows 100000]``
(about a minute). Prints:

* the server choice, each server in a process of its own answering the same /metrics body
  over keep-alive: hypercorn's trio worker with Starlette (what the service uses), hypercorn
  with a bare ASGI app (Starlette's share), and prometheus_client's threaded stdlib server
  (the smallest alternative, which cannot run on the service's trio loop nor serve the web
  page) — median and p95 latency and the server's CPU time per request;
* ``mcp-optimizer run`` on the embedded simulator after a live cycle: the size of a scrape
  (bytes, samples), and /metrics and /healthz latency (median, p95);
* a journal grown to ``--rows`` changes (three state events each) and as many decisions:
  the first scrape of the journal collector (a full count) and the next ones (only new rows).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import httpx  # noqa: E402

SERVER = textwrap.dedent("""
    import sys, time, trio
    from hypercorn.config import Config
    from hypercorn.trio import serve
    from prometheus_client import CollectorRegistry, Counter, ProcessCollector, generate_latest
    from prometheus_client import start_http_server
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    reg = CollectorRegistry()
    ProcessCollector(registry=reg)
    c = Counter("bench", "bench", ["n"], registry=reg)
    for i in range(150):
        c.labels(str(i)).inc()

    async def metrics(request):
        return Response(generate_latest(reg), media_type="text/plain")

    async def raw(scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                m = await receive()
                done = m["type"] == "lifespan.shutdown"
                await send({"type": m["type"] + ".complete"})
                if done:
                    return
        body = generate_latest(reg)
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": body})

    kind, port = sys.argv[1], int(sys.argv[2])
    if kind == "thread":
        start_http_server(port, addr="127.0.0.1", registry=reg)
        while True:
            time.sleep(3600)
    cfg = Config()
    cfg.bind = [f"127.0.0.1:{port}"]
    cfg.accesslog = None
    cfg.errorlog = None
    app = Starlette(routes=[Route("/metrics", metrics)]) if kind == "starlette" else raw
    trio.run(serve, app, cfg)
""")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _timed(client: httpx.Client, url: str, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        r = client.get(url)
        out.append(time.perf_counter() - t)
        assert r.status_code == 200, r.status_code
    return sorted(out)


def _ms(ts: list[float]) -> str:
    return (f"median {statistics.median(ts) * 1e3:6.2f} ms, p95 "
            f"{ts[int(0.95 * (len(ts) - 1))] * 1e3:6.2f} ms")


def server_choice(n: int) -> None:
    print(f"server choice ({n} keep-alive GET /metrics each, ~6 kB body):")
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "server.py"
        script.write_text(SERVER)
        for kind, name in (("starlette", "hypercorn (trio) + Starlette"),
                           ("raw", "hypercorn (trio), bare ASGI"),
                           ("thread", "prometheus_client stdlib thread")):
            port = _free_port()
            proc = subprocess.Popen([sys.executable, str(script), kind, str(port)])
            try:
                url = f"http://127.0.0.1:{port}/metrics"
                with httpx.Client() as client:
                    for _ in range(200):
                        try:
                            client.get(url)
                            break
                        except httpx.TransportError:
                            time.sleep(0.05)
                    _timed(client, url, 50)
                    c0 = _cpu_s(proc.pid)
                    ts = _timed(client, url, n)
                    cpu = (_cpu_s(proc.pid) - c0) / n
                print(f"  {name:34s} {_ms(ts)}, server CPU {cpu * 1e3:5.2f} ms/request")
            finally:
                proc.terminate()
                proc.wait(10)


def running_service(n: int) -> None:
    from service_support import cli, http_url
    from service_support import running_service as service

    with tempfile.TemporaryDirectory() as tmp:
        with service(Path(tmp), "0") as (env, _proc):
            base = http_url(env)
            assert cli(env, "mode", "live").returncode == 0
            assert cli(env, "evaluate-now").returncode == 0
            with httpx.Client(base_url=base, timeout=60) as client:
                deadline = time.monotonic() + 120
                while "mcp_cycle_duration_seconds_count 2.0" not in client.get("/metrics").text:
                    assert time.monotonic() < deadline, "no cycle ended"
                    time.sleep(0.2)
                body = client.get("/metrics").content
                samples = sum(1 for x in body.splitlines() if x and not x.startswith(b"#"))
                families = body.count(b"# TYPE ")
                print("running service (embedded simulator, 21 channels, after 2 cycles):")
                print(f"  scrape size {len(body):,} bytes, {families} families, "
                      f"{samples} samples")
                print(f"  GET /metrics  {_ms(_timed(client, base + '/metrics', n))}")
                print(f"  GET /healthz  {_ms(_timed(client, base + '/healthz', n))}")


def grown_journal(rows: int) -> None:
    import msgspec
    from builders import policy

    from mcp_optimizer.journal import Journal
    from mcp_optimizer.metrics.journal import JournalCollector

    with tempfile.TemporaryDirectory() as tmp:
        j = Journal.open(tmp)
        pol = msgspec.json.encode(policy()).decode()
        con = j._con
        con.execute("BEGIN")
        con.executemany(
            "INSERT INTO changes(chan_id, channel_point, origin, mode, state, old_policy, "
            "new_policy, observed_policy, requested_at_s, updated_at_s, stopped_by) "
            "VALUES (?, 'x:0', 'service', 'live', 'verified', ?, ?, '{}', ?, ?, ?)",
            [(1000 + i % 500, pol, pol, 1_700_000_000 + i, 1_700_000_000 + i,
              '[{"gate":"cooldown","effect":"hold","reason":"r"}]' if i % 7 == 0 else "[]")
             for i in range(rows)])
        con.executemany(
            "INSERT INTO change_events(change_id, state, at_s, detail) VALUES (?, ?, ?, 'x')",
            [(i // 3 + 1, ("intent", "applied", "verified")[i % 3], 1_700_000_000 + i)
             for i in range(3 * rows)])
        con.executemany(
            "INSERT INTO decisions(cycle_id, chan_id, kind, mode, recorded_at_s, decision) "
            "VALUES (1, ?, 'NO_ACTION', 'live', ?, '{}')",
            [(1000 + i % 500, 1_700_000_000 + i) for i in range(rows)])
        con.execute("COMMIT")
        collector = JournalCollector(j.path)
        t = time.perf_counter()
        list(collector.collect())
        cold = time.perf_counter() - t
        warm = []
        for _ in range(20):
            t = time.perf_counter()
            list(collector.collect())
            warm.append(time.perf_counter() - t)
        collector.close()
        j.close()
        print(f"journal collector on {rows:,} changes ({3 * rows:,} events) and {rows:,} "
              f"decisions: first scrape {cold * 1e3:.0f} ms (full count), next "
              f"{statistics.median(warm) * 1e3:.2f} ms (median, new rows only)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=500)
    ap.add_argument("--rows", type=int, default=100_000)
    args = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    server_choice(args.requests)
    running_service(args.requests)
    grown_journal(args.rows)


if __name__ == "__main__":
    main()
