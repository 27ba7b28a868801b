"""The simulated clock's driver: advances at its speed, and stops with a reason on failure."""

import threading

from mcp_optimizer.simulator.ticker import Ticker


class Node:
    def __init__(self, fail_after: int = -1) -> None:
        self.advanced = 0
        self.calls = 0
        self.fail_after = fail_after
        self.moved = threading.Event()

    def advance(self, seconds: int) -> None:
        self.calls += 1
        if self.calls == self.fail_after:
            raise RuntimeError("market exploded")
        self.advanced += seconds
        if self.advanced >= 1000:
            self.moved.set()


def test_advances_by_speed_and_stops():
    node = Node()
    t = Ticker(node, speed=4000)
    t.start()
    assert node.moved.wait(5)
    t.stop()
    after = node.advanced
    assert after >= 1000 and t.error is None
    assert node.advanced == after  # stopped: no more advances


def test_speed_zero_never_advances():
    node = Node()
    t = Ticker(node, speed=0)
    t.start()
    t.stop()
    assert node.calls == 0


def test_failure_stops_the_clock_and_reports_it():
    node = Node(fail_after=1)
    told = []
    done = threading.Event()
    t = Ticker(node, speed=4000, on_error=lambda exc: (told.append(exc), done.set()))
    t.start()
    assert done.wait(5)
    t.stop()
    assert isinstance(t.error, RuntimeError) and told == [t.error]
    assert node.calls == 1
