"""Closing a channel for real (new-operator issue item 11): cooperative only, journaled
intent -> close_pending -> closed, reconciled after a crash mid-way, at most close.max_per_day
a day, held by the kill switch, blocked in shadow mode, never undone; against the simulator
over LND's gRPC wire."""

from __future__ import annotations

import dataclasses
import json
import time

import msgspec
import pytest
from journal_support import decision
from lnd_sim_support import Raw, serve, settings

from mcp_optimizer.journal import Journal, RollbackRefused
from mcp_optimizer.messages import ChangeState, DecisionKind, Gate, Mode
from mcp_optimizer.messages.journal import ChangeAction, ChangeOrigin
from mcp_optimizer.policies.config import load_policy
from mcp_optimizer.providers.lnd import closing as lnd_closing
from mcp_optimizer.providers.lnd.client import LndClient
from mcp_optimizer.providers.lnd.gen import lightning_pb2 as ln
from mcp_optimizer.safety.actuator import Actuator
from mcp_optimizer.simulator.model import SimulatedNode
from mcp_optimizer.simulator.scenario import load_scenario

ENABLED = {"MCP_POLICY__CLOSE__EXECUTE": "true", "MCP_POLICY__CLOSE__MAX_PER_DAY": "2"}


@pytest.fixture
def live(tmp_path):
    scenario = dataclasses.replace(load_scenario("demo"), start_s=int(time.time()))
    node = SimulatedNode.from_config(scenario)
    server = serve(node, tmp_path / "sim")
    client = LndClient(settings(server), clock=node.now_s)
    journal = Journal.open(tmp_path / "data", clock=node.now_s)
    act = Actuator(journal, client, load_policy(environ=ENABLED), tmp_path / "data", environ={})
    act.set_mode(Mode.LIVE, by="test")
    act.observe(client.list_channels())
    try:
        yield act, node, client, server
    finally:
        act.close()
        journal.close()
        client.close()
        server.stop()


def _close_decision(ch):
    return msgspec.structs.replace(
        decision(ch, ch.our_policy.fee_rate_ppm), kind=DecisionKind.CLOSE_CHANNEL,
        reasons=["weak and idle: recommended for closing"],
    )


def _active(client):
    return [c for c in client.list_channels() if c.active]


def test_a_close_goes_intent_pending_closed_and_is_never_undone(live):
    act, node, client, _ = live
    ch = _active(client)[0]
    rec = act.apply_decision(_close_decision(ch), ch.channel_point)
    assert rec.action is ChangeAction.CLOSE_CHANNEL and rec.state is ChangeState.CLOSE_PENDING
    assert [e.state for e in rec.events] == [ChangeState.INTENT, ChangeState.CLOSE_PENDING]
    assert "sat/vB" in rec.events[0].detail and "closing transaction" in rec.events[1].detail
    assert ch.chan_id not in {c.chan_id for c in client.list_channels()}
    assert lnd_closing.edge_exists(client, ch.chan_id)  # not confirmed yet
    assert act.reconcile() == []
    node.advance(4 * 600)
    done = act.reconcile()
    assert [r.state for r in done] == [ChangeState.CLOSED]
    assert not lnd_closing.edge_exists(client, ch.chan_id)
    with pytest.raises(RollbackRefused, match="a close cannot be undone"):
        act.rollback(rec.change_id)


def test_closes_are_capped_per_day_and_held_by_a_pause(live):
    act, _, client, _ = live
    chans = _active(client)
    for ch in chans[:2]:
        assert act.apply_decision(_close_decision(ch), ch.channel_point).state is (
            ChangeState.CLOSE_PENDING)
    third = chans[2]
    rec = act.apply_decision(_close_decision(third), third.channel_point)
    assert rec.state is ChangeState.HELD and rec.stopped_by[0].gate is Gate.CLOSE_CAP
    act.pause(by="test", reason="no closes now")
    rec = act.apply_decision(_close_decision(chans[3]), chans[3].channel_point)
    assert rec.state is ChangeState.HELD
    assert {s.gate for s in rec.stopped_by} == {Gate.CLOSE_CAP, Gate.PAUSED}
    assert third.chan_id in {c.chan_id for c in client.list_channels()}


def test_shadow_mode_and_a_disabled_policy_close_nothing(live):
    act, _, client, _ = live
    ch = _active(client)[0]
    act.set_mode(Mode.SHADOW, by="test")
    assert act.apply_decision(_close_decision(ch), ch.channel_point).state is (
        ChangeState.SHADOWED)
    act.set_mode(Mode.LIVE, by="test")
    act.policy = load_policy(environ={})  # close.execute false: a recommendation only
    rec = act.apply_decision(_close_decision(ch), ch.channel_point)
    assert rec.state is ChangeState.REFUSED and rec.stopped_by[0].gate is Gate.CLOSE_DISABLED
    assert ch.chan_id in {c.chan_id for c in client.list_channels()}


def test_a_crash_between_intent_and_reply_is_reconciled_from_the_node(live):
    act, node, client, _ = live
    a, b = _active(client)[:2]
    journal = act.journal
    ids = []
    for ch in (a, b):  # INTENT journaled, then the process died: a was sent, b was not
        ids.append(journal.record_change(
            chan_id=ch.chan_id, channel_point=ch.channel_point, origin=ChangeOrigin.SERVICE,
            mode=Mode.LIVE, state=ChangeState.INTENT, old_policy=ch.our_policy,
            new_policy=ch.our_policy, reasons=["test"], detail="about to close",
            action=ChangeAction.CLOSE_CHANNEL,
        ))
    node.close_channel(a.channel_point, 5)
    resolved = {r.change_id: r.state for r in act.reconcile()}
    assert resolved == {ids[0]: ChangeState.CLOSE_PENDING, ids[1]: ChangeState.FAILED}
    assert len(act.open_crashes()) == 2  # an interrupted close opens the breaker


def test_the_simulator_never_force_closes(live):
    _, _, client, server = live
    ch = _active(client)[0]
    raw = Raw(server, server.admin_macaroon_path.read_bytes())
    txid, index = ch.channel_point.split(":")
    req = ln.CloseChannelRequest(
        channel_point=ln.ChannelPoint(funding_txid_str=txid, output_index=int(index)), force=True)
    with pytest.raises(Exception, match="cooperatively only"):
        next(iter(raw.call("CloseChannel", req)))
    raw.close()


def test_the_operator_closes_through_the_cli_after_confirming(tmp_path):
    import subprocess
    import sys

    from service_support import cli, running_service

    with running_service(tmp_path, sim_speed="0") as (env, _proc):
        assert cli(env, "mode", "live", "--reason", "test").returncode == 0
        # any open channel will do; wait for the first cycle's decisions to name them
        deadline = time.monotonic() + 120
        while True:
            got = cli(env, "decisions", "--json", "--limit", "50")
            hist = json.loads(got.stdout) if got.returncode == 0 else {"decisions": []}
            if hist["decisions"]:
                break
            assert time.monotonic() < deadline, got.stderr
            time.sleep(0.5)
        ids = sorted({e["decision"]["chan_id"] for e in hist["decisions"]})
        from mcp_optimizer.scid import scid_text

        wrong = subprocess.run([sys.executable, "-m", "mcp_optimizer", "close", str(ids[0])],
                               env=env, input="no\n", capture_output=True, text=True,
                               timeout=120)
        assert wrong.returncode == 1 and "not confirmed" in wrong.stderr
        for chan_id in ids:  # the first channel whose peer is online
            done = subprocess.run(
                [sys.executable, "-m", "mcp_optimizer", "close", scid_text(chan_id),
                 "--reason", "peer asked"], env=env, input=scid_text(chan_id) + "\n",
                capture_output=True, text=True, timeout=120)
            if "peer_offline" not in done.stdout:
                break
        assert done.returncode == 0, done.stdout + done.stderr
        assert "close_pending" in done.stdout and "closing transaction" in done.stdout
        history = cli(env, "history", "--json")
    recs = [r for r in json.loads(history.stdout)
            if r["action"] == "close_channel" and r["origin"] == "operator"]
    assert [r["state"] for r in recs if r["state"] != "refused"] == ["close_pending"]
    assert all("peer asked" in r["reasons"][0] for r in recs)
