"""The MCP tool server over streamable HTTP (``/mcp``) on a running service on the embedded
simulator, with the SDK's own client: every read tool listed and called, its output checked
against the journal; no acting tool without MCP_MCP_ACTIONS; bad arguments are tool errors;
``/mcp`` refused without its bearer token or with another; the token never logged."""

from __future__ import annotations

import stat

import httpx
import pytest
from mcp.shared.exceptions import MCPError
from mcp_support import (
    ACT_TOOLS,
    READ_TOOLS,
    check_bad_arguments,
    check_read_tools,
    counts,
    error,
    http_client,
    mcp_service,
    run,
)


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    with mcp_service(tmp_path_factory.mktemp("mcp-http"), actions=False) as svc:
        yield svc


def test_read_tools_listed_and_checked_against_the_journal(live):
    async def go():
        async with http_client(live) as client:
            listed = (await client.list_tools()).tools
            assert {t.name for t in listed} == READ_TOOLS  # no acting tool, no mode change
            for t in listed:
                assert t.description and t.input_schema["type"] == "object", t.name
                assert t.output_schema and t.annotations.read_only_hint, t.name
            history = next(t for t in listed if t.name == "history")
            assert set(history.input_schema["properties"]) == {
                "channel", "since", "limit", "state", "origin"}
            assert history.input_schema["properties"]["since"]["description"]
            return await check_read_tools(client, live)

    assert run(go) == READ_TOOLS


def test_acting_tools_are_absent_and_refused_without_the_setting(live):
    async def go():
        async with http_client(live) as client:
            for name, args in (("pause", {"reason": "by an assistant"}), ("resume", {}),
                               ("rollback", {"last": True}), ("evaluate_now", {})):
                told = await error(client, name, args)
                assert "MCP_MCP_ACTIONS=true" in told, told

    before = counts(live)
    run(go)
    assert counts(live) == before  # nothing journaled
    with live.journal() as j:
        assert not j.api_paused()
    assert ACT_TOOLS.isdisjoint(READ_TOOLS)


def test_bad_arguments_are_tool_errors(live):
    async def go():
        async with http_client(live) as client:
            await check_bad_arguments(client)

    run(go)


def test_mcp_refused_without_its_token_or_with_another(live):
    url = live.url + "/mcp"
    init = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    for headers in ({}, {"Authorization": "Bearer wrong-token-of-some-length"},
                    {"Authorization": f"Basic {live.token}"},
                    {"Authorization": f"Bearer {live.token}x"}):
        r = httpx.post(url, json=init, headers=headers, timeout=30)
        assert r.status_code == 401, (headers, r.text)
        assert r.headers["www-authenticate"].startswith("Bearer")
        assert "bearer token" in r.json()["error"]["message"]
        assert live.token not in r.text
    assert httpx.get(url, timeout=30).status_code == 401
    assert httpx.get(live.url + "/healthz", timeout=30).status_code == 200  # the rest is as was

    async def wrong() -> str:
        try:
            async with http_client(live, token="not-the-token-at-all-123") as client:
                await client.list_tools()
        except BaseException as exc:  # noqa: BLE001 - the SDK wraps it in exception groups
            while isinstance(exc, BaseExceptionGroup):
                exc = exc.exceptions[0]
            assert isinstance(exc, MCPError), exc
            return exc.message
        return "listed without the token"

    assert run(wrong).startswith("unauthorized: /mcp needs the MCP server's bearer token")


def test_the_token_is_kept_private_and_never_logged(live):
    path = live.data_dir / "mcp-token"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    token = live.token
    assert len(token) >= 32
    logs = [live.data_dir / "service.log", live.data_dir / "service.jsonl",
            live.tmp / "stderr.txt"]
    text = "".join(p.read_text() for p in logs)
    assert "MCP tool server at /mcp" in text and str(path) in text
    assert token not in text
    assert token not in httpx.get(live.url + "/metrics", timeout=30).text


def test_a_bad_mcp_setting_stops_the_start_in_one_line(tmp_path):
    import os

    from service_support import cli

    base = {k: v for k, v in os.environ.items() if not k.startswith("MCP_")}
    for name, value, said in (("MCP_MCP_ACTIONS", "maybe", "expected true or false"),
                              ("MCP_MCP_TOKEN", "short", "at least 16")):
        data = tmp_path / name
        done = cli({**base, "MCP_DATA_DIR": str(data), "MCP_HTTP_PORT": "0", name: value},
                   "run", timeout=120)
        assert done.returncode == 2, done.stderr
        assert done.stderr.count("\n") == 1 and name in done.stderr and said in done.stderr
        assert "short" not in done.stderr  # a token, even a bad one, is not printed
        assert not data.exists()  # refused before anything started
