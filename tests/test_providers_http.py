"""The shared provider HTTP client against real HTTP servers on loopback."""

from __future__ import annotations

import time
from email.utils import formatdate

import pytest
from providers_loopback import LoopbackServer, Reply, json_reply, refused_url

from mcp_optimizer.providers.http import (
    BreakerState,
    CallRecord,
    CircuitBreaker,
    CircuitOpenError,
    ProviderHttpClient,
    ProviderMetrics,
    ProviderNotFound,
    ProviderParseError,
    ProviderRejected,
    ProviderSettingsError,
    ProviderUnavailable,
    RetryPolicy,
    load_provider_settings,
    parse_retry_after,
)

BUDGET_S = 0.5
READ_S = 0.2
POLICY = RetryPolicy(
    connect_timeout_s=0.2,
    read_timeout_s=READ_S,
    max_attempts=4,
    total_budget_s=BUDGET_S,
    backoff_initial_s=0.02,
    backoff_max_s=0.1,
    breaker_failures=3,
    breaker_cooldown_s=0.3,
)
SLACK_S = 2.0
"""Scheduling latency allowed past a deadline. CI's machine is a busy 2-core box: the bounds
below are meaningful because the servers' delays (5 s, 30 s) are many times budget + slack."""


def ok(body: bytes) -> bytes:
    return body


@pytest.fixture
def server():
    with LoopbackServer() as srv:
        yield srv


def make_client(url: str, policy: RetryPolicy = POLICY) -> ProviderHttpClient:
    return ProviderHttpClient("test", url, policy, metrics=ProviderMetrics())


def assert_within_budget(call: CallRecord, policy: RetryPolicy = POLICY) -> None:
    """No attempt starts after the deadline, no wait crosses it, the call ends in time."""
    assert call.deadline == pytest.approx(call.started_at + policy.total_budget_s)
    for attempt in call.attempts:
        assert attempt.started_at < call.deadline
    for before, after in zip(call.attempts, call.attempts[1:], strict=False):
        assert after.started_at >= before.ended_at
    # a wait never pushes the next attempt past the deadline
    for attempt in call.attempts[1:]:
        assert attempt.started_at <= call.deadline
    # bounded by the budget, plus at most one read timeout for a body still arriving
    assert call.ended_at - call.started_at <= (
        policy.total_budget_s + policy.read_timeout_s + SLACK_S
    )
    assert len(call.attempts) <= policy.max_attempts


def test_success_returns_parsed_body_and_counts(server: LoopbackServer) -> None:
    server.script("GET", "/x", json_reply({"a": 1}))
    client = make_client(server.url)
    assert client.request("GET", "/x", parse=ok) == b'{"a": 1}'
    call = client.last_call
    assert call.outcome == "success" and len(call.attempts) == 1
    assert client.metrics.value("mcp_provider_calls_total", provider="test", outcome="success")
    assert client.metrics.value("mcp_provider_attempt_seconds_count", provider="test") == 1
    assert server.hits[0].headers["user-agent"].startswith("mcp-lightning-optimizer")


def test_500s_are_retried_then_succeed(server: LoopbackServer) -> None:
    server.script("GET", "/x", Reply(500), Reply(502), json_reply({"ok": True}))
    client = make_client(server.url)
    assert client.request("GET", "/x", parse=ok) == b'{"ok": true}'
    call = client.last_call
    assert [a.outcome for a in call.attempts] == ["http_500", "http_502", "ok"]
    retries = client.metrics.value("mcp_provider_retries_total", provider="test", reason="http_5xx")
    assert retries == 2
    assert_within_budget(call)


def test_persistent_500_gives_up_within_attempts_and_budget(server: LoopbackServer) -> None:
    server.script("GET", "/x", Reply(503, body=b"down"))
    client = make_client(server.url)
    with pytest.raises(ProviderUnavailable) as info:
        client.request("GET", "/x", parse=ok)
    assert "HTTP 503" in str(info.value)
    call = client.last_call
    assert call.outcome == "unavailable"
    assert 2 <= len(call.attempts) <= POLICY.max_attempts
    assert len(server.hits_for("/x")) == len(call.attempts)
    assert_within_budget(call)
    assert client.metrics.value("mcp_provider_calls_total", provider="test", outcome="unavailable")


def test_429_retry_after_is_honoured(server: LoopbackServer) -> None:
    server.script(
        "GET", "/x", Reply(429, headers={"Retry-After": "0"}), json_reply({"fine": 1})
    )
    client = make_client(server.url)
    client.request("GET", "/x", parse=ok)
    assert client.last_call.sleeps_s == (0.0,)  # exactly what the server asked, no jitter
    assert client.metrics.value("mcp_provider_retries_total", provider="test", reason="http_429")


def test_429_retry_after_in_budget_waits_that_long(server: LoopbackServer) -> None:
    policy = RetryPolicy(**{**POLICY.__dict__, "total_budget_s": 2.0})
    server.script("GET", "/x", Reply(429, headers={"Retry-After": "1"}), json_reply({}))
    client = make_client(server.url, policy)
    client.request("GET", "/x", parse=ok)
    first, second = server.hits_for("/x")
    assert second.at - first.at >= 0.99
    assert client.last_call.sleeps_s == (1.0,)
    assert_within_budget(client.last_call, policy)


def test_429_retry_after_beyond_budget_gives_up_at_once(server: LoopbackServer) -> None:
    server.script("GET", "/x", Reply(429, headers={"Retry-After": "30"}))
    client = make_client(server.url)
    started = time.monotonic()
    with pytest.raises(ProviderUnavailable) as info:
        client.request("GET", "/x", parse=ok)
    assert time.monotonic() - started < SLACK_S  # not the 30 s asked for
    assert "Retry-After 30.0 s exceeds" in str(info.value)
    assert len(server.hits_for("/x")) == 1


@pytest.mark.parametrize(("status", "error"), [(404, ProviderNotFound), (400, ProviderRejected),
                                               (401, ProviderRejected), (422, ProviderRejected)])
def test_4xx_is_never_retried(server: LoopbackServer, status: int, error: type) -> None:
    server.script("GET", "/x", Reply(status, body=b"nope"))
    client = make_client(server.url)
    with pytest.raises(error) as info:
        client.request("GET", "/x", parse=ok)
    assert f"HTTP {status}: nope" in str(info.value)
    assert len(server.hits_for("/x")) == 1
    assert client.breaker.state is BreakerState.CLOSED


def test_read_timeout_is_retried_within_budget(server: LoopbackServer) -> None:
    server.script("GET", "/x", Reply(delay_s=5.0, body=b"{}"))
    client = make_client(server.url)
    with pytest.raises(ProviderUnavailable) as info:
        client.request("GET", "/x", parse=ok)
    assert "timed out" in str(info.value)
    call = client.last_call
    assert all(a.outcome == "timeout" for a in call.attempts)
    assert len(call.attempts) >= 2
    assert_within_budget(call)
    assert call.ended_at - call.started_at <= BUDGET_S + SLACK_S


def test_slow_then_fast_recovers(server: LoopbackServer) -> None:
    # a read timeout of 1 s against a 5 s delay, then an answer at once: robust to a busy box
    policy = RetryPolicy(**{**POLICY.__dict__, "read_timeout_s": 1.0, "total_budget_s": 8.0})
    server.script("GET", "/x", Reply(delay_s=5.0), json_reply({"late": False}))
    client = make_client(server.url, policy)
    assert client.request("GET", "/x", parse=ok) == b'{"late": false}'
    assert [a.outcome for a in client.last_call.attempts] == ["timeout", "ok"]


def test_dripping_body_cannot_hold_the_call_past_its_budget(server: LoopbackServer) -> None:
    server.script("GET", "/x", Reply(body=b'{"k": "' + b"v" * 200 + b'"}', drip_interval_s=0.02))
    client = make_client(server.url)
    with pytest.raises(ProviderUnavailable) as info:
        client.request("GET", "/x", parse=ok)
    assert "budget" in str(info.value)
    assert_within_budget(client.last_call)


def test_connection_refused_within_budget() -> None:
    client = make_client(refused_url())
    with pytest.raises(ProviderUnavailable) as info:
        client.request("GET", "/x", parse=ok)
    assert "cannot connect" in str(info.value)
    call = client.last_call
    assert all(a.outcome == "connect" for a in call.attempts)
    assert len(call.attempts) == POLICY.max_attempts
    assert_within_budget(call)
    retries = client.metrics.value("mcp_provider_retries_total", provider="test", reason="connect")
    assert retries == 3


def test_truncated_body_and_hang_up_are_retried(server: LoopbackServer) -> None:
    body = b'{"complete": true}'
    server.script(
        "GET", "/x", Reply(body=body, truncate_to=5), Reply(hang_up=True), Reply(body=body)
    )
    client = make_client(server.url)
    assert client.request("GET", "/x", parse=ok) == body
    assert [a.outcome for a in client.last_call.attempts] == ["protocol", "protocol", "ok"]


def test_oversized_response_is_refused(server: LoopbackServer) -> None:
    policy = RetryPolicy(**{**POLICY.__dict__, "max_response_bytes": 100})
    server.script("GET", "/x", Reply(body=b"x" * 1000))
    client = make_client(server.url, policy)
    with pytest.raises(ProviderParseError) as info:
        client.request("GET", "/x", parse=ok)
    assert "exceeds 100 bytes" in str(info.value)


def test_parse_failure_of_any_kind_is_a_parse_error(server: LoopbackServer) -> None:
    server.script("GET", "/x", Reply(body=b"{}"))
    client = make_client(server.url)

    def broken(body: bytes) -> int:
        raise KeyError("surprise")

    with pytest.raises(ProviderParseError) as info:
        client.request("GET", "/x", parse=broken)
    assert info.value.field == "$"
    assert client.last_call.outcome == "parse_error"


class _FakeClock:
    """The breaker's clock, moved by the test: a busy machine cannot make the cool-down pass
    between two lines of a test."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def _client_with_fake_breaker(url: str) -> tuple[ProviderHttpClient, _FakeClock]:
    clock = _FakeClock()
    breaker = CircuitBreaker("test", failure_threshold=POLICY.breaker_failures,
                             cooldown_s=POLICY.breaker_cooldown_s, clock=clock)
    client = ProviderHttpClient("test", url, POLICY, metrics=ProviderMetrics(), breaker=breaker)
    return client, clock


def test_breaker_opens_then_half_open_probe_closes_it(server: LoopbackServer) -> None:
    server.script("GET", "/x", Reply(500))
    client, clock = _client_with_fake_breaker(server.url)
    for _ in range(POLICY.breaker_failures):
        with pytest.raises(ProviderUnavailable):
            client.request("GET", "/x", parse=ok)
    assert client.breaker.state is BreakerState.OPEN
    assert client.metrics.value("mcp_provider_circuit_open", provider="test") == 1
    hits = len(server.hits)
    with pytest.raises(CircuitOpenError):
        client.request("GET", "/x", parse=ok)
    assert len(server.hits) == hits  # not even tried
    assert client.metrics.value("mcp_provider_calls_total", provider="test", outcome="circuit_open")

    # the server recovers; after the cool-down one probe goes through and closes the circuit
    server.script("GET", "/x", json_reply({"back": True}))
    clock.t += POLICY.breaker_cooldown_s + 0.05
    assert client.breaker.state is BreakerState.HALF_OPEN
    assert client.request("GET", "/x", parse=ok) == b'{"back": true}'
    assert client.last_call.probe
    assert client.breaker.state is BreakerState.CLOSED
    assert client.metrics.value("mcp_provider_circuit_open", provider="test") == 0


def test_failed_probe_reopens_with_a_single_attempt(server: LoopbackServer) -> None:
    server.script("GET", "/x", Reply(500))
    client, clock = _client_with_fake_breaker(server.url)
    for _ in range(POLICY.breaker_failures):
        with pytest.raises(ProviderUnavailable):
            client.request("GET", "/x", parse=ok)
    clock.t += POLICY.breaker_cooldown_s + 0.05
    with pytest.raises(ProviderUnavailable):
        client.request("GET", "/x", parse=ok)
    assert client.last_call.probe and len(client.last_call.attempts) == 1
    assert client.breaker.state is BreakerState.OPEN


def test_retry_after_http_date() -> None:
    now = time.time()
    assert parse_retry_after(formatdate(now + 10, usegmt=True), now) == pytest.approx(10, abs=1)
    assert parse_retry_after("7", now) == 7.0
    assert parse_retry_after("soon", now) == -1.0
    assert parse_retry_after(None, now) == -1.0


def test_settings_defaults_and_overrides() -> None:
    s = load_provider_settings({})
    assert not s.amboss_enabled and s.mempool_url == "https://mempool.space"
    s = load_provider_settings(
        {
            "MCP_AMBOSS_API_KEY": " k3y ",
            "MCP_MEMPOOL_URL": "http://umbrel.local:3006/",
            "MCP_PROVIDER_TOTAL_BUDGET_S": "2.5",
            "MCP_PROVIDER_MAX_ATTEMPTS": "2",
            "MCP_PROVIDER_UPTIME_MAX_AGE_S": "600",
        }
    )
    assert s.amboss_enabled and s.amboss_api_key == "k3y"
    assert s.mempool_url == "http://umbrel.local:3006"
    assert s.retry.total_budget_s == 2.5 and s.retry.max_attempts == 2
    assert s.freshness.uptime_max_age_s == 600


@pytest.mark.parametrize("value", ["off", " OFF "])
def test_mempool_can_be_turned_off(value: str) -> None:
    s = load_provider_settings({"MCP_MEMPOOL_URL": value})
    assert not s.mempool_enabled and s.mempool_url == ""
    assert load_provider_settings({}).mempool_enabled


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MCP_PROVIDER_TOTAL_BUDGET_S", "abc"),
        ("MCP_PROVIDER_TOTAL_BUDGET_S", "-1"),
        ("MCP_PROVIDER_READ_TIMEOUT_S", "nan"),
        ("MCP_PROVIDER_MAX_ATTEMPTS", "0"),
        ("MCP_PROVIDER_MAX_ATTEMPTS", "2.5"),
        ("MCP_MEMPOOL_URL", "umbrel.local:3006"),
        ("MCP_AMBOSS_URL", "ftp://x"),
        ("MCP_PROVIDER_TOTAL_BUDGT_S", "1"),
        ("MCP_AMBOSS_API_KEY", "a b"),
    ],
)
def test_settings_errors_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(ProviderSettingsError) as info:
        load_provider_settings({name: value})
    assert name in str(info.value)


def test_settings_backoff_max_below_initial() -> None:
    with pytest.raises(ProviderSettingsError, match="MCP_PROVIDER_BACKOFF_MAX_S"):
        load_provider_settings(
            {"MCP_PROVIDER_BACKOFF_INITIAL_S": "2", "MCP_PROVIDER_BACKOFF_MAX_S": "1"}
        )
