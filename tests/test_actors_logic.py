"""The pure parts under the actors: peer enrichment, the failure log, the service settings."""

from __future__ import annotations

import pytest
from builders import NOW, node, snapshot

from mcp_optimizer.actors.enrich import peers_of, with_centrality
from mcp_optimizer.actors.failures import FailureLog
from mcp_optimizer.messages import CentralityKnown, CentralityUnknown, HtlcEvent, HtlcEventKind
from mcp_optimizer.runtime.settings import ServiceSettings, SettingsError

A, B = "02" + "aa" * 32, "03" + "bb" * 32


def snap(pubkey, chan_id):
    return snapshot(channel_kw={"peer": node(pubkey=pubkey), "chan_id": chan_id})


def test_peers_are_distinct_in_first_seen_order():
    assert peers_of([snap(B, 1), snap(A, 2), snap(B, 3)]) == [B, A]
    assert peers_of([]) == []


def test_with_centrality_replaces_only_the_given_peers_and_nothing_else():
    known = CentralityKnown(normalized_ppm=1, rank=9, source="local-graph", observed_at_s=NOW,
                            estimated=False)
    unknown = CentralityUnknown(reason="peer not in the public graph")
    before = [snap(A, 1), snap(B, 2), snap(A, 3)]
    after = with_centrality(before, {A: known})
    assert [s.channel.peer.centrality for s in after] == [
        known, before[1].channel.peer.centrality, known
    ]
    for b, a in zip(before, after, strict=True):
        assert a.channel.chan_id == b.channel.chan_id
        assert a.recent == b.recent and a.channel.our_policy == b.channel.our_policy
    assert with_centrality(before, {B: unknown})[1].channel.peer.centrality == unknown


def test_failure_log_keeps_failures_only_by_window_and_bounded():
    log = FailureLog(max_events=3)

    def ev(kind, t):
        return HtlcEvent(kind=kind, incoming_chan_id=1, outgoing_chan_id=2,
                         timestamp_ns=t * 1_000_000_000, failure_detail="NO_DETAIL",
                         wire_failure="RESERVED")

    assert not log.add(ev(HtlcEventKind.SETTLE, 10))
    assert not log.add(ev(HtlcEventKind.FORWARD, 10))
    for t in (10, 20, 30, 40):
        assert log.add(ev(HtlcEventKind.LINK_FAIL if t % 20 else HtlcEventKind.FORWARD_FAIL, t))
    assert len(log) == 3  # the oldest was dropped
    assert [e.timestamp_ns // 10**9 for e in log.between(20, 40)] == [20, 30]
    assert log.between(0, 20) == []


def test_settings_defaults_and_overrides(tmp_path):
    s = ServiceSettings.from_env({})
    assert str(s.data_dir) == "var" and s.socket_path.name == "control.sock"
    assert s.schedule.interval_s == 6 * 3600 and s.use_simulator
    assert (s.intensity.max_restarts, s.intensity.period_s) == (3, 60.0)
    s = ServiceSettings.from_env({
        "MCP_DATA_DIR": str(tmp_path), "MCP_CYCLE_INTERVAL_S": "600",
        "MCP_FAILURE_BURST": "5/10", "MCP_RESTART_INTENSITY": "1/5",
        "MCP_LND_HOST": "10.0.0.1:10009", "MCP_CONTROL_SOCKET": str(tmp_path / "x.sock"),
    })
    assert s.socket_path == tmp_path / "x.sock" and not s.use_simulator
    assert s.schedule.failure_burst_count == 5 and s.schedule.interval_s == 600
    assert s.intensity.max_restarts == 1


@pytest.mark.parametrize(("env", "words"), [
    ({"MCP_CYCLE_INTERVAL_S": "often"}, "MCP_CYCLE_INTERVAL_S='often' is not a number"),
    ({"MCP_CYCLE_INTERVAL_S": "0"}, "MCP_CYCLE_INTERVAL_S='0' must be at least 1"),
    ({"MCP_EVENT_DEBOUNCE_S": "-1"}, "MCP_EVENT_DEBOUNCE_S='-1' must be at least 0"),
    ({"MCP_FAILURE_BURST": "20"}, "MCP_FAILURE_BURST='20' is not COUNT/SECONDS"),
    ({"MCP_FAILURE_BURST": "0/60"}, "MCP_FAILURE_BURST needs a COUNT of at least 1"),
    ({"MCP_RESTART_INTENSITY": "3/0"}, "MCP_RESTART_INTENSITY='3/0' is not COUNT/SECONDS"),
])
def test_bad_settings_are_named(env, words):
    with pytest.raises(SettingsError) as err:
        ServiceSettings.from_env(env)
    assert words in str(err.value)
