"""The journal's series are counts of the journal: after any sequence of journal writes, with
scrapes in between (the collector counts incrementally), every series equals a full recount
made through the journal's own API."""

from __future__ import annotations

from collections import Counter

from builders import policy
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from journal_support import Clock, decision, make_channels
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from mcp_optimizer.journal import Journal
from mcp_optimizer.messages import (
    ChangeOrigin,
    ChangeState,
    CrashKind,
    CycleOutcome,
    DecisionKind,
    Gate,
    GateEffect,
    GateStop,
    Mode,
)
from mcp_optimizer.metrics.journal import JournalCollector
from mcp_optimizer.metrics.registry import service_registry

CHANNELS = make_channels(3)


def scrape(registry: CollectorRegistry) -> dict[tuple[str, tuple], float]:
    from prometheus_client import generate_latest

    out = {}
    for fam in text_string_to_metric_families(generate_latest(registry).decode()):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def recount(j: Journal) -> dict[str, Counter]:
    """What the series must say, from the journal's API (no SQL of the collector)."""
    changes = j.changes()
    by_state: Counter = Counter()
    gates: Counter = Counter()
    for c in changes:
        for e in c.events:
            by_state[(c.origin.value, e.state.value)] += 1
        for g in c.stopped_by:
            gates[g.gate.value] += 1
    origin_of = {c.change_id: c.origin.value for c in changes}
    undone = {t for c in changes if c.origin is ChangeOrigin.ROLLBACK
              and c.state is ChangeState.VERIFIED for t in c.rolls_back}
    for t in undone:
        by_state[(origin_of[t], "rolled_back")] += 1
    decisions = Counter((d.kind.value, m.value) for _, m, d in j.decisions(limit=10**6))
    cycles = Counter(
        c.end.outcome.value for c in j.cycles(limit=10**6) if hasattr(c.end, "outcome"))
    crashes = Counter(c.kind.value for c in j.crashes())
    return {"changes": by_state, "gates": gates, "decisions": decisions, "cycles": cycles,
            "crashes": crashes}


def check(values: dict, j: Journal) -> None:
    want = recount(j)
    got_changes = Counter({
        (dict(k[1])["origin"], dict(k[1])["state"]): v for k, v in values.items()
        if k[0] == "mcp_policy_changes_total" and v})
    assert got_changes == +want["changes"]
    got_gates = Counter({dict(k[1])["gate"]: v for k, v in values.items()
                         if k[0] == "mcp_gate_stops_total" and v})
    assert got_gates == +want["gates"]
    got_decisions = Counter({(dict(k[1])["kind"], dict(k[1])["mode"]): v
                             for k, v in values.items() if k[0] == "mcp_decisions_total" and v})
    assert got_decisions == +want["decisions"]
    got_cycles = Counter({dict(k[1])["outcome"]: v for k, v in values.items()
                          if k[0] == "mcp_cycles_total" and v})
    assert got_cycles == +want["cycles"]
    got_crashes = Counter({dict(k[1])["kind"]: v for k, v in values.items()
                           if k[0] == "mcp_crashes_total" and v})
    assert got_crashes == +want["crashes"]
    open_n = len(j.crashes(unacknowledged_only=True))
    assert values[("mcp_open_crashes", ())] == open_n
    mode = j.mode().value
    assert values[("mcp_mode", (("mode", mode),))] == 1.0
    assert sum(v for k, v in values.items() if k[0] == "mcp_mode") == 1.0


OPS = st.lists(
    st.one_of(
        st.tuples(st.just("decision"), st.sampled_from(list(DecisionKind))),
        st.tuples(st.just("live_change"), st.sampled_from(["verified", "mismatched", "failed",
                                                           "pending"])),
        st.tuples(st.just("stopped"), st.sampled_from([Gate.COOLDOWN, Gate.FEE_BOUNDS,
                                                       Gate.PAUSED])),
        st.tuples(st.just("shadowed"), st.just(None)),
        st.tuples(st.just("rollback"), st.just(None)),
        st.tuples(st.just("cycle"), st.sampled_from(list(CycleOutcome))),
        st.tuples(st.just("cycle_running"), st.just(None)),
        st.tuples(st.just("crash"), st.sampled_from(list(CrashKind))),
        st.tuples(st.just("ack"), st.just(None)),
        st.tuples(st.just("mode"), st.sampled_from(list(Mode))),
        st.tuples(st.just("scrape"), st.just(None)),
    ),
    max_size=30,
)


def apply(j: Journal, op: str, arg, clock: Clock, running: list[int]) -> None:
    ch = CHANNELS[len(running) % len(CHANNELS)]
    clock.advance(7)
    base = dict(chan_id=ch.chan_id, channel_point=ch.channel_point,
                old_policy=policy(fee_rate_ppm=500), new_policy=policy(fee_rate_ppm=550),
                reasons=["test"], detail="test")
    if op == "decision":
        j.record_decision(decision(ch, 550 if arg is not DecisionKind.LOWER_FEES else 450,
                                   kind=arg))
    elif op == "live_change":
        cid = j.record_change(origin=ChangeOrigin.SERVICE, mode=Mode.LIVE,
                              state=ChangeState.INTENT, **base)
        if arg == "failed":
            j.transition(cid, ChangeState.FAILED, "refused")
        elif arg != "pending":
            j.transition(cid, ChangeState.APPLIED, "accepted")
            j.transition(cid, ChangeState(arg), "read back")
    elif op == "stopped":
        effect = GateEffect.HOLD if arg is not Gate.FEE_BOUNDS else GateEffect.REFUSE
        state = ChangeState.HELD if effect is GateEffect.HOLD else ChangeState.REFUSED
        j.record_change(origin=ChangeOrigin.SERVICE, mode=Mode.LIVE, state=state,
                        stopped_by=[GateStop(gate=arg, effect=effect, reason="r")], **base)
    elif op == "shadowed":
        j.record_change(origin=ChangeOrigin.SERVICE, mode=Mode.SHADOW,
                        state=ChangeState.SHADOWED, **base)
    elif op == "rollback":
        verified = j.changes(states_in=[ChangeState.VERIFIED])
        if verified:
            target = verified[-1]
            cid = j.record_change(origin=ChangeOrigin.ROLLBACK, mode=Mode.LIVE,
                                  state=ChangeState.INTENT, rolls_back=[target.change_id], **base)
            j.transition(cid, ChangeState.APPLIED, "accepted")
            j.transition(cid, ChangeState.VERIFIED, "read back")
    elif op == "cycle":
        if running:
            j.finish_cycle(running.pop(0), arg, "done")
        else:
            j.finish_cycle(j.begin_cycle("test"), arg, "done")
    elif op == "cycle_running":
        running.append(j.begin_cycle("test"))
    elif op == "crash":
        j.record_crash(arg, "test", "boom")
    elif op == "ack":
        j.acknowledge_crashes()
    elif op == "mode":
        j.set_mode(arg, by="test", reason="test")


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS)
@example(ops=[("live_change", "verified"), ("scrape", None), ("rollback", None),
              ("cycle_running", None), ("cycle", CycleOutcome.OK), ("scrape", None),
              ("rollback", None), ("stopped", Gate.COOLDOWN), ("crash", CrashKind.ACTOR_RESTART),
              ("scrape", None), ("cycle", CycleOutcome.FAILED), ("ack", None)])
def test_journal_series_equal_a_recount_after_any_writes_and_scrapes(tmp_path_factory, ops):
    data = tmp_path_factory.mktemp("j")
    clock = Clock()
    with Journal.open(data, clock) as j:
        registry = service_registry()
        collector = JournalCollector(j.path)
        registry.register(collector)
        running: list[int] = []
        try:
            for op, arg in ops:
                if op == "scrape":
                    check(scrape(registry), j)
                else:
                    apply(j, op, arg, clock, running)
            check(scrape(registry), j)
            check(scrape(registry), j)  # a scrape with nothing new changes nothing
        finally:
            collector.close()


def test_every_decision_kind_cycle_outcome_and_gate_is_shown_from_the_start(tmp_path):
    with Journal.open(tmp_path) as j:
        registry = service_registry()
        collector = JournalCollector(j.path)
        registry.register(collector)
        values = scrape(registry)
        collector.close()
    for kind in DecisionKind:
        assert values[("mcp_decisions_total", (("kind", kind.value), ("mode", "shadow")))] == 0
    for outcome in CycleOutcome:
        assert values[("mcp_cycles_total", (("outcome", outcome.value),))] == 0
    for gate in Gate:
        assert values[("mcp_gate_stops_total", (("gate", gate.value),))] == 0
    assert values[("mcp_last_critical_error_timestamp_seconds", ())] == 0
    assert values[("mcp_last_cycle_timestamp_seconds", ())] == 0


def test_an_unreadable_journal_leaves_its_series_out_and_is_counted(tmp_path):
    with Journal.open(tmp_path) as j:
        path = j.path
    registry = service_registry()
    collector = JournalCollector(path)
    registry.register(collector)
    assert scrape(registry)[("mcp_metrics_errors_total", (("collector", "journal"),))] == 0
    collector.close()
    broken = JournalCollector(tmp_path / "elsewhere" / "journal.sqlite3")  # cannot be opened
    registry.unregister(collector)
    registry.register(broken)
    values = scrape(registry)  # the scrape is served all the same
    assert values[("mcp_metrics_errors_total", (("collector", "journal"),))] == 1
    assert not any(k[0] == "mcp_decisions_total" for k in values)
    assert ("process_resident_memory_bytes", ()) in values
