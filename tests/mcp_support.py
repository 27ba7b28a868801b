"""The MCP server's tests: a running service on the embedded simulator, the SDK's own client
over streamable HTTP (``/mcp`` with the bearer token) or over stdio (``mcp-optimizer mcp``),
and the check of every read tool's output against the journal."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import anyio
import httpx2
import msgspec
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from service_support import http_url, running_service

from mcp_optimizer.journal import Journal
from mcp_optimizer.messages.journal import CycleEnded

READ_TOOLS = {"status", "list_channels", "explain_channel", "history", "mode_history", "cycles",
              "shadow_report", "backtest_result", "next_cycle"}
ACT_TOOLS = {"pause", "resume", "rollback", "evaluate_now"}
DAY_S = 86400


@dataclass
class Live:
    env: dict[str, str]
    url: str
    data_dir: Path
    tmp: Path
    pid: int

    @property
    def token(self) -> str:
        return (self.data_dir / "mcp-token").read_text().strip()

    def journal(self) -> Journal:
        return Journal.open(self.data_dir, readonly=True, create=False)


@contextlib.contextmanager
def mcp_service(tmp: Path, actions: bool) -> Iterator[Live]:
    """The service with MCP_MCP_ACTIONS as given, once its first cycle has ended."""
    extra = {"MCP_MCP_ACTIONS": "true" if actions else "false"}
    with mock.patch.dict(os.environ, extra), running_service(tmp) as (env, proc):
        live = Live(env=env, url=http_url(env), data_dir=Path(env["MCP_DATA_DIR"]), tmp=tmp,
                    pid=proc.pid)
        deadline = time.monotonic() + 180
        while True:
            if (live.data_dir / "journal.sqlite3").exists():
                with live.journal() as j:
                    rows = j.cycles(limit=1)
                if rows and isinstance(rows[0].end, CycleEnded):
                    break
            assert time.monotonic() < deadline, "no cycle ended within 180 s"
            time.sleep(0.25)
        yield live


def http_client(live: Live, token: str | None = None) -> Client:
    headers = {"Authorization": f"Bearer {live.token if token is None else token}"}
    http = httpx2.AsyncClient(headers=headers, timeout=120)
    return Client(streamable_http_client(live.url + "/mcp", http_client=http), cache=None)


def stdio_client(live: Live, *extra: str) -> Client:
    params = StdioServerParameters(command=sys.executable,
                                   args=["-m", "mcp_optimizer", "mcp", *extra], env=live.env)
    return Client(params, cache=None)


def run(fn, *args: Any) -> Any:
    """``fn(*args)`` on trio, the service's own event loop library."""
    return anyio.run(fn, *args, backend="trio")


def plain(value: Any) -> Any:
    """JSON-like builtins of a journal record (to compare with a tool's structured output)."""
    return msgspec.json.decode(msgspec.json.encode(value))


async def ok(client: Client, name: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
    result = await client.call_tool(name, args or {})
    assert not result.is_error, (name, result.content)
    data = result.structured_content
    assert isinstance(data, dict), (name, data)
    assert msgspec.json.decode(result.content[0].text) == data  # the same JSON as text
    return data


async def error(client: Client, name: str, args: dict[str, Any] | None = None) -> str:
    result = await client.call_tool(name, args or {})
    assert result.is_error, (name, args, result.structured_content)
    text = result.content[0].text
    assert text and "\n" not in text and "Traceback" not in text, text
    return text


def counts(live: Live) -> tuple[int, int, int, int]:
    """Decisions, changes, cycles and mode/pause records: what a read must not change."""
    with live.journal() as j:
        return (len(j.decisions(limit=10**6)), j.last_change_id(), len(j.cycles(limit=10**6)),
                len(j.mode_changes()) + len(j.pause_changes()))


async def check_read_tools(client: Client, live: Live) -> set[str]:
    """Call every read tool and check its output against the journal; the names called."""
    called: set[str] = set()
    before = counts(live)

    status = await ok(client, "status")
    called.add("status")
    with live.journal() as j:
        assert status["mode"] == j.mode().value
        assert status["pause"]["paused"] == j.api_paused()
        last = j.cycles(limit=1)[0]
    assert status["node"].startswith("embedded simulator")
    assert status["last_cycle"]["cycle_id"] >= last.cycle_id - 1

    channels = await ok(client, "list_channels", {"limit": 1000})
    called.add("list_channels")
    with live.journal() as j:
        cycle_id, started = j.latest_decided_cycle()
        rows = j.cycle_decisions(cycle_id, started)
    assert channels["cycle_id"] == cycle_id and channels["total"] == len(rows) > 0
    by_chan = {d.chan_id: (i, m, d) for i, m, d in rows}
    for line in channels["channels"]:
        i, mode, d = by_chan[line["chan_id"]]
        assert (line["decision_id"], line["mode"], line["kind"]) == (i, mode.value, d.kind.value)
        assert line["reasons"] == d.reasons
        assert line["proposed_policy"] == plain(d.proposed_policy)
        assert line["peer_alias"]  # from the service's latest snapshots
    assert sorted(by_chan) == [c["chan_id"] for c in channels["channels"]]
    one = await ok(client, "list_channels", {"kind": rows[0][2].kind.value.lower(), "limit": 1})
    assert len(one["channels"]) == 1 and one["channels"][0]["kind"] == rows[0][2].kind.value

    first = channels["channels"][0]
    why = await ok(client, "explain_channel", {"channel": first["scid"]})
    called.add("explain_channel")
    with live.journal() as j:
        (i, mode, d), = j.decisions(chan_id=first["chan_id"], limit=1)
        changes = j.changes(chan_id=first["chan_id"])
    assert why["decision_id"] == i and why["decision"] == plain(d)
    assert why["decision"]["reasons"] and why["decision"]["factors"]
    scored = [f for f in why["decision"]["factors"] if f["type"] == "ScoredFactor"]
    assert scored and all({"value", "weight", "contribution"} <= set(f) for f in scored)
    assert [c["change_id"] for c in why["changes"]] == [c.change_id for c in changes][::-1][:20]
    assert why["fee_history"], why["fee_history_note"]  # what each fee level earned
    assert all(e["end_s"] >= e["start_s"] and e["fees_earned_msat"] >= 0
               for e in why["fee_history"])
    same = await ok(client, "explain_channel", {"channel": str(first["chan_id"])})
    assert same["decision_id"] == why["decision_id"]

    hist = await ok(client, "history", {"limit": 1000})
    called.add("history")
    with live.journal() as j:
        every = j.changes()
        now = j.now_s()
    assert hist["total"] == len(every) and hist["changes"] == plain(every[-1000:])
    some = await ok(client, "history", {"limit": 2})
    assert some["changes"] == plain(every[-2:])
    state = every[0].state.value
    filtered = await ok(client, "history", {"channel": first["scid"], "state": [state],
                                            "origin": ["service"], "since": "30d"})
    with live.journal() as j:
        want = [c for c in j.changes(chan_id=first["chan_id"], since_s=now - 30 * DAY_S)
                if c.state.value == state and c.origin.value == "service"]
    assert [c["change_id"] for c in filtered["changes"]] == [c.change_id for c in want]

    modes = await ok(client, "mode_history")
    called.add("mode_history")
    with live.journal() as j:
        assert modes["mode_changes"] == plain(j.mode_changes()[-20:])
        assert modes["pause_changes"] == plain(j.pause_changes()[-20:])

    cycles = await ok(client, "cycles", {"limit": 5})
    called.add("cycles")
    with live.journal() as j:
        assert cycles["cycles"] == plain(j.cycles(limit=5))

    shadow = await ok(client, "shadow_report", {"days": 7})
    called.add("shadow_report")
    assert shadow["until_s"] - shadow["since_s"] == 7 * DAY_S
    with live.journal() as j:  # built from the period's changes (would-be and external)
        moved = {c.chan_id for c in j.changes(since_s=shadow["since_s"])
                 if c.action.value == "update_policy"}  # a close is not a fee move
    shown = {c["chan_id"] for c in shadow["channels"]}
    assert shown == moved and moved, (shown, moved, shadow["channels"][:1])

    nxt = await ok(client, "next_cycle")
    called.add("next_cycle")
    assert {r["chan_id"] for r in nxt["decisions"]} == set(by_chan)
    assert nxt["changes"] == sum(r["decision"]["kind"] in ("INCREASE_FEES", "LOWER_FEES")
                                 for r in nxt["decisions"])

    saved = live.data_dir / "backtest.json"
    saved.unlink(missing_ok=True)
    told = await error(client, "backtest_result")
    assert "backtest --json" in told and str(saved) in told
    import subprocess

    done = subprocess.run(
        [sys.executable, "-m", "mcp_optimizer", "backtest", "--days", "0.5", "--json",
         "--no-progress", "--workers", "1"], env=live.env, capture_output=True, text=True,
        timeout=300)
    assert done.returncode in (0, 1), done.stderr  # 1: a run's checks disagree (still shown)
    saved.write_text(done.stdout)
    result = await ok(client, "backtest_result")
    called.add("backtest_result")
    assert result["summary"] == msgspec.json.decode(done.stdout)
    assert result["path"] == str(saved) and "autopilot" in result["summary"]["strategies"]

    after = counts(live)
    assert after[0] == before[0] and after[1:] == before[1:], (before, after)  # nothing written
    return called


async def check_bad_arguments(client: Client) -> None:
    """Bad arguments are tool errors naming what was wrong; the server goes on."""
    assert "limit" in await error(client, "cycles", {"limit": "x"})
    assert "limit" in await error(client, "cycles", {"limit": 0})
    assert "bogus" in await error(client, "history", {"bogus": 1})
    assert "not a channel id" in await error(client, "explain_channel", {"channel": "nope"})
    assert "channel" in await error(client, "explain_channel", {})
    assert "has no decision" in await error(client, "explain_channel", {"channel": "1x2x3"})
    assert "not one of" in await error(client, "history", {"state": ["sunny"]})
    assert "not a time" in await error(client, "cycles", {"since": "yesterday-ish"})
    assert "days" in await error(client, "shadow_report", {"days": 10**6})
    assert "not one of" in await error(client, "list_channels", {"kind": "maybe"})
    assert "no tool" in await error(client, "set_mode", {"mode": "live"})
    await ok(client, "status")  # still serving
