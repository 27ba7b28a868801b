"""``shadow-report``'s effect estimate end to end: from a running service (``mcp-optimizer run``
in a subprocess on the embedded simulator, shadow mode, over the control socket), from the node
named by ``MCP_LND_*`` when no service runs (the simulator over gRPC), and what it says when
there is no node or the node cannot be read. Expected figures are computed here, forward by
forward, from the forwarding history read over gRPC."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import time
from pathlib import Path

import msgspec
import pytest
from journal_support import Clock, decision
from lnd_sim_support import serve, settings
from service_support import cli, running_service

from mcp_optimizer.cli.main import main
from mcp_optimizer.journal import Journal
from mcp_optimizer.journal.shadow import NO_NODE
from mcp_optimizer.messages import ChangeState, EffectEstimated, EffectNotEstimated, ShadowReport
from mcp_optimizer.policies.config import load_policy
from mcp_optimizer.providers.lnd.client import LndClient
from mcp_optimizer.providers.lnd.settings import LndSettings
from mcp_optimizer.safety.actuator import Actuator
from mcp_optimizer.scid import scid_text
from mcp_optimizer.simulator.model import SimulatedNode
from mcp_optimizer.simulator.scenario import load_scenario

NS = 1_000_000_000


def expected_effect(report: dict, history: list[dict], forwards) -> dict[int, tuple]:
    """chan_id -> (forwards, actual msat, would-be msat), by hand: each forward out through a
    report channel, charged at the latest would-be change (SHADOWED/NOT_EXECUTED) recorded at
    or before it within the period, or at what it really paid before the first one."""
    since, until = report["since_s"], report["until_s"]
    moves: dict[int, list[tuple[int, int, dict]]] = {}
    for rec in history:
        if (rec["state"] in ("shadowed", "not_executed") and rec["action"] == "update_policy"
                and since <= rec["requested_at_s"] < until):
            moves.setdefault(rec["chan_id"], []).append(
                (rec["requested_at_s"], rec["change_id"], rec["new_policy"]))
    out = {}
    for row in report["channels"]:
        cid = row["chan_id"]
        n = actual = would = 0
        for f in forwards:
            if f.chan_id_out != cid or not since * NS <= f.timestamp_ns < until * NS:
                continue
            n += 1
            actual += f.fee_msat
            live = [m for m in sorted(moves.get(cid, []), key=lambda m: m[:2])
                    if m[0] * NS <= f.timestamp_ns]
            if live:
                p = live[-1][2]
                would += p["base_fee_msat"] + f.amt_out_msat * p["fee_rate_ppm"] // 1_000_000
            else:
                would += f.fee_msat
        out[cid] = (n, actual, would)
    return out


def check_against(effect: dict, expected: dict[int, tuple]) -> int:
    """Compare the report's effect with the hand computation; returns the channels whose
    would-be fees differ from the actual ones."""
    differing = 0
    assert [c["chan_id"] for c in effect["channels"]] == list(expected)
    for ch in effect["channels"]:
        n, actual, would = expected[ch["chan_id"]]
        if n == 0:
            assert ch == {"type": "ChannelNoForwards", "chan_id": ch["chan_id"],
                          "reason": "no forwards: no effect estimated"}
            continue
        assert ch["type"] == "ChannelEffect"
        assert (ch["forward_count"], ch["actual_fee_msat"], ch["would_be_fee_msat"]) == (
            n, actual, would), ch["chan_id"]
        assert ch["difference_msat"] == would - actual
        differing += would != actual
    assert effect["forward_count"] == sum(v[0] for v in expected.values())
    assert effect["actual_fee_msat"] == sum(v[1] for v in expected.values())
    assert effect["would_be_fee_msat"] == sum(v[2] for v in expected.values())
    assert effect["difference_msat"] == effect["would_be_fee_msat"] - effect["actual_fee_msat"]
    return differing


@pytest.fixture
def service(tmp_path):
    """``mcp-optimizer run`` on the embedded simulator, its clock one simulated hour a second."""
    with running_service(tmp_path, "3600") as (env, _):
        yield env, tmp_path


def test_shadow_report_from_a_running_service_in_shadow_mode(service):
    env, tmp = service
    deadline = time.monotonic() + 60
    while True:  # the first cycle runs at start, in shadow mode (a fresh install)
        status = json.loads(cli(env, "status", "--json").stdout)
        if status["last_cycle"]["type"] == "CycleDone":
            break
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert status["mode"] == "shadow"
    first_cycle_end = status["last_cycle"]["finished_at_s"]
    # let a few simulated hours of forwards follow the would-be changes
    deadline = time.monotonic() + 60
    while True:
        r = cli(env, "shadow-report", "--json")
        assert r.returncode == 0, r.stderr
        report = json.loads(r.stdout)
        if report["until_s"] >= first_cycle_end + 6 * 3600:
            break
        assert time.monotonic() < deadline
        time.sleep(0.5)
    msgspec.json.decode(r.stdout, type=ShadowReport)  # the typed message, strictly
    effect = report["effect"]
    assert effect["type"] == "EffectEstimated", effect
    assert effect["source"].startswith("the running service's node (embedded simulator")
    assert "constant volume" in effect["basis"] and "not modelled" in effect["basis"]
    # the report ends at the service's clock, the simulator's: it starts at the wall clock but
    # runs thousands of times faster here, so it is hours ahead of the wall clock by now
    assert report["until_s"] > time.time() + 3600

    history = json.loads(cli(env, "history", "--json").stdout)
    assert any(h["state"] == "shadowed" for h in history)
    assert all(h["state"] != "verified" for h in history)  # shadow mode wrote nothing
    node = status["node"]
    address = re.search(r"at (127\.0\.0\.1:\d+)", node).group(1)
    sim = tmp / "data" / "simulator"
    with LndClient(LndSettings(host=address, tls_cert_path=sim / "tls.cert",
                               macaroon_path=sim / "admin.macaroon")) as client:
        forwards = client.forwarding_events(report["since_s"], report["until_s"])
    differing = check_against(effect, expected_effect(report, history, forwards))
    assert differing >= 1  # some forwards followed a would-be change of fee

    human = cli(env, "shadow-report")
    assert human.returncode == 0, human.stderr
    assert "Effect of the would-be fees at constant volume (first order" in human.stdout
    assert "forwards read from the running service's node" in human.stdout
    assert re.search(r"^total\s+\d+", human.stdout, re.M)


def _now_node(tmp_path: Path):
    """The demo scenario with its clock at the wall clock: 30 days of forwards up to now."""
    now = int(time.time())
    model = SimulatedNode.from_config(dataclasses.replace(load_scenario("demo"), start_s=now))
    server = serve(model, tmp_path / "sim")
    return now, server


def test_shadow_report_reads_the_node_named_by_mcp_lnd_without_a_service(
    tmp_path, monkeypatch, capsys
):
    for k in [k for k in os.environ if k.startswith("MCP_LND_")]:
        monkeypatch.delenv(k)
    monkeypatch.delenv("MCP_CONTROL_SOCKET", raising=False)
    now, server = _now_node(tmp_path)
    data = tmp_path / "data"
    try:
        with LndClient(settings(server)) as client:
            recent = client.forwarding_events(now - 3 * 86400, now)
            busiest: dict[int, int] = {}
            for f in recent:
                busiest[f.chan_id_out] = busiest.get(f.chan_id_out, 0) + 1
            top = sorted(busiest, key=busiest.get, reverse=True)[:3]
            assert len(top) == 3
            clock = Clock(now - 3 * 86400)
            with Journal.open(data, clock) as journal:
                act = Actuator(journal, client, load_policy(environ={}), data, environ={})
                channels = {c.chan_id: c for c in client.list_channels()}
                act.observe(list(channels.values()))
                for cid in top:
                    ch = channels[cid]
                    d = decision(ch, ch.our_policy.fee_rate_ppm + 100)
                    assert act.apply_decision(d, ch.channel_point).state is ChangeState.SHADOWED
                    clock.advance(3600)
                act.close()

        monkeypatch.setenv("MCP_LND_HOST", server.address)
        monkeypatch.setenv("MCP_LND_TLS_CERT", str(server.tls_cert_path))
        monkeypatch.setenv("MCP_LND_MACAROON", str(server.admin_macaroon_path))
        assert main(["shadow-report", "--json", "--data-dir", str(data)]) == 0
        out = capsys.readouterr().out
        report = msgspec.json.decode(out, type=ShadowReport)
        assert isinstance(report.effect, EffectEstimated)
        assert report.effect.source == f"LND at {server.address} (MCP_LND_*)"
        assert report.effect.difference_msat > 0  # every would-be fee was 100 ppm higher
        report_d = json.loads(out)
        assert main(["history", "--json", "--data-dir", str(data)]) == 0
        history = json.loads(capsys.readouterr().out)
        with LndClient(settings(server)) as client:
            forwards = client.forwarding_events(report.since_s, report.until_s)
        assert check_against(report_d["effect"], expected_effect(report_d, history, forwards)) == 3

        # the node stops answering: the report is printed, and says why there is no effect
        server.stop()
        monkeypatch.setenv("MCP_LND_TIMEOUT_S", "5")
        assert main(["shadow-report", "--data-dir", str(data)]) == 0
        text = capsys.readouterr().out
        assert scid_text(top[0]) in text and "would write" in text
        assert (f"Effect: effect not estimated: the forwarding history could not be read from "
                f"LND at {server.address} (MCP_LND_*)") in text
    finally:
        server.stop()


def test_shadow_report_without_any_node_says_so(tmp_path, monkeypatch, capsys):
    for k in [k for k in os.environ if k.startswith("MCP_LND_")]:
        monkeypatch.delenv(k)
    monkeypatch.delenv("MCP_CONTROL_SOCKET", raising=False)
    with Journal.open(tmp_path, Clock(time.time() - 3600)):
        pass
    assert main(["shadow-report", "--data-dir", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "no would-be change and no external change in the period" in text
    assert text.rstrip().endswith(f"Effect: {NO_NODE}")
    assert main(["shadow-report", "--json", "--data-dir", str(tmp_path)]) == 0
    report = msgspec.json.decode(capsys.readouterr().out, type=ShadowReport)
    assert report.effect == EffectNotEstimated(reason=NO_NODE)
    assert NO_NODE == ("effect not estimated: no node to read forwarding history from (no "
                       "running service, no MCP_LND_* settings)")

    # MCP_LND_* that cannot be used: said, and the rest of the report still printed
    monkeypatch.setenv("MCP_LND_HOST", "127.0.0.1:1")
    monkeypatch.setenv("MCP_LND_TLS_CERT", str(tmp_path / "absent.cert"))
    monkeypatch.setenv("MCP_LND_MACAROON", str(tmp_path / "absent.macaroon"))
    assert main(["shadow-report", "--data-dir", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "Shadow report," in text
    assert "Effect: effect not estimated: the node named by MCP_LND_* cannot be used: " in text
    assert "absent.cert" in text


def _serve_control(path: Path, reply, checks) -> None:
    """A real control server on ``path`` answering every request with ``reply``."""
    import trio

    from mcp_optimizer.runtime.control_server import ControlServer

    async def handler(req):
        return reply

    server = ControlServer(path, handler)

    async def run():
        async with trio.open_nursery() as nursery:
            await nursery.start(server.serve)
            await trio.to_thread.run_sync(checks)
            nursery.cancel_scope.cancel()

    trio.run(run)


def test_an_older_service_falls_back_to_the_journal_and_a_refusal_is_one_line(
    tmp_path, monkeypatch, capsys
):
    from mcp_optimizer.messages.control import ControlError

    for k in [k for k in os.environ if k.startswith("MCP_LND_")]:
        monkeypatch.delenv(k)
    data = tmp_path / "data"
    with Journal.open(data, Clock(time.time() - 3600)):
        pass
    sock = tmp_path / "run" / "control.sock"
    args = ["shadow-report", "--json", "--data-dir", str(data), "--socket", str(sock)]
    # a service from before ShadowReportRequest cannot decode it: it answers bad_frame
    old = ControlError(code="bad_frame", message="invalid request: unknown type")

    def older():
        assert main(args) == 0

    _serve_control(sock, old, older)
    report = msgspec.json.decode(capsys.readouterr().out, type=ShadowReport)
    assert report.effect == EffectNotEstimated(reason=NO_NODE)

    def refused():
        assert main(args) == 1

    _serve_control(sock, ControlError(code="refused", message="no"), refused)
    err = capsys.readouterr().err
    assert "the service refused: no" in err and "Traceback" not in err
