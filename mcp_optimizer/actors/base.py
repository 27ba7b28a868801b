"""The base of every supervised actor: a thin pykka shell that reports its own crashes.

A subclass implements :meth:`handle` (one request in, one typed reply out) around pure logic.
When ``handle`` raises, the asker gets a typed :class:`ActorFailed` reply for that very
request, the actor stops at once (its queued requests are answered ``ActorUnavailable`` by the
supervisor's ``ask``), and the supervisor restarts a fresh instance.
"""

from __future__ import annotations

from typing import Any

import pykka
from loguru import logger

from mcp_optimizer.messages.actors import ActorFailed
from mcp_optimizer.supervisor.supervisor import ActorContext

from .faults import FAULTS


class _Release:
    """What an actor sends itself after each reply (see :meth:`SupervisedActor.on_receive`)."""


_RELEASE = _Release()


class SupervisedActor(pykka.ThreadingActor):
    def __init__(self, ctx: ActorContext) -> None:
        super().__init__()
        self.ctx = ctx

    def setup(self) -> None:
        """Runs in the actor's thread before its first message; an exception is a crash."""

    def handle(self, message: Any) -> Any:
        raise NotImplementedError

    def on_start(self) -> None:
        try:
            self.setup()
        except Exception as exc:
            logger.opt(exception=exc).error("actor {} failed in setup", self.ctx.name)
            self.ctx.report_crash(exc)
            raise

    def on_receive(self, message: Any) -> Any:
        if message is _RELEASE:
            return None
        try:
            FAULTS.check(self.ctx.name, message)
            reply = self.handle(message)
            self._release_after_reply()
            return reply
        except Exception as exc:  # noqa: BLE001 - turned into a typed reply and a restart
            request = type(message).__name__
            logger.opt(exception=exc).error(
                "actor {} crashed while handling {}", self.ctx.name, request
            )
            self.ctx.report_crash(exc)
            pykka.ActorRegistry.unregister(self.actor_ref)
            self.actor_stopped.set()
            return ActorFailed(
                actor=self.ctx.name,
                request=request,
                error_type=type(exc).__name__,
                error=str(exc),
                at_s=int(self.ctx.wall()),
            )

    def _release_after_reply(self) -> None:
        """pykka's loop keeps the message just handled (with the future that holds the reply)
        and the reply in its locals until the next message arrives: between two 6-hourly
        cycles that kept, e.g., the whole channel graph alive for hours. A no-op message to
        ourselves, handled right after this reply is delivered, lets them go at once."""
        try:
            self.actor_ref.tell(_RELEASE)
        except pykka.ActorDeadError:
            pass

    def ask_peer(self, name: str, message: Any, timeout_s: float = 30.0) -> Any:
        """Ask a sibling by name through the supervisor's registry."""
        return self.ctx.registry.ask(name, message, timeout_s)
