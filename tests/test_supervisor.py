"""The supervisor with real pykka actors: registry by name, crash replies, restarts, safe mode."""

from __future__ import annotations

import threading
import time

import pytest
from loguru import logger

from mcp_optimizer.actors.base import SupervisedActor
from mcp_optimizer.actors.faults import FAULTS
from mcp_optimizer.messages.actors import ActorFailed, ActorUnavailable
from mcp_optimizer.supervisor import ChildSpec, ChildState, Intensity, Restart, Supervisor


class Counter(SupervisedActor):
    """Keeps a count in memory: a restart visibly resets it, a survivor keeps it."""

    def setup(self):
        self.count = 0

    def handle(self, message):
        if message == "boom":
            raise ValueError("asked to crash")
        if message == "slow":
            time.sleep(0.3)
            return "slow done"
        if message == "quit":
            self.stop()
            return "quitting"
        self.count += 1
        return self.count


def spec(name, restart=Restart.PERMANENT):
    return ChildSpec(name=name, factory=lambda ctx: Counter.start(ctx), restart=restart)


@pytest.fixture
def logs():
    lines: list[str] = []
    sink = logger.add(lambda m: lines.append(str(m)), level="INFO")
    yield lines
    logger.remove(sink)


@pytest.fixture
def make_sup():
    made = []

    def make(specs, **kw):
        sup = Supervisor(specs, **kw)
        sup.start()
        made.append(sup)
        return sup

    yield make
    for sup in made:
        sup.stop()
    FAULTS.disarm()


def wait_for(pred, timeout=2.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.01)
    return False


def state(sup, name):
    return next(r for r in sup.snapshot() if r.spec.name == name)


def test_crash_gives_typed_failure_reply_and_restart_within_a_second(make_sup, logs):
    sup = make_sup([spec("a"), spec("b")])
    assert sup.ask("a", "inc") == 1
    assert sup.ask("b", "inc") == 1
    assert sup.ask("b", "inc") == 2
    t0 = time.monotonic()
    reply = sup.ask("a", "boom")
    assert isinstance(reply, ActorFailed)
    assert (reply.actor, reply.request, reply.error_type) == ("a", "str", "ValueError")
    assert "asked to crash" in reply.error
    # reachable again by name, fresh state, within one second
    assert sup.ask("a", "inc") == 1
    assert time.monotonic() - t0 < 1.0
    # the sibling kept its state
    assert sup.ask("b", "inc") == 3
    rec = state(sup, "a")
    assert (rec.crashes, rec.restarts, rec.state) == (1, 1, ChildState.RUNNING)
    assert "ValueError: asked to crash" in rec.last_crash
    text = "\n".join(logs)
    assert "actor a crashed (crash #1): ValueError: asked to crash" in text
    assert "actor a restarted (restart #1" in text


def test_queued_requests_of_a_crashing_actor_are_answered_not_lost(make_sup):
    sup = make_sup([spec("a")])
    results = {}

    def ask(key, msg):
        results[key] = sup.ask("a", msg)

    threads = [threading.Thread(target=ask, args=("slow", "slow"))]
    threads[0].start()
    time.sleep(0.05)
    # these queue behind "slow"; "boom" crashes the actor, "after" is queued behind it
    threads += [threading.Thread(target=ask, args=(k, m)) for k, m in
                (("boom", "boom"), ("after", "inc"))]
    for t in threads[1:]:
        t.start()
        time.sleep(0.02)
    for t in threads:
        t.join(5)
    assert results["slow"] == "slow done"
    assert isinstance(results["boom"], ActorFailed)
    after = results["after"]
    # either it was handled by the restarted actor, or it is reported as unhandled
    assert after == 1 or isinstance(after, ActorUnavailable)


def test_fault_hook_crashes_the_named_actor_only(make_sup):
    sup = make_sup([spec("a"), spec("b")])
    FAULTS.arm("b", request="str")
    assert sup.ask("a", "inc") == 1
    reply = sup.ask("b", "inc")
    assert isinstance(reply, ActorFailed) and reply.error_type == "InjectedFault"
    assert sup.ask("b", "inc") == 1
    assert sup.ask("a", "inc") == 2


def test_intensity_exceeded_stops_branch_enters_safe_mode_rest_keeps_running(make_sup, logs):
    sup = make_sup([spec("a"), spec("b")], intensity=Intensity(max_restarts=2, period_s=60))
    for _ in range(2):
        assert isinstance(sup.ask("a", "boom"), ActorFailed)
        assert wait_for(lambda: state(sup, "a").state is ChildState.RUNNING)
    assert not sup.safe_mode.active
    assert isinstance(sup.ask("a", "boom"), ActorFailed)
    assert wait_for(lambda: state(sup, "a").state is ChildState.FAILED)
    assert sup.safe_mode.active
    assert "restart intensity exceeded" in sup.safe_mode.reasons[0]
    reply = sup.ask("a", "inc")
    assert isinstance(reply, ActorUnavailable) and "a is failed" in reply.reason
    assert sup.ask("b", "inc") == 1
    assert any("SAFE MODE" in line for line in logs)
    # operator acknowledgement brings it back and leaves safe mode
    assert sup.revive() == ["a"]
    assert not sup.safe_mode.active
    assert sup.ask("a", "inc") == 1


def test_intensity_uses_the_injected_clock(make_sup):
    now = [0.0]
    sup = make_sup([spec("a")], intensity=Intensity(1, 10), clock=lambda: now[0])
    sup.ask("a", "boom")
    assert wait_for(lambda: state(sup, "a").state is ChildState.RUNNING)
    now[0] = 11.0  # the first restart left the window
    sup.ask("a", "boom")
    assert wait_for(lambda: state(sup, "a").restarts == 2)
    assert not sup.safe_mode.active
    sup.ask("a", "boom")  # second within 10 s of the last
    assert wait_for(lambda: state(sup, "a").state is ChildState.FAILED)


def test_temporary_and_transient_children(make_sup):
    sup = make_sup([spec("t", Restart.TEMPORARY), spec("tr", Restart.TRANSIENT), spec("p")])
    assert isinstance(sup.ask("t", "boom"), ActorFailed)
    assert wait_for(lambda: state(sup, "t").state is ChildState.STOPPED)
    assert sup.ask("tr", "quit") == "quitting"  # a normal stop
    assert wait_for(lambda: state(sup, "tr").state is ChildState.STOPPED)
    assert sup.ask("p", "quit") == "quitting"
    assert wait_for(lambda: state(sup, "p").restarts == 1)
    assert sup.ask("p", "inc") == 1
    assert not sup.safe_mode.active


def test_factory_failure_at_restart_counts_as_crash_and_escalates(make_sup):
    calls = [0]

    def factory(ctx):
        calls[0] += 1
        if calls[0] > 1:
            raise OSError("cannot reach the node")
        return Counter.start(ctx)

    sup = make_sup([ChildSpec(name="a", factory=factory), spec("b")],
                   intensity=Intensity(2, 60))
    sup.ask("a", "boom")
    assert wait_for(lambda: state(sup, "a").state is ChildState.FAILED)
    assert "cannot reach the node" in sup.safe_mode.reasons[0]
    assert sup.ask("b", "inc") == 1


def test_duplicate_names_and_unknown_child_are_refused():
    with pytest.raises(ValueError, match="duplicate child names: a"):
        Supervisor([spec("a"), spec("a")])
    sup = Supervisor([spec("a")])
    with pytest.raises(KeyError, match="no child named 'zz'"):
        sup.ask("zz", "inc")
