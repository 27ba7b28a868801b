"""An actor does not keep its last request or reply alive after answering (pykka's loop holds
them until the next message: between two 6-hourly cycles, hours of a channel graph)."""

from __future__ import annotations

import gc
import time
import weakref

from mcp_optimizer.actors.base import SupervisedActor
from mcp_optimizer.supervisor import ChildSpec, Supervisor


class Payload:
    """Stands for a big reply or request (weak-referenceable, unlike msgspec structs)."""


class Echo(SupervisedActor):
    def handle(self, message):
        if message == "make":
            return Payload()
        return ("seen", id(message))


def released(ref: weakref.ref, timeout_s: float = 2.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        gc.collect()
        if ref() is None:
            return True
        time.sleep(0.01)
    return False


def test_the_last_reply_and_request_are_released_without_a_next_message():
    sup = Supervisor([ChildSpec(name="echo", factory=lambda ctx: Echo.start(ctx))])
    sup.start()
    try:
        reply = sup.ask("echo", "make", 5)
        assert isinstance(reply, Payload)
        reply_ref = weakref.ref(reply)
        del reply
        assert released(reply_ref), "the actor still holds its last reply"

        request = Payload()
        request_ref = weakref.ref(request)
        assert sup.ask("echo", request, 5)[0] == "seen"
        del request
        assert released(request_ref), "the actor still holds its last request"
        assert sup.ask("echo", "again", 5)[0] == "seen"  # and it keeps answering
    finally:
        sup.stop()
