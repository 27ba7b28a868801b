"""The home-screen widget's body (mcp_optimizer/umbrel/widget.py); the route itself is fetched
from a running service in tests/test_image_steps.py."""

from __future__ import annotations

from mcp_optimizer.messages import CycleOutcome, Mode
from mcp_optimizer.messages.control import (
    CycleDone,
    NoCycleDue,
    NoCycleYet,
    SafeModeOff,
    StatusReply,
)
from mcp_optimizer.messages.journal import PauseState
from mcp_optimizer.umbrel.widget import _RevenueCache, widget_body


def status(mode=Mode.SHADOW, paused=False, cycle=None) -> StatusReply:
    return StatusReply(
        node="LND at 10.21.21.9:10009", started_at_s=1_000, mode=mode,
        pause=PauseState(paused=paused, sources=["api"] if paused else [], reason=""),
        safe_mode=SafeModeOff(), actors=[], cycle_running=False,
        last_cycle=cycle or NoCycleYet(), next_cycle=NoCycleDue(reason="paused"),
        open_crashes=[])


def items(body):
    assert body["type"] == "four-stats" and body["refresh"] == "30s" and body["link"] == ""
    return [(i["title"], i["text"], i["subtext"]) for i in body["items"]]


def test_four_stats_in_shadow_mode():
    done = CycleDone(cycle_id=3, trigger="schedule", started_at_s=9_000, finished_at_s=9_010,
                     outcome=CycleOutcome.OK, detail="", channels=21, decisions=21, actions=4,
                     actions_by_outcome={"shadowed": 4})
    body = widget_body(status(cycle=done), now_s=9_010 + 7_300, revenue_msat=1_234_567,
                       changes_24h=5)
    assert items(body) == [
        ("Mode", "shadow", "writes nothing"),
        ("Revenue 24 h", "1,234", "sats"),
        ("Changes 24 h", "5", "would-be"),
        ("Last cycle", "ok", "2 h ago"),
    ]


def test_live_paused_and_unknown_parts():
    body = widget_body(status(mode=Mode.LIVE, paused=True), now_s=0, revenue_msat=None,
                       changes_24h=None)
    assert items(body) == [
        ("Mode", "paused", "live"),
        ("Revenue 24 h", "n/a", "node not answering"),
        ("Changes 24 h", "n/a", "fees set"),
        ("Last cycle", "none yet", "starting"),
    ]
    assert items(widget_body(None, 0, 0, 0))[0] == ("Mode", "n/a", "not answering")


class Node:
    def __init__(self):
        self.calls = []

    def now_s(self):
        return 200_000

    def forwarding_event_pages(self, start_s, end_s):
        self.calls.append((start_s, end_s))

        class E:
            fee_msat = 1_500

        yield [E(), E()]
        yield [E()]


def test_revenue_is_the_last_24_hours_asked_once_a_minute():
    node, clock = Node(), [0.0]
    cache = _RevenueCache(node, monotonic=lambda: clock[0])
    assert cache.get() == 4_500 and node.calls == [(200_001 - 86_400, 200_001)]
    clock[0] = 59.0
    assert cache.get() == 4_500 and len(node.calls) == 1
    clock[0] = 61.0
    assert cache.get() == 4_500 and len(node.calls) == 2
    assert _RevenueCache(None).get() is None
