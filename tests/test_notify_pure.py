"""Notifications, the pure parts: settings (a bad URL named without its secret), the messages
made from journal records and a cycle's summary, and the hourly limit on an injected clock."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcp_optimizer.messages import CycleOutcome
from mcp_optimizer.messages.control import CycleDone
from mcp_optimizer.messages.decision import ChangeOrigin
from mcp_optimizer.messages.domain import ChannelPolicy, PolicyUnknown
from mcp_optimizer.messages.journal import (
    ChangeAction,
    ChangeEvent,
    ChangeRecord,
    ChangeState,
    Gate,
    GateEffect,
    GateStop,
    Mode,
    ModeChange,
    WithoutDecision,
)
from mcp_optimizer.notify import format as fmt
from mcp_optimizer.notify.events import ALL_KINDS, EventKind, Notice
from mcp_optimizer.notify.ratelimit import RateLimiter
from mcp_optimizer.notify.settings import (
    NotifySettingsError,
    load_notify_settings,
    safe_name,
    secret_parts,
    split_urls,
)
from mcp_optimizer.scid import scid_text

CHAN = (800_000 << 40) | (1234 << 16) | 1


def policy(ppm: int, base: int = 1000) -> ChannelPolicy:
    return ChannelPolicy(base_fee_msat=base, fee_rate_ppm=ppm, inbound_base_fee_msat=0,
                         inbound_fee_rate_ppm=0, time_lock_delta=80, min_htlc_msat=1000,
                         max_htlc_msat=10**9, disabled=False, last_update_s=0)


def change(cid: int, *, state=ChangeState.VERIFIED, origin=ChangeOrigin.SERVICE,
           mode=Mode.LIVE, old=100, new=150, chan=CHAN, reasons=("the channel drains",),
           stopped_by=(), rolls_back=(), action=ChangeAction.UPDATE_POLICY) -> ChangeRecord:
    return ChangeRecord(
        change_id=cid, chan_id=chan, channel_point="ab" * 32 + ":0", action=action,
        origin=origin, mode=mode, state=state, old_policy=policy(old), new_policy=policy(new),
        observed_policy=PolicyUnknown(reason="not read"), decision=WithoutDecision(),
        rolls_back=list(rolls_back), reasons=list(reasons), stopped_by=list(stopped_by),
        requested_at_s=1000, updated_at_s=1000,
        events=[ChangeEvent(state=state, at_s=1000, detail="read back 120 ppm")],
    )


def done(outcome=CycleOutcome.OK, detail="5 channels") -> CycleDone:
    return CycleDone(cycle_id=7, trigger="schedule", started_at_s=0, finished_at_s=1,
                     outcome=outcome, detail=detail, channels=5, decisions=5, actions=1,
                     actions_by_outcome={})


# ------------------------------------------------------------------------------ settings
def test_settings_defaults_and_choices():
    assert not load_notify_settings({}).enabled
    s = load_notify_settings({
        "MCP_NOTIFY_URLS": "json://127.0.0.1:9/a,json://localhost:9/b\nntfy://ntfy.sh/topic",
        "MCP_NOTIFY_EVENTS": "all,-started,-digest",
        "MCP_NOTIFY_MAX_PER_HOUR": "3",
        "MCP_NOTIFY_DIGEST_HOUR": "7",
    })
    assert [t.name for t in s.targets] == ["#1 json://127.0.0.1:9", "#2 json://localhost:9",
                                           "#3 ntfy://ntfy.sh"]
    assert s.events == ALL_KINDS - {EventKind.STARTED, EventKind.DIGEST}
    assert (s.max_per_hour, s.digest_hour) == (3, 7)
    only = load_notify_settings({"MCP_NOTIFY_EVENTS": "changes_applied, mismatch"})
    assert only.events == {EventKind.CHANGES_APPLIED, EventKind.MISMATCH}


@pytest.mark.parametrize(("env", "said"), [
    ({"MCP_NOTIFY_URLS": "json://127.0.0.1/ok nosuch://sup3rsecrettoken@host/x"},
     "MCP_NOTIFY_URLS: URL #2 nosuch:// is not one apprise can send to"),
    ({"MCP_NOTIFY_URLS": "tgram://"}, "URL #1 tgram:// is not one apprise can send to"),
    ({"MCP_NOTIFY_URLS": "plainwords"}, "URL #1 (not a URL)"),
    ({"MCP_NOTIFY_EVENTS": "changes,mode"}, "MCP_NOTIFY_EVENTS: unknown event 'changes'"),
    ({"MCP_NOTIFY_MAX_PER_HOUR": "0"}, "MCP_NOTIFY_MAX_PER_HOUR: '0' is not a whole number"),
    ({"MCP_NOTIFY_MAX_PER_HOUR": "many"}, "MCP_NOTIFY_MAX_PER_HOUR: 'many'"),
    ({"MCP_NOTIFY_DIGEST_HOUR": "24"}, "MCP_NOTIFY_DIGEST_HOUR: '24' is neither off nor"),
])
def test_bad_settings_one_line_without_secret(env, said):
    with pytest.raises(NotifySettingsError) as err:
        load_notify_settings(env)
    text = str(err.value)
    assert said in text and "\n" not in text
    assert "sup3rsecrettoken" not in text


def test_safe_name_and_secret_parts():
    url = "json://alice:hunter2hunter2@hooks.example.com:8443/path/0123456789abcdef?token=zzzzzzzzzz"
    assert safe_name(1, url) == "#1 json://hooks.example.com:8443"
    parts = secret_parts(url)
    for secret in ("alice", "hunter2hunter2", "0123456789abcdef", "zzzzzzzzzz", url):
        assert secret in parts
    assert "hooks.example.com" not in parts
    bot = "tgram://123456789:AAbbCCddEEffGG/987654"
    assert safe_name(2, bot) == "#2 tgram://"
    assert {"123456789:AAbbCCddEEffGG", "AAbbCCddEEffGG"} <= set(secret_parts(bot))
    assert split_urls(" a://x,b://y  c://z?to=1,2 ") == ["a://x", "b://y", "c://z?to=1,2"]


# ---------------------------------------------------------------------------- formatting
def test_live_changes_batched_in_one_message_with_channel_fees_and_reason():
    other = CHAN + 1
    notices = fmt.change_notices([
        change(1), change(2, chan=other, old=300, new=250, reasons=("too quiet",)),
        change(3, mode=Mode.SHADOW, state=ChangeState.SHADOWED),  # not a live change: not told
        change(4, state=ChangeState.REFUSED),
    ], cycle_id=7)
    assert [n.kind for n in notices] == [EventKind.CHANGES_APPLIED]
    (n,) = notices
    assert n.title == "2 fee change(s) applied (cycle 7)"
    assert n.body.splitlines() == [
        f"{scid_text(CHAN)}: 100 ppm + 1000 msat -> 150 ppm + 1000 msat (the channel drains)",
        f"{scid_text(other)}: 300 ppm + 1000 msat -> 250 ppm + 1000 msat (too quiet)",
    ]
    assert scid_text(CHAN) == "800000x1234x1"


def test_each_kind_of_change_has_its_message():
    breaker = GateStop(gate=Gate.CIRCUIT_BREAKER, effect=GateEffect.HOLD,
                       reason="1 crash unacknowledged")
    notices = fmt.change_notices([
        change(1, state=ChangeState.MISMATCHED),
        change(2, origin=ChangeOrigin.EXTERNAL, state=ChangeState.EXTERNAL, old=100, new=500),
        change(3, origin=ChangeOrigin.ROLLBACK, rolls_back=(1,)),
        change(4, state=ChangeState.HELD, stopped_by=(breaker,)),
        change(5, state=ChangeState.HELD, stopped_by=(GateStop(
            gate=Gate.COOLDOWN, effect=GateEffect.HOLD, reason="changed 1 h ago"),)),
        change(6, action=ChangeAction.CLOSE_CHANNEL, origin=ChangeOrigin.OPERATOR,
               state=ChangeState.CLOSE_PENDING),
    ])
    by = {n.kind: n for n in notices}
    assert set(by) == {EventKind.MISMATCH, EventKind.EXTERNAL_CHANGE, EventKind.ROLLBACK,
                       EventKind.WRITES_HELD, EventKind.CLOSE_RECOMMENDED}
    assert "read back differs (read back 120 ppm)" in by[EventKind.MISMATCH].body
    assert "ack-crash" in by[EventKind.MISMATCH].body
    assert "100 ppm + 1000 msat -> 500 ppm + 1000 msat" in by[EventKind.EXTERNAL_CHANGE].body
    assert "undoes change #1; verified" in by[EventKind.ROLLBACK].body
    assert by[EventKind.WRITES_HELD].title == "1 change(s) held"  # not the cooldown's
    assert "circuit_breaker: 1 crash unacknowledged" in by[EventKind.WRITES_HELD].body
    assert "close close_pending" in by[EventKind.CLOSE_RECOMMENDED].body


def test_a_long_batch_is_cut_and_counted():
    (n,) = fmt.change_notices([change(i, chan=CHAN + i) for i in range(40)])
    lines = n.body.splitlines()
    assert len(lines) == fmt.MAX_LINES + 1
    assert lines[-1] == "... and 15 more (mcp-optimizer history)"


def test_cycle_failures_and_node_unreachable():
    assert fmt.cycle_notices(done()) == []
    assert fmt.cycle_notices(done(CycleOutcome.PARTIAL)) == []
    (down,) = fmt.cycle_notices(done(CycleOutcome.FAILED, "ingestion failed: lnd unavailable"))
    assert down.kind is EventKind.NODE_UNREACHABLE and "lnd unavailable" in down.body
    (failed,) = fmt.cycle_notices(done(CycleOutcome.FAILED, "decider failed: boom"))
    assert failed.kind is EventKind.CYCLE_FAILED and failed.title == "Cycle 7 failed"


def test_mode_pause_crash_safe_mode_started():
    m = fmt.mode_notice(ModeChange(at_s=0, old_mode=Mode.DRY_RUN, new_mode=Mode.LIVE, by="web",
                                   reason="ready"))
    assert m.title == "Mode dry-run -> live" and "by web: ready" in m.body
    assert fmt.pause_notice(True, "cli", "", []).title == "Paused"
    still = fmt.pause_notice(False, "cli", "", ["file /x/PAUSED"])
    assert still.title == "API pause lifted" and "Still paused by: file /x/PAUSED" in still.body
    assert fmt.crash_notice("scorer", "ValueError: x").kind is EventKind.CRASH
    assert fmt.safe_mode_notice(["scorer: 4 restarts in 60 s"]).title == "Safe mode entered"
    assert fmt.safe_mode_notice([]).title == "Safe mode cleared"
    s = fmt.started_notice("LND at x:10009", Mode.LIVE, open_crashes=1, reconciled=2)
    assert "2 write(s) interrupted" in s.body and "1 crash(es) unacknowledged" in s.body


def test_digest():
    n = fmt.digest_notice(hours=24, cycles_by_outcome={"ok": 4, "failed": 1},
                          changes_by_state={"verified": 3}, top_channels=[(CHAN, 2)],
                          forwards=40, fees_earned_msat=123_456, window_s=86400 * 7)
    assert "cycles failed 1, ok 4" in n.body and "Changes: verified 3" in n.body
    assert "40 forward(s), 123 sat earned over the last 168 h" in n.body
    assert f"{scid_text(CHAN)} (2)" in n.body


# ------------------------------------------------------------------------------ the limit
class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def note(kind=EventKind.EXTERNAL_CHANGE) -> Notice:
    return Notice(kind, "t", "body")


def test_a_flapping_peer_sends_the_limit_and_the_next_message_counts_the_rest():
    clock = Clock()
    limit = RateLimiter(5, clock)
    sent = []
    for _ in range(300):  # an event a minute for five hours
        got = limit.admit(note())
        if got is not None:
            sent.append(got)
        clock.t += 60
    # five an hour, each hour: 25 messages, not 300
    assert len(sent) == 25
    counted = sum(int(m.body.split("\n\n")[1].split()[0]) for m in sent if "\n\n" in m.body)
    assert counted + sum(limit.suppressed.values()) == 300 - 25
    assert "left out by the limit of 5 an hour (MCP_NOTIFY_MAX_PER_HOUR): external_change" \
        in sent[5].body


def test_summary_when_nothing_follows():
    clock = Clock()
    limit = RateLimiter(1, clock)
    assert limit.admit(note()) is not None
    assert limit.admit(note(EventKind.MODE)) is None
    assert limit.summary() is None  # no room yet
    clock.t += 3600
    s = limit.summary()
    assert s is not None and "1 notification(s) left out" in s.body and "mode 1" in s.body
    assert limit.summary() is None and not limit.suppressed


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 10), st.lists(st.floats(0, 600), min_size=1, max_size=120))
def test_never_more_than_the_limit_in_any_hour_and_nothing_lost(max_per_hour, gaps):
    clock = Clock()
    limit = RateLimiter(max_per_hour, clock)
    times, counted = [], 0
    for gap in gaps:
        clock.t += gap
        got = limit.admit(note())
        if got is not None:
            times.append(clock.t)
            if "\n\n" in got.body:
                counted += int(got.body.split("\n\n")[1].split()[0])
    for i, t in enumerate(times):
        assert sum(1 for u in times[i:] if u < t + 3600) <= max_per_hour
    assert len(times) + counted + sum(limit.suppressed.values()) == len(gaps)
