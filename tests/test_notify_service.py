"""The running service on the embedded simulator tells a loopback endpoint: its start, the
mode changes, and a live cycle's changes in one message (channel, old -> new fee, reason),
matching the journal; the URL's secrets are in none of the files it wrote."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
from notify_support import endpoint
from service_support import cli, http_url, running_service

from mcp_optimizer.scid import scid_text

TOKEN = "S3rviceT0kenNeverLogged"
PASSWORD = "s3rvicePassw0rdNeverLogged"


def test_live_cycle_sends_one_batched_message(tmp_path, monkeypatch):
    with endpoint() as ep:
        path = f"/hook/{TOKEN}"
        monkeypatch.setenv("MCP_NOTIFY_URLS",
                           ep.url(path).replace("json://", f"json://op:{PASSWORD}@"))
        monkeypatch.setenv("MCP_NOTIFY_MAX_PER_HOUR", "50")
        with running_service(tmp_path) as (env, proc):
            deadline = time.monotonic() + 240  # the first cycle (shadow) ends before going live
            while True:
                st = json.loads(cli(env, "status", "--json").stdout)
                if st["last_cycle"].get("type") == "CycleDone" and not st["cycle_running"]:
                    break
                assert time.monotonic() < deadline, st
                time.sleep(0.2)
            assert cli(env, "mode", "dry-run").returncode == 0
            assert cli(env, "mode", "live").returncode == 0
            r = cli(env, "evaluate-now", "--wait", "--json")
            assert r.returncode == 0, r.stderr
            cycle = json.loads(r.stdout)["cycle"]
            assert cycle["outcome"] == "ok" and cycle["actions_by_outcome"].get("verified", 0) > 0
            got = ep.wait_for(lambda m: any("fee change(s) applied" in x["title"] for x in m))
            titles = [m["title"] for m in got]
            assert titles[0] == "Service started"
            assert "Mode shadow -> dry-run" in titles and "Mode dry-run -> live" in titles
            # one message for the cycle (another cycle a node event started may have its own)
            applied = [m for m in got if "fee change(s) applied" in m["title"]]
            assert (f"{cycle['actions_by_outcome']['verified']} fee change(s) applied "
                    f"(cycle {cycle['cycle_id']})") in [m["title"] for m in applied]
            hist = cli(env, "history", "--json")
            assert hist.returncode == 0, hist.stderr
            verified = [c for c in json.loads(hist.stdout)
                        if c["state"] == "verified" and c["mode"] == "live"]
            lines = [ln for m in applied for ln in m["message"].splitlines()]
            assert len(lines) == len(verified)
            for c in verified:
                old, new = c["old_policy"]["fee_rate_ppm"], c["new_policy"]["fee_rate_ppm"]
                line = next(ln for ln in lines if ln.startswith(scid_text(c["chan_id"]) + ":"))
                assert f"{old} ppm" in line and f"-> {new} ppm" in line
                assert c["reasons"][0] in line
            sent = f'mcp_notifications_sent_total{{event="changes_applied"}} {len(applied)}.0'
            deadline = time.monotonic() + 60  # counted once the endpoint's answer is read
            while sent not in (metrics := httpx.get(http_url(env) + "/metrics", timeout=60).text):
                assert time.monotonic() < deadline, metrics
                time.sleep(0.1)
            assert 'mcp_notifications_failed_total{event="changes_applied"} 0.0' in metrics
    written = [p for p in Path(tmp_path).rglob("*") if p.is_file()]
    assert any(p.name == "service.log" for p in written)
    for p in written:
        data = p.read_bytes()
        assert TOKEN.encode() not in data and PASSWORD.encode() not in data, p
