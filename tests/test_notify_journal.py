"""The notifier reads a real journal file: a cycle's changes told once, in one message, a
change still pending at a rollback told with its cycle, a rollback between cycles told at once
and not again, a close recommendation once per channel, the daily digest at its hour."""

from __future__ import annotations

import datetime as dt

from notify_support import endpoint
from test_notify_pure import CHAN, policy

from mcp_optimizer.journal import Journal
from mcp_optimizer.messages import CycleOutcome
from mcp_optimizer.messages.control import CycleDone
from mcp_optimizer.messages.decision import ChangeOrigin, Decision, DecisionKind
from mcp_optimizer.messages.journal import ChangeState, Mode
from mcp_optimizer.notify.sender import Sender
from mcp_optimizer.notify.settings import load_notify_settings
from mcp_optimizer.notify.worker import Notifier
from mcp_optimizer.scid import scid_text

T0 = 1_767_254_340.0  # 2026-01-01 07:59 UTC


def live_change(journal: Journal, chan: int, old: int, new: int, origin=ChangeOrigin.SERVICE,
                rolls_back=(), finish=True) -> int:
    cid = journal.record_change(
        chan_id=chan, channel_point="cd" * 32 + ":1", origin=origin, mode=Mode.LIVE,
        state=ChangeState.INTENT, old_policy=policy(old), new_policy=policy(new),
        reasons=[f"to {new}"], detail="", rolls_back=list(rolls_back))
    if finish:
        finish_change(journal, cid)
    return cid


def finish_change(journal: Journal, cid: int) -> None:
    journal.transition(cid, ChangeState.APPLIED, "node accepted")
    journal.transition(cid, ChangeState.VERIFIED, "read back")


def cycle(journal: Journal, close_chan: int | None = None) -> CycleDone:
    cid = journal.begin_cycle("test")
    started = journal.now_s()
    if close_chan is not None:
        journal.record_decision(Decision(
            chan_id=close_chan, kind=DecisionKind.CLOSE_CHANNEL, current_policy=policy(100),
            proposed_policy=policy(100), reasons=["no forward in 90 days"], factors=[],
            score=0.0, executable=False, evaluated_at_s=started), cid)
    journal.finish_cycle(cid, CycleOutcome.OK, "")
    return CycleDone(cycle_id=cid, trigger="test", started_at_s=started,
                     finished_at_s=started, outcome=CycleOutcome.OK, detail="", channels=1,
                     decisions=1, actions=1, actions_by_outcome={})


def test_cycles_rollbacks_closes_and_digest_each_told_once(tmp_path):
    wall = [T0]
    journal = Journal.open(tmp_path, clock=lambda: wall[0])
    before = live_change(journal, CHAN + 9, 10, 20)  # before the service started: not told
    assert before == 1
    with endpoint() as ep:
        settings = load_notify_settings({"MCP_NOTIFY_URLS": ep.url("/h"),
                                         "MCP_NOTIFY_DIGEST_HOUR": "8",
                                         "MCP_NOTIFY_MAX_PER_HOUR": "100"})
        notifier = Notifier(settings, journal, sender=Sender(settings.targets, attempts=1),
                            wall=lambda: wall[0], idle_s=0.05)
        notifier.start()
        try:
            first = live_change(journal, CHAN, 100, 150)
            pending = live_change(journal, CHAN + 1, 200, 180, finish=False)  # mid-write
            live_change(journal, CHAN, 150, 100, origin=ChangeOrigin.ROLLBACK,
                        rolls_back=[first])
            notifier.rollbacks()
            got = ep.wait_for(lambda m: len(m) == 1)
            assert got[0]["title"] == "1 rollback(s)"
            assert f"undoes change #{first}" in got[0]["message"]

            finish_change(journal, pending)
            done = cycle(journal, close_chan=CHAN + 2)
            notifier.cycle_done(done)
            got = ep.wait_for(lambda m: len(m) == 3)
            assert got[1]["title"] == f"2 fee change(s) applied (cycle {done.cycle_id})"
            assert [ln.split(":")[0] for ln in got[1]["message"].splitlines()] == [
                scid_text(CHAN), scid_text(CHAN + 1)]
            assert got[2]["title"] == "Close recommended for 1 channel(s)"
            assert "no forward in 90 days" in got[2]["message"]

            again = cycle(journal, close_chan=CHAN + 2)  # nothing new, the close told already
            notifier.cycle_done(again)
            seen = notifier.delivered
            ep.wait_for(lambda _: notifier.delivered >= seen + 3)
            assert len(ep.messages()) == 3

            wall[0] = T0 + 60  # 08:00 UTC: the digest is due
            got = ep.wait_for(lambda m: len(m) == 4)
            assert got[3]["title"] == "Daily digest"
            assert "Changes: verified 4." in got[3]["message"]
            assert f"{scid_text(CHAN)} (1)" in got[3]["message"]
            seen = notifier.delivered
            ep.wait_for(lambda _: notifier.delivered >= seen + 5)
            assert len(ep.messages()) == 4  # once a day
            assert dt.datetime.fromtimestamp(T0, dt.UTC).hour == 7
        finally:
            notifier.stop(timeout_s=60)
            journal.close()
