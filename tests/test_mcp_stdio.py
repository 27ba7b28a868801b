"""The MCP tools over stdio (``mcp-optimizer mcp``), with the SDK's own client, against a
running service on the embedded simulator that offers the acting tools (MCP_MCP_ACTIONS=true):
every tool listed and called, the read tools checked against the journal, each act journaled
``by: mcp``; no mode change offered; bad arguments are tool errors; no service, or a wrong
token, is one line and status 1."""

from __future__ import annotations

import subprocess
import sys

import pytest
from mcp_support import (
    ACT_TOOLS,
    READ_TOOLS,
    Live,
    check_bad_arguments,
    check_read_tools,
    error,
    mcp_service,
    ok,
    plain,
    run,
    stdio_client,
)
from service_support import cli

from mcp_optimizer.messages.journal import ChangeOrigin, ChangeState


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    with mcp_service(tmp_path_factory.mktemp("mcp-stdio"), actions=True) as svc:
        yield svc


def test_every_tool_listed_and_the_read_tools_checked(live):
    async def go():
        async with stdio_client(live) as client:
            listed = {t.name: t for t in (await client.list_tools()).tools}
            assert set(listed) == READ_TOOLS | ACT_TOOLS
            assert not any("mode" in n and n != "mode_history" for n in listed)  # never live
            for name in ACT_TOOLS:
                assert not listed[name].annotations.read_only_hint, name
            await check_bad_arguments(client)
            return await check_read_tools(client, live)

    assert run(go) == READ_TOOLS


def test_pause_and_resume_are_journaled_by_mcp(live):
    async def go():
        async with stdio_client(live) as client:
            paused = await ok(client, "pause", {"reason": "an assistant was asked to"})
            assert paused["state"]["paused"] and paused["record"]["by"] == "mcp"
            status = await ok(client, "status")
            assert status["pause"]["reason"] == "by mcp: an assistant was asked to"
            resumed = await ok(client, "resume", {"reason": "done"})
            assert not resumed["state"]["paused"]
            return paused, resumed

    paused, resumed = run(go)
    with live.journal() as j:
        *_, p, r = j.pause_changes()
        assert not j.api_paused()
    assert (p.paused, p.by, p.reason) == (True, "mcp", "an assistant was asked to")
    assert (r.paused, r.by, r.reason) == (False, "mcp", "done")
    assert paused["record"]["at_s"] == p.at_s and resumed["record"]["at_s"] == r.at_s


def test_evaluate_now_and_rollback_go_through_the_journaled_path(live):
    # live mode is set by the operator (the CLI), never through MCP
    done = cli(live.env, "mode", "live", "--reason", "test the rollback tool")
    assert done.returncode == 0, done.stderr
    with live.journal() as j:
        cycles_before = j.cycles(limit=1)[0].cycle_id

    async def go():
        async with stdio_client(live) as client:
            queued = await ok(client, "evaluate_now", {"wait": True})
            cycle = queued["reply"]["cycle"]
            assert queued["reply"]["type"] == "CycleFinished" and cycle["cycle_id"] > 0
            with live.journal() as j:
                written = [c for c in j.changes() if c.origin is ChangeOrigin.SERVICE
                           and c.state is ChangeState.VERIFIED]
            assert written, "the live cycle wrote no change to roll back"
            target = written[-1]
            assert "exactly one" in await error(client, "rollback", {"last": True,
                                                                     "change_id": 1})
            assert "exactly one" in await error(client, "rollback", {})
            assert "refused" in await error(client, "rollback", {"change_id": 10**9})
            undone = await ok(client, "rollback", {"change_id": target.change_id})
            return cycle, target, undone

    cycle, target, undone = run(go)
    with live.journal() as j:
        ran = j.cycles(limit=5)
        (rb,) = [c for c in j.changes(chan_id=target.chan_id)
                 if c.origin is ChangeOrigin.ROLLBACK and target.change_id in c.rolls_back]
        assert j.mode().value == "live"
    assert any(c.cycle_id == cycle["cycle_id"] > cycles_before and c.trigger == "evaluate-now"
               for c in ran), ran
    assert [c["change_id"] for c in undone["changes"]] == [rb.change_id]
    assert rb.new_policy.fee_rate_ppm == target.old_policy.fee_rate_ppm
    done = cli(live.env, "mode", "shadow", "--reason", "back")
    assert done.returncode == 0, done.stderr


def test_no_service_or_a_wrong_token_is_one_line(live, tmp_path):
    env = dict(live.env, MCP_DATA_DIR=str(tmp_path / "none"))
    p = subprocess.run([sys.executable, "-m", "mcp_optimizer", "mcp"], env=env, input="",
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 1 and p.stdout == ""
    assert p.stderr.count("\n") == 1 and "http-address does not exist" in p.stderr
    env = dict(live.env, MCP_MCP_TOKEN="a-wrong-token-0123456789")
    p = subprocess.run([sys.executable, "-m", "mcp_optimizer", "mcp"], env=env, input="",
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 1 and p.stdout == ""
    assert p.stderr.count("\n") == 1 and "unauthorized" in p.stderr, p.stderr
    assert live.token not in p.stderr


def test_the_relay_reaches_a_service_named_by_url(live, tmp_path):
    elsewhere = Live(env=dict(live.env, MCP_DATA_DIR=str(tmp_path / "not-its-data-dir"),
                              MCP_MCP_TOKEN=live.token),
                     url=live.url, data_dir=live.data_dir, tmp=live.tmp, pid=live.pid)

    async def go():
        async with stdio_client(elsewhere, "--url", live.url) as client:
            return await ok(client, "cycles", {"limit": 1})

    with live.journal() as j:
        assert run(go)["cycles"] == plain(j.cycles(limit=1))
