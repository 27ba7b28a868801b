"""``shadow-report`` (human and JSON) and ``history`` output, from a journal written in shadow
mode while the operator changed fees by hand."""

from __future__ import annotations

import json
import os
import time

import msgspec
from journal_support import Clock, MemoryNode, decision, make_channels

from mcp_optimizer.cli.main import main
from mcp_optimizer.journal import Journal
from mcp_optimizer.journal.shadow import NO_NODE
from mcp_optimizer.messages import (
    ChangeState,
    CycleEnded,
    CycleNotEnded,
    CycleOutcome,
    CycleRecord,
    EffectNotEstimated,
    FeeRateGapKnown,
    FeeRateGapUnknown,
    PolicyUnknown,
    ShadowReport,
)
from mcp_optimizer.policies.config import load_policy
from mcp_optimizer.safety.actuator import Actuator
from mcp_optimizer.scid import scid_text

POLICY = load_policy(environ={})


def _shadow_period(tmp_path):
    clock = Clock(time.time() - 3 * 86400)
    node = MemoryNode(make_channels(3))
    with Journal.open(tmp_path, clock) as journal:
        act = Actuator(journal, node, POLICY, tmp_path, environ={})
        act.observe(node.list_channels())
        a, b, c = node.list_channels()
        assert act.apply_decision(decision(a, 550), a.channel_point).state is (
            ChangeState.SHADOWED
        )
        clock.advance(86400)
        assert act.apply_decision(decision(a, 600), a.channel_point).state is (
            ChangeState.SHADOWED
        )
        clock.advance(600)
        assert act.apply_decision(decision(a, 650), a.channel_point).state is ChangeState.HELD
        node.set_by_hand(b.chan_id, msgspec.structs.replace(b.our_policy, fee_rate_ppm=420))
        act.observe(node.list_channels())
        assert act.apply_decision(decision(c, 5000), c.channel_point).state is (
            ChangeState.REFUSED
        )
        act.close()
    return a, b, c


def test_shadow_report_json_and_table(tmp_path, capsys, monkeypatch):
    for k in [k for k in os.environ if k.startswith("MCP_LND_")]:
        monkeypatch.delenv(k)
    a, b, c = _shadow_period(tmp_path)
    assert main(["shadow-report", "--json", "--data-dir", str(tmp_path)]) == 0
    report = msgspec.json.decode(capsys.readouterr().out, type=ShadowReport)
    rows = {r.chan_id: r for r in report.channels}
    assert set(rows) == {a.chan_id, b.chan_id, c.chan_id}
    ra = rows[a.chan_id]
    assert (ra.would_change_count, ra.stopped_count, ra.external_change_count) == (2, 1, 0)
    assert ra.first_would_policy.fee_rate_ppm == 550 and ra.last_would_policy.fee_rate_ppm == 600
    assert ra.actual_policy.fee_rate_ppm == 500 and ra.fee_rate_gap == FeeRateGapKnown(gap_ppm=100)
    rb = rows[b.chan_id]
    assert rb.external_change_count == 1 and rb.actual_policy.fee_rate_ppm == 420
    assert isinstance(rb.last_would_policy, PolicyUnknown)
    assert rb.fee_rate_gap == FeeRateGapUnknown(reason="no would-be change in the period")
    assert rows[c.chan_id].stopped_count == 1
    assert report.effect == EffectNotEstimated(reason=NO_NODE)  # no service, no MCP_LND_*

    assert main(["shadow-report", "--days", "2.5", "--data-dir", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    [line_a] = [x for x in text.splitlines() if x.strip().startswith(scid_text(a.chan_id))]
    assert line_a.split()[1:3] == ["1", "1"]  # the 3-day-old would-be change is out of range
    assert "1000/600" in line_a and "1000/500" in line_a and "+100" in line_a
    assert scid_text(b.chan_id) in text and f"Effect: {NO_NODE}" in text
    [line_b] = [x for x in text.splitlines() if x.strip().startswith(scid_text(b.chan_id))]
    assert line_b.split()[-1] == "?"  # no would-be policy: the gap is unknown, not 0
    assert main(["shadow-report", "--days", "0", "--data-dir", str(tmp_path)]) == 2


def test_history_shows_origin_reasons_gates_and_state(tmp_path, capsys):
    a, b, c = _shadow_period(tmp_path)
    assert main(["history", "--data-dir", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "external" in text and "shadowed" in text and "refused" in text
    assert "refuse by fee_rate_ppm" not in text and "refuse by fee_bounds" in text
    assert "hold by cooldown" in text and "why: test decision" in text
    assert main(["history", "--json", "--channel", str(b.chan_id), "--data-dir",
                 str(tmp_path)]) == 0
    [ext] = json.loads(capsys.readouterr().out)
    assert ext["origin"] == "external" and ext["new_policy"]["fee_rate_ppm"] == 420
    assert ext["decision"] == {"type": "WithoutDecision"}


def test_time_arguments():
    import pytest

    from mcp_optimizer.cli.journal import parse_time
    from mcp_optimizer.cli.main import CliError

    now = 1_790_000_000
    assert parse_time("1789990000", now) == 1_789_990_000
    assert parse_time("90m", now) == now - 5400
    assert parse_time("7d", now) == now - 7 * 86400
    assert parse_time("2026-11-27", now) == 1_795_737_600
    assert parse_time("2026-11-27T08:00:00Z", now) == 1_795_766_400
    assert parse_time("2026-11-27T10:00:00+02:00", now) == 1_795_766_400
    with pytest.raises(CliError, match="'soon' is not a time"):
        parse_time("soon", now)


def test_history_cycles_shows_partial_as_its_own_outcome(tmp_path, capsys):
    clock = Clock(time.time() - 3600)
    with Journal.open(tmp_path, clock) as j:
        ok = j.begin_cycle("schedule")
        clock.advance(5)
        j.finish_cycle(ok, CycleOutcome.OK, "3 channels, 3 decisions, 0 actions")
        clock.advance(600)
        partial = j.begin_cycle("evaluate-now")
        clock.advance(5)
        j.finish_cycle(partial, CycleOutcome.PARTIAL, "3 channels; scorer failed")
        clock.advance(600)
        j.begin_cycle("schedule")
    assert main(["history", "--cycles", "--json", "--data-dir", str(tmp_path)]) == 0
    cycles = msgspec.json.decode(capsys.readouterr().out, type=list[CycleRecord])
    assert [c.end for c in cycles] == [
        CycleEnded(at_s=cycles[0].started_at_s + 5, outcome=CycleOutcome.OK),
        CycleEnded(at_s=cycles[1].started_at_s + 5, outcome=CycleOutcome.PARTIAL),
        CycleNotEnded(),
    ]
    assert cycles[1].detail == "3 channels; scorer failed"  # no "partial:" folded in
    assert main(["history", "--cycles", "--data-dir", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:2] == ["cycle", "started"] and len(lines) == 4
    assert " ok " in lines[1] and " partial " in lines[2] and "not ended" in lines[3]
    assert "evaluate-now: 3 channels; scorer failed" in lines[2]
    assert main(["history", "--cycles", "--limit", "1", "--json", "--data-dir",
                 str(tmp_path)]) == 0
    [newest] = json.loads(capsys.readouterr().out)
    assert newest["end"] == {"type": "CycleNotEnded"}
    assert main(["history", "--cycles", "--channel", "7", "--data-dir", str(tmp_path)]) == 2
    assert "cannot be combined with --channel" in capsys.readouterr().err
