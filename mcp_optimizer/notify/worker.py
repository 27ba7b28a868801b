"""The notifier: a thread of its own with a bounded queue, so that a slow or failing endpoint
never delays a cycle, a control request or the supervisor.

Producers (the cycle's caller, the control handler, the supervisor's crash callback) only put
a small item on the queue: never blocking, never raising. A full queue drops the item with a
WARNING line and ``mcp_notifications_dropped_total``. The thread reads the journal for what
changed since its last look (``Journal.changes_after``), formats (``format``), applies the
switch per event and the hourly limit (``ratelimit``) and sends (``sender``, which retries
and never raises). Any error in the thread is logged and the thread goes on with the next
item: it is its own supervisor.

What each item becomes:

- a cycle's end: the changes journaled since the last look (live changes applied, one message
  for the cycle; mismatches; external changes; rollbacks; writes held; closes), the cycle's
  close recommendations (each channel told once a week at most), a failed cycle or the node
  unreachable, safe mode entered or cleared;
- a rollback asked for between cycles: the rollback changes at once (the rest waits for the
  cycle's end, so that a cycle's changes stay in one message);
- a mode change, a pause or resume, an actor's crash: one message each.

While idle the thread sends the count of messages the limit left out once the hour has room,
and the daily digest when it is due.
"""

from __future__ import annotations

import datetime as dt
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from loguru import logger

from mcp_optimizer.messages.control import CycleDone
from mcp_optimizer.messages.decision import ChangeOrigin, DecisionKind
from mcp_optimizer.messages.journal import ChangeState, CycleEnded, Mode, ModeChange

from . import format as fmt
from .events import EventKind, Notice
from .metrics import NotifyMetrics
from .ratelimit import RateLimiter
from .sender import Sender
from .settings import NotifySettings

QUEUE_SIZE = 200
IDLE_S = 60.0
"""How often the idle thread looks at the digest and the messages left out."""
CLOSE_REPEAT_S = 7 * 86400
"""A close recommendation for the same channel is told again after this long."""
DAY_S = 86400
CHANGES_PAGE = 1000


class Notifier:
    def __init__(
        self,
        settings: NotifySettings,
        journal: Any,
        *,
        metrics: NotifyMetrics | None = None,
        sender: Sender | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        forwarding: Callable[[], dict[str, tuple[int, int, int]]] | None = None,
        queue_size: int = QUEUE_SIZE,
        idle_s: float = IDLE_S,
    ) -> None:
        self.settings = settings
        self.journal = journal
        self.metrics = metrics
        self.sender = sender if sender is not None else Sender(settings.targets, metrics)
        self.limiter = RateLimiter(settings.max_per_hour, monotonic)
        self.wall = wall
        self.forwarding = forwarding
        self.idle_s = idle_s
        self._queue: queue.Queue[tuple] = queue.Queue(maxsize=queue_size)
        self._thread: threading.Thread | None = None
        self._floor = journal.last_change_id()
        """Every change up to this id was looked at."""
        self._seen: set[int] = set()
        """Changes above the floor already told (rollbacks told between cycles)."""
        self._safe_mode: tuple[str, ...] = ()
        self._close_told: dict[int, float] = {}
        self._digest_day = self._digest_day_at_start()
        self.delivered: int = 0
        """Items the thread finished (tests wait on it)."""

    # ------------------------------------------------------------------ producers
    def cycle_done(self, done: CycleDone, safe_mode_reasons: Sequence[str] = ()) -> None:
        self._put(("cycle", done, tuple(safe_mode_reasons)), EventKind.CHANGES_APPLIED)

    def rollbacks(self) -> None:
        self._put(("rollbacks",), EventKind.ROLLBACK)

    def mode_changed(self, change: ModeChange) -> None:
        self._put(("notice", fmt.mode_notice(change)), EventKind.MODE)

    def pause_changed(self, paused: bool, by: str, reason: str, sources: Sequence[str]) -> None:
        self._put(("notice", fmt.pause_notice(paused, by, reason, sources)), EventKind.PAUSE)

    def crashed(self, actor: str, cause: str) -> None:
        self._put(("notice", fmt.crash_notice(actor, cause)), EventKind.CRASH)

    def notice(self, notice: Notice) -> None:
        self._put(("notice", notice), notice.kind)

    def _put(self, item: tuple, kind: EventKind) -> None:
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            if self.metrics is not None:
                self.metrics.dropped(kind)
            logger.warning("notification ({}) dropped: the notifier's queue is full (an "
                           "endpoint slower than the events)", kind.value)

    # ------------------------------------------------------------------- the thread
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="notifier", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Ask the thread to finish what is queued and end; waits at most ``timeout_s`` (a
        message still retrying then is given up: the thread is a daemon)."""
        if self._thread is None:
            return
        try:
            self._queue.put(("stop",), timeout=timeout_s)
        except queue.Full:
            pass
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            logger.warning("the notifier did not finish within {:g} s; messages still queued "
                           "are not sent", timeout_s)

    def _run(self) -> None:
        while True:
            try:
                item = self._queue.get(timeout=self.idle_s)
            except queue.Empty:
                item = ("idle",)
            if item[0] == "stop":
                return
            try:
                self._handle(item)
            except Exception:  # noqa: BLE001 - the notifier never stops for one bad item
                logger.exception("the notifier failed on one item ({}); it goes on", item[0])
            self.delivered += 1

    def _handle(self, item: tuple) -> None:
        match item[0]:
            case "cycle":
                self._on_cycle(item[1], item[2])
            case "rollbacks":
                self._on_rollbacks()
            case "notice":
                self._deliver(item[1])
            case "idle":
                pass
        summary = self.limiter.summary()
        if summary is not None:
            self.sender.send(summary)
        self._maybe_digest()

    def _deliver(self, notice: Notice) -> None:
        if not self.settings.wants(notice.kind):
            return
        admitted = self.limiter.admit(notice)
        if admitted is None:
            if self.metrics is not None:
                self.metrics.suppressed(notice.kind)
            logger.info("notification ({}) left out by MCP_NOTIFY_MAX_PER_HOUR",
                        notice.kind.value)
            return
        self.sender.send(admitted)

    # ------------------------------------------------------------------- the events
    def _on_cycle(self, done: CycleDone, safe_mode: tuple[str, ...]) -> None:
        changes = [c for c in self._changes_since_floor() if c.change_id not in self._seen]
        pending = [c.change_id for c in changes if c.state is ChangeState.INTENT]
        told = [c for c in changes if c.state is not ChangeState.INTENT]
        top = max((c.change_id for c in told), default=self._floor)
        self._floor = min(pending) - 1 if pending else max(top, self._floor,
                                                              max(self._seen, default=0))
        self._seen = {i for i in self._seen if i > self._floor} | {
            c.change_id for c in told if c.change_id > self._floor}
        notices = fmt.cycle_notices(done)
        notices += fmt.change_notices(told, done.cycle_id)
        notices += fmt.close_recommendations(self._new_closes(done))
        if safe_mode != self._safe_mode:
            if safe_mode or self._safe_mode:
                notices.append(fmt.safe_mode_notice(safe_mode))
            self._safe_mode = safe_mode
        for notice in notices:
            self._deliver(notice)

    def _on_rollbacks(self) -> None:
        found = [c for c in self._changes_since_floor()
                 if c.origin is ChangeOrigin.ROLLBACK and c.change_id not in self._seen
                 and c.state is not ChangeState.INTENT]
        self._seen |= {c.change_id for c in found}
        for notice in fmt.change_notices(found):
            self._deliver(notice)

    def _changes_since_floor(self) -> list:
        out: list = []
        after = self._floor
        while True:
            page = self.journal.changes_after(after, limit=CHANGES_PAGE)
            out += page
            if len(page) < CHANGES_PAGE:
                return out
            after = page[-1].change_id

    def _new_closes(self, done: CycleDone) -> list:
        if not self.settings.wants(EventKind.CLOSE_RECOMMENDED):
            return []
        now = self.wall()
        fresh = []
        for _, _, decision in self.journal.cycle_decisions(done.cycle_id, done.started_at_s):
            if decision.kind is not DecisionKind.CLOSE_CHANNEL or decision.executable:
                continue
            if now - self._close_told.get(decision.chan_id, -CLOSE_REPEAT_S) >= CLOSE_REPEAT_S:
                self._close_told[decision.chan_id] = now
                fresh.append(decision)
        return fresh

    # -------------------------------------------------------------------- the digest
    def _digest_day_at_start(self) -> dt.date | None:
        """The last day a digest counts as sent: today when its hour has passed already (a
        restart sends none at once)."""
        hour = self.settings.digest_hour
        if hour is None:
            return None
        now = dt.datetime.fromtimestamp(self.wall(), dt.UTC)
        return now.date() if now.hour >= hour else now.date() - dt.timedelta(days=1)

    def _maybe_digest(self) -> None:
        hour = self.settings.digest_hour
        if hour is None or not self.settings.wants(EventKind.DIGEST):
            return
        now = dt.datetime.fromtimestamp(self.wall(), dt.UTC)
        if now.hour < hour or self._digest_day == now.date():
            return
        self._digest_day = now.date()
        self._deliver(self.digest())

    def digest(self) -> Notice:
        """The last day's digest from the journal and the latest cycle's forwarding reading."""
        since = self.journal.now_s() - DAY_S
        cycles: Counter[str] = Counter()
        for c in self.journal.cycles(limit=100_000, since_s=since):
            cycles[c.end.outcome.value if isinstance(c.end, CycleEnded) else "running"] += 1
        states: Counter[str] = Counter()
        per_channel: Counter[int] = Counter()
        for c in self.journal.changes(since_s=since):
            states[c.state.value] += 1
            if c.origin is ChangeOrigin.SERVICE and c.mode is Mode.LIVE and \
                    c.state in fmt.APPLIED_STATES:
                per_channel[c.chan_id] += 1
        recent = (self.forwarding() if self.forwarding is not None else {}).get("recent")
        return fmt.digest_notice(
            hours=24, cycles_by_outcome=cycles, changes_by_state=states,
            top_channels=per_channel.most_common(5),
            forwards=recent[1] if recent else None,
            fees_earned_msat=recent[2] if recent else None,
            window_s=recent[0] if recent else None,
        )
