"""Send one message to every URL through apprise, retried with tenacity backoff. Never raises.

Each URL is its own apprise object, so that the operator learns which one failed and why
(apprise's own warning for the last attempt, with every part of the URL that may be a secret
replaced). A message that one URL could not take after every attempt is logged at WARNING
(its URL named by ``safe_name``) and counted in ``mcp_notifications_failed_total``; one sent
is counted in ``mcp_notifications_sent_total``.

apprise's own log (which may print a URL's path) is kept out of stderr and the service's log:
it is read only through ``apprise.LogCapture`` for the failure's reason.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from loguru import logger
from tenacity import RetryError, Retrying, retry_if_result, stop_after_attempt, wait_exponential

from mcp_optimizer.logs import add_secret, redact

from .events import Notice
from .settings import NotifyTarget, secret_parts

ATTEMPTS = 3
"""Tries per URL and message (the first and two retries)."""
WAIT_FIRST_S = 2.0
"""Pause before the first retry, doubled before each next one..."""
WAIT_MAX_S = 30.0
"""...up to this."""

_apprise_lock = threading.Lock()  # LogCapture hooks apprise's (global) logger


def quiet_apprise() -> None:
    """apprise's log stays out of stderr (Python's last-resort handler) and every other log."""
    log = logging.getLogger("apprise")
    log.propagate = False
    if not any(isinstance(h, logging.NullHandler) for h in log.handlers):
        log.addHandler(logging.NullHandler())


@dataclass(frozen=True)
class Failure:
    """A URL that did not take the message: its safe name and why (no secret)."""

    name: str
    reason: str


class Sender:
    """``send(notice)`` to every target; returns the failures. ``sleep`` waits between tries
    (tests give one that does not wait); ``metrics`` counts (``NotifyMetrics``, or None)."""

    def __init__(
        self,
        targets: Sequence[NotifyTarget],
        metrics: Any = None,
        *,
        attempts: int = ATTEMPTS,
        sleep: Callable[[float], None] = time.sleep,
        wait_first_s: float = WAIT_FIRST_S,
    ) -> None:
        import apprise

        quiet_apprise()
        self.metrics = metrics
        self.attempts = attempts
        self.sleep = sleep
        self.wait_first_s = wait_first_s
        self._targets: list[tuple[NotifyTarget, Any, list[str]]] = []
        for target in targets:
            secrets = secret_parts(target.url)
            for part in secrets:
                add_secret(part)  # belt and braces: never in any log line either
            one = apprise.Apprise()
            one.add(target.url)
            self._targets.append((target, one, secrets))

    @property
    def names(self) -> list[str]:
        return [t.name for t, _, _ in self._targets]

    def send(self, notice: Notice) -> list[Failure]:
        failures = []
        for target, one, secrets in self._targets:
            try:
                reason = self._send_one(one, notice)
            except Exception as exc:  # noqa: BLE001 - never into the caller
                reason = f"{type(exc).__name__}: {exc}"
            if reason is None:
                if self.metrics is not None:
                    self.metrics.sent(notice.kind)
                continue
            reason = _scrub(reason, secrets)
            failures.append(Failure(name=target.name, reason=reason))
            if self.metrics is not None:
                self.metrics.failed(notice.kind)
            logger.warning("notification {!r} ({}) not sent to {} after {} attempt(s): {}",
                           notice.title, notice.kind.value, target.name, self.attempts, reason)
        return failures

    def _send_one(self, one: Any, notice: Notice) -> str | None:
        """None when sent, else the reason of the last attempt."""
        import apprise

        last_reason = ["apprise gave no reason"]

        def attempt() -> bool:
            with _apprise_lock, apprise.LogCapture(level=logging.WARNING) as captured:
                ok = bool(one.notify(body=notice.body, title=notice.title))
            if not ok:
                lines = [ln.strip() for ln in captured.getvalue().splitlines() if ln.strip()]
                last_reason[0] = _strip_stamp(lines[-1]) if lines else "apprise gave no reason"
            return ok

        retrying = Retrying(
            stop=stop_after_attempt(self.attempts),
            wait=wait_exponential(multiplier=self.wait_first_s, min=self.wait_first_s,
                                  max=WAIT_MAX_S),
            retry=retry_if_result(lambda ok: not ok),
            sleep=self.sleep,
        )
        try:
            retrying(attempt)
        except RetryError:
            return last_reason[0]
        return None


def _strip_stamp(line: str) -> str:
    """apprise's capture line without its ``2026-01-01 00:00:00,000 - WARNING - `` prefix."""
    return re.sub(r"^\S+ \S+ - [A-Z]+ - ", "", line)


def _scrub(text: str, secrets: Sequence[str]) -> str:
    for part in sorted(secrets, key=len, reverse=True):
        if part:
            text = text.replace(part, "[secret]")
    return redact(text)
