"""schemathesis against ``/api/v1/openapi.json`` of ``mcp-optimizer run`` on the embedded
simulator: for every operation, generated requests (valid and invalid) get no 5xx, and every
response matches its documented status, content type and schema. POSTs carry the CSRF token
(so the acts run for real, on the simulator); a few examples per operation keep it fast."""

from __future__ import annotations

import os

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance
from service_support import http_url, running_service


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("api")
    with running_service(tmp) as (env, _proc):
        url = http_url(env)
        deadline = 120
        import time

        end = time.monotonic() + deadline
        while httpx.get(f"{url}/api/v1/channels", timeout=30).json()["total"] == 0:
            assert time.monotonic() < end, "no cycle within 120 s"
            time.sleep(0.25)
        token = httpx.get(f"{url}/api/v1/csrf", timeout=30).json()["token"]
        yield url, token


def test_the_document_lists_every_route_and_bad_input_is_one_line(live):
    url, token = live
    doc = httpx.get(f"{url}/api/v1/openapi.json", timeout=30).json()
    assert doc["openapi"].startswith("3.1")
    for path in ("/api/v1/overview", "/api/v1/channels", "/api/v1/changes", "/api/v1/cycles",
                 "/api/v1/policy", "/api/v1/pause", "/api/v1/rollback", "/api/v1/policy/undo"):
        assert path in doc["paths"], path
    h = {"X-CSRF-Token": token}
    for path, body, code in (
        ("/api/v1/rollback", {"change_id": 1}, 400),  # no target
        ("/api/v1/rollback", {"target": "change", "change_id": 999999}, 409),
        ("/api/v1/rollback", {"target": "since", "since_s": -5}, 400),
        ("/api/v1/mode", {"mode": "live"}, 409),  # going live needs confirm: true
        ("/api/v1/mode", {"mode": "turbo"}, 400),
        ("/api/v1/pause", {"reason": "x", "extra": 1}, 400),
        ("/api/v1/policy", {"set": {"cooldown_s": "-1"}}, 400),
        ("/api/v1/close", {"chan_id": 123, "confirm_scid": "nope"}, 409),  # not typed back
        ("/api/v1/close", {"chan_id": 123, "confirm_scid": "0x0x123"}, 409),  # not open
    ):
        r = httpx.post(url + path, json=body, headers=h, timeout=30)
        assert r.status_code == code, (path, body, r.text)
        err = r.json()["error"]
        assert err and "\n" not in err
    assert httpx.post(url + "/api/v1/pause", json={}, timeout=30).status_code == 403  # no CSRF
    assert httpx.post(url + "/api/v1/pause", content=b"reason=x", headers={
        **h, "Content-Type": "application/x-www-form-urlencoded"}, timeout=30).status_code == 415
    r = httpx.post(url + "/api/v1/pause", json={}, timeout=30,
                   headers={**h, "Origin": "http://evil.example"})
    assert r.status_code == 403
    status = httpx.get(url + "/api/v1/overview", timeout=30).json()
    assert status["mode"] == "shadow" and not status["pause"]["paused"]  # nothing changed
    # a confirmed close from the page takes the service's close path: shadow mode records it
    chans = httpx.get(url + "/api/v1/channels", timeout=30).json()
    row = next(c for c in chans["channels"] if c["active"])
    r = httpx.post(url + "/api/v1/close", headers=h, timeout=60, json={
        "chan_id": row["chan_id"], "confirm_scid": row["scid"], "reason": "from the page"})
    assert r.status_code == 200, r.text
    change = r.json()["change"]
    assert change["action"] == "close_channel" and change["origin"] == "operator"
    assert change["state"] == "shadowed"


def test_api_answers_match_the_openapi_document(live):
    url, token = live
    api = schemathesis.openapi.from_url(f"{url}/api/v1/openapi.json")
    examples = int(os.environ.get("MCP_SCHEMATHESIS_EXAMPLES", "6"))
    ran = []
    for result in api.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=examples, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case):
            headers = {"X-CSRF-Token": token} if case.method.upper() == "POST" else {}
            # a policy edit is checked like a policy file (ranges, min <= max, known keys),
            # beyond what a schema can say: a schema-valid edit may be refused (400)
            excluded = [positive_data_acceptance] if case.path.startswith("/api/v1/policy") \
                and case.method.upper() == "POST" else []
            case.call_and_validate(base_url=url, headers=headers, excluded_checks=excluded,
                                   timeout=60)

        check()
        ran.append(f"{operation.method.upper()} {operation.path}")
    assert len(ran) >= 16, ran
