"""Notifications over a real loopback HTTP endpoint (apprise's ``json://`` scheme): what it
receives, a 500 and a timeout retried then logged and counted, secrets in the URL never
written, the notifier's thread that never blocks its callers, and ``notify-test``."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest
from loguru import logger
from notify_support import endpoint
from prometheus_client import CollectorRegistry

from mcp_optimizer.journal import Journal
from mcp_optimizer.messages import CycleOutcome
from mcp_optimizer.messages.control import CycleDone
from mcp_optimizer.messages.journal import Mode, ModeChange
from mcp_optimizer.notify.events import EventKind, Notice
from mcp_optimizer.notify.metrics import NotifyMetrics
from mcp_optimizer.notify.sender import Sender
from mcp_optimizer.notify.settings import load_notify_settings
from mcp_optimizer.notify.worker import Notifier

PASSWORD = "pAssw0rdNeverLogged"
TOKEN = "T0kenInThePath9876"


@pytest.fixture
def log_lines():
    lines: list[str] = []
    sink = logger.add(lambda m: lines.append(str(m)), level="DEBUG", format="{message}")
    yield lines
    logger.remove(sink)


def value(registry, name, event):
    return registry.get_sample_value(name, {"event": event}) or 0.0


def test_sent_to_the_endpoint_500_and_timeout_retried_logged_counted(log_lines, capfd):
    with endpoint() as ep:
        ep.status[f"/broken/{TOKEN}"] = 500
        ep.hold[f"/slow/{TOKEN}"] = threading.Event()  # outlasts the read timeout (0.5 s)
        urls = [
            ep.url(f"/ok/{TOKEN}").replace("json://", f"json://op:{PASSWORD}@"),
            ep.url(f"/broken/{TOKEN}"),
            ep.url(f"/slow/{TOKEN}", rto="0.5"),
        ]
        settings = load_notify_settings({"MCP_NOTIFY_URLS": " ".join(urls)})
        registry = CollectorRegistry()
        waits: list[float] = []
        sender = Sender(settings.targets, NotifyMetrics(registry), attempts=3,
                        sleep=waits.append)
        failures = sender.send(Notice(EventKind.MODE, "Mode dry-run -> live", "by web"))

        (got,) = ep.messages(f"/ok/{TOKEN}")
        assert (got["title"], got["message"]) == ("Mode dry-run -> live", "by web")
        assert ep.hits[f"/broken/{TOKEN}"] == 3 and ep.hits[f"/slow/{TOKEN}"] == 3
        assert waits == [2.0, 4.0, 2.0, 4.0]  # exponential backoff between tries, per URL
        port = ep.port
        assert [f.name for f in failures] == [f"#2 json://127.0.0.1:{port}",
                                              f"#3 json://127.0.0.1:{port}"]
        assert "500" in failures[0].reason
        assert "timed out" in failures[1].reason.lower() or "error" in failures[1].reason.lower()
    assert value(registry, "mcp_notifications_sent_total", "mode") == 1
    assert value(registry, "mcp_notifications_failed_total", "mode") == 2
    warnings = [ln for ln in log_lines if "not sent to" in ln]
    assert len(warnings) == 2 and f"#2 json://127.0.0.1:{port}" in warnings[0]
    out, err = capfd.readouterr()
    everything = "\n".join([*log_lines, out, err, repr(settings), repr(failures)])
    assert PASSWORD not in everything and TOKEN not in everything


def test_notifier_never_blocks_its_callers_and_counts_what_it_drops(tmp_path, log_lines):
    journal = Journal.open(tmp_path)
    with endpoint() as ep:
        path = f"/hook/{TOKEN}"
        ep.hold[path] = threading.Event()
        settings = load_notify_settings({"MCP_NOTIFY_URLS": ep.url(path, rto="120")})
        registry = CollectorRegistry()
        metrics = NotifyMetrics(registry)
        notifier = Notifier(settings, journal, metrics=metrics,
                            sender=Sender(settings.targets, metrics, attempts=1),
                            queue_size=2)
        notifier.start()
        try:
            change = ModeChange(at_s=0, old_mode=Mode.SHADOW, new_mode=Mode.DRY_RUN, by="cli",
                                reason="")
            notifier.mode_changed(change)  # taken by the thread, which waits on the endpoint
            ep.wait_for(lambda _: ep.hits.get(path, 0) == 1)
            # the endpoint holds; none of these waits for it (a blocked call would hang here)
            notifier.pause_changed(True, "cli", "maintenance", ["api"])
            notifier.crashed("scorer", "ValueError: boom")
            notifier.cycle_done(CycleDone(
                cycle_id=1, trigger="schedule", started_at_s=0, finished_at_s=1,
                outcome=CycleOutcome.FAILED, detail="ingestion failed: node down", channels=0,
                decisions=0, actions=0, actions_by_outcome={}))  # queue full: dropped
            assert value(registry, "mcp_notifications_dropped_total", "changes_applied") == 1
            assert any("dropped: the notifier's queue is full" in ln for ln in log_lines)
            ep.release()
            got = ep.wait_for(lambda m: len(m) == 3)
            assert [m["title"] for m in got] == ["Mode shadow -> dry-run", "Paused",
                                                 "Actor scorer crashed"]
        finally:
            notifier.stop(timeout_s=60)
            journal.close()
    assert value(registry, "mcp_notifications_sent_total", "crash") == 1


def test_notifier_survives_a_failing_item_and_goes_on(tmp_path, log_lines):
    journal = Journal.open(tmp_path)
    with endpoint() as ep:
        settings = load_notify_settings({"MCP_NOTIFY_URLS": ep.url("/h")})
        notifier = Notifier(settings, journal, sender=Sender(settings.targets, attempts=1))
        notifier.start()
        try:
            journal.close()  # the cycle's journal read fails in the notifier's thread
            notifier.cycle_done(CycleDone(
                cycle_id=1, trigger="schedule", started_at_s=0, finished_at_s=1,
                outcome=CycleOutcome.OK, detail="", channels=0, decisions=0, actions=0,
                actions_by_outcome={}))
            notifier.crashed("lnd", "OSError: gone")
            got = ep.wait_for(lambda m: len(m) == 1)
            assert got[0]["title"] == "Actor lnd crashed"
            assert any("the notifier failed on one item (cycle)" in ln for ln in log_lines)
        finally:
            notifier.stop(timeout_s=60)


def test_notify_test_cli_names_the_failed_urls_without_secrets():
    with endpoint() as ep:
        ep.status[f"/bad/{TOKEN}"] = 500
        env = dict(os.environ)
        env["MCP_NOTIFY_URLS"] = ",".join([
            ep.url(f"/good/{TOKEN}").replace("json://", f"json://op:{PASSWORD}@"),
            ep.url(f"/bad/{TOKEN}"),
        ])
        r = subprocess.run([sys.executable, "-m", "mcp_optimizer", "notify-test"], env=env,
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 1, r.stderr
        lines = r.stdout.splitlines()
        assert lines[0] == f"#1 json://127.0.0.1:{ep.port}: sent"
        assert lines[1].startswith(f"#2 json://127.0.0.1:{ep.port}: FAILED: ") and "500" in lines[1]
        assert lines[2] == "1 of 2 URL(s) failed"
        (got,) = ep.messages(f"/good/{TOKEN}")
        assert got["title"] == "Test notification"
        assert PASSWORD not in r.stdout + r.stderr and TOKEN not in r.stdout + r.stderr

        env["MCP_NOTIFY_URLS"] = ep.url(f"/good/{TOKEN}")
        ok = subprocess.run([sys.executable, "-m", "mcp_optimizer", "notify-test"], env=env,
                            capture_output=True, text=True, timeout=120)
        assert ok.returncode == 0 and ok.stdout == f"#1 json://127.0.0.1:{ep.port}: sent\n"

        env["MCP_NOTIFY_URLS"] = f"nosuch://{PASSWORD}@example.com/x"
        bad = subprocess.run([sys.executable, "-m", "mcp_optimizer", "notify-test"], env=env,
                             capture_output=True, text=True, timeout=120)
        assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
        assert "URL #1 nosuch://example.com is not one apprise" in bad.stderr
        assert PASSWORD not in bad.stderr


def test_a_bad_url_refuses_the_start_in_one_line_before_anything_is_written(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MCP_LND_", "MCP_CONTROL"))}
    env["MCP_DATA_DIR"] = str(tmp_path / "data")
    env["MCP_HTTP_PORT"] = "0"
    env["MCP_NOTIFY_URLS"] = f"ntfy://ntfy.sh/ok nosuch://{PASSWORD}@hooks.example.com/{TOKEN}"
    r = subprocess.run([sys.executable, "-m", "mcp_optimizer", "run"], env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip().splitlines() == [
        "mcp-optimizer run: cannot run: MCP_NOTIFY_URLS: URL #2 nosuch://hooks.example.com is "
        "not one apprise can send to (unknown scheme or missing parts; see "
        "https://github.com/caronc/apprise/wiki)"]
    assert not (tmp_path / "data").exists()
