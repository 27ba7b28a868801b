"""The service's own series, read through its registry as a scrape would: actors, restarts and
the crash they journal, safe mode, the kill switch's sources, the cycles' timings, and the
forwards and fees of the latest ingestion equal to the node's own forwarding history."""

from __future__ import annotations

import time

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from mcp_optimizer.actors.faults import FAULTS
from mcp_optimizer.messages import Mode
from mcp_optimizer.metrics.runtime import STAGES
from mcp_optimizer.runtime.run import open_service
from mcp_optimizer.runtime.settings import ServiceSettings


def scrape(service) -> dict[tuple[str, tuple], float]:
    out = {}
    text = generate_latest(service.metrics_registry).decode()
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    data = tmp_path_factory.mktemp("svc")
    env = {"MCP_DATA_DIR": str(data), "MCP_SIM_SPEED": "0", "MCP_RESTART_INTENSITY": "1/60"}
    with open_service(ServiceSettings.from_env(env), env) as svc:
        yield svc
    FAULTS.disarm()


def test_a_cycle_gives_its_durations_and_the_ingested_forwards_and_fees(service):
    service.actuator.set_mode(Mode.LIVE, by="test")
    done = service.runner.run("test")
    assert done.outcome.value == "ok", done.detail
    v = scrape(service)
    assert v[("mcp_cycle_duration_seconds_count", ())] >= 1
    assert v[("mcp_cycle_duration_seconds_sum", ())] > 0
    for stage in STAGES:
        assert v[("mcp_cycle_stage_duration_seconds_count", (("stage", stage),))] >= 1, stage
    policy = service.runner.policy
    now = service.client.now_s()
    for window, length in (("recent", policy.underperformance.window_s),
                           ("history", policy.windows.history_s)):
        events = [e for page in service.client.forwarding_event_pages(now - length, now + 1)
                  for e in page]
        assert v[("mcp_forwarding_window_seconds", (("window", window),))] == length
        assert v[("mcp_forwards", (("window", window),))] == len(events)
        assert v[("mcp_routing_fees_earned_msat", (("window", window),))] == \
            sum(e.fee_msat for e in events)
    assert v[("mcp_forwards", (("window", "history"),))] > 0


def test_actors_up_then_a_crash_counts_a_restart_and_journals_a_critical_error(service):
    v = scrape(service)
    names = [r.spec.name for r in service.supervisor.snapshot()]
    assert all(v[("mcp_actor_up", (("actor", n),))] == 1.0 for n in names)
    assert v[("mcp_actor_restarts_total", (("actor", "decider"),))] == 0
    assert v[("mcp_last_critical_error_timestamp_seconds", ())] == 0
    FAULTS.arm("decider", request="DecideRequest")
    service.runner.run("test")
    deadline = time.monotonic() + 30
    while scrape(service)[("mcp_actor_restarts_total", (("actor", "decider"),))] < 1:
        assert time.monotonic() < deadline, "no restart counted"
        time.sleep(0.02)
    v = scrape(service)
    assert v[("mcp_actor_crashes_total", (("actor", "decider"),))] == 1
    assert v[("mcp_crashes_total", (("kind", "actor_restart"),))] == 1
    assert v[("mcp_open_crashes", ())] == 1
    crash = service.actuator.open_crashes()[0]
    assert v[("mcp_last_critical_error_timestamp_seconds", ())] == crash.at_s
    assert v[("mcp_safe_mode", ())] == 0.0
    # a second crash within the intensity (1/60 s): the decider stays down, safe mode
    FAULTS.arm("decider", request="DecideRequest")
    service.runner.run("test")
    deadline = time.monotonic() + 30
    while scrape(service)[("mcp_safe_mode", ())] != 1.0:
        assert time.monotonic() < deadline, "safe mode not shown"
        time.sleep(0.02)
    v = scrape(service)
    assert v[("mcp_actor_up", (("actor", "decider"),))] == 0.0
    service.actuator.ack_crashes()
    service.supervisor.revive()
    v = scrape(service)
    assert v[("mcp_safe_mode", ())] == 0.0 and v[("mcp_open_crashes", ())] == 0


def test_pause_and_its_sources(service, tmp_path):
    v = scrape(service)
    assert v[("mcp_paused", ())] == 0.0
    service.actuator.pause("test", "looking")
    flag = service.actuator.data_dir / "PAUSED"
    flag.write_text("")
    try:
        v = scrape(service)
        assert v[("mcp_paused", ())] == 1.0
        assert v[("mcp_pause_source", (("source", "api"),))] == 1.0
        assert v[("mcp_pause_source", (("source", "file"),))] == 1.0
        assert v[("mcp_pause_source", (("source", "env"),))] == 0.0
    finally:
        flag.unlink()
        service.actuator.resume("test")
    assert scrape(service)[("mcp_paused", ())] == 0.0
