"""Node events reach the scheduler: the simulator's channel and HTLC event streams (over gRPC)
trigger one debounced cycle, recorded with the events that asked for it; a stopping service
abandons its cycle between stages."""

from __future__ import annotations

import time

import trio

from mcp_optimizer.messages import CycleOutcome
from mcp_optimizer.runtime.run import open_service
from mcp_optimizer.runtime.settings import ServiceSettings


def test_node_events_trigger_one_debounced_cycle(tmp_path):
    settings = ServiceSettings.from_env({
        "MCP_DATA_DIR": str(tmp_path),
        "MCP_SIM_SPEED": "0",
        "MCP_EVENT_DEBOUNCE_S": "1.5",
        "MCP_EVENT_MAX_DELAY_S": "30",
        "MCP_FAILURE_BURST": "3/60",
    })
    with open_service(settings) as svc:
        journal = svc.actuator.journal

        def triggers():
            return [c.trigger for c in reversed(journal.cycles(limit=100))]

        async def main():
            async with trio.open_nursery() as nursery:
                nursery.start_soon(svc.main)
                with trio.fail_after(30):
                    while triggers() != ["schedule"] or svc.driver.running:
                        await trio.sleep(0.05)
                    await trio.sleep(0.5)  # let the event streams subscribe
                    # six hours of simulated market: peers go offline, forwards fail (a storm)
                    await trio.to_thread.run_sync(svc.sim_node.advance, 6 * 3600)
                    while len(triggers()) < 2:
                        await trio.sleep(0.05)
                    await trio.sleep(2.5)  # a second event cycle would have started by now
                nursery.cancel_scope.cancel()

        trio.run(main)
        found = triggers()
        assert len(found) == 2, found
        assert found[1].startswith("node events: "), found
        assert "channel inactive" in found[1] or "forwarding failures" in found[1]
        assert journal.cycles(limit=1)[0].end.outcome is CycleOutcome.OK


def test_a_stopping_service_abandons_its_cycle_without_half_writes(tmp_path):
    settings = ServiceSettings.from_env({"MCP_DATA_DIR": str(tmp_path), "MCP_SIM_SPEED": "0"})
    with open_service(settings) as svc:
        svc.runner.stop.set()
        t0 = time.monotonic()
        done = svc.runner.run("test")
        assert done.outcome is CycleOutcome.ABANDONED
        assert "service stopping before ingestion" in done.detail
        assert time.monotonic() - t0 < 5
        assert svc.actuator.journal.cycles(limit=1)[0].end.outcome is CycleOutcome.ABANDONED
        assert svc.actuator.journal.changes() == []
