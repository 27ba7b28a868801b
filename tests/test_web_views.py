"""The control room's pure parts: SVG plots, time filters, the channel list's sort and filter,
the OpenAPI document's shape."""

from __future__ import annotations

import pytest
from builders import CHAN, NOW, snapshot

from mcp_optimizer.policies.config import load_policy
from mcp_optimizer.policies.engine import evaluate_channel
from mcp_optimizer.web import api
from mcp_optimizer.web.openapi import document
from mcp_optimizer.web.routes import OPS, HttpError, parse_since
from mcp_optimizer.web.svg import Series, panel


def test_a_panel_draws_each_kind_and_says_when_there_is_no_data():
    for kind in ("step", "line", "bars"):
        svg = panel(Series(kind, [(NOW - 86400, 5), (NOW - 3600, 12)], "fee <ppm>"), NOW - 2 *
                    86400, NOW)
        assert svg.startswith("<svg") and svg.endswith("</svg>")
        assert "fee &lt;ppm&gt;" in svg and "<ppm>" not in svg  # escaped
    empty = panel(Series("bars", [], "forwards"), NOW - 86400, NOW)
    assert "no data in this period" in empty
    assert "1.5k" in panel(Series("line", [(NOW, 1500)], "x"), NOW - 10, NOW)


def test_times_are_read_in_the_forms_the_page_offers():
    assert parse_since("6h", NOW) == NOW - 6 * 3600
    assert parse_since("2d", NOW) == NOW - 2 * 86400
    assert parse_since("1790000000", NOW) == 1790000000
    assert parse_since("2026-12-02", NOW) == 1796169600
    assert parse_since("2026-12-02 04:30", NOW) == 1796169600 + 4 * 3600 + 1800
    for bad in ("yesterday", "2026-13-01", "6w", ""):
        with pytest.raises(HttpError) as exc:
            parse_since(bad, NOW)
        assert exc.value.status == 400 and "\n" not in str(exc.value)


def test_the_channel_list_sorts_and_filters():
    policy = load_policy(environ={})
    snaps = [snapshot(channel_kw={"chan_id": CHAN + i, "capacity_sat": 1_000_000 * (i + 1)})
             for i in range(5)]
    decisions = {s.channel.chan_id: evaluate_channel(s, policy) for s in snaps}
    lst = api.channels(snaps, decisions, {}, sort="capacity", desc=True)
    assert [r.capacity_sat for r in lst.channels] == sorted(
        (r.capacity_sat for r in lst.channels), reverse=True)
    assert lst.total == 5 and lst.taken_at_s == NOW
    one = api.channels(snaps, decisions, {}, q=lst.channels[0].scid)
    assert one.total == 1
    kind = lst.channels[0].decision.kind.value
    assert all(r.decision.kind.value == kind
               for r in api.channels(snaps, decisions, {}, kind=kind).channels)
    assert api.channels(snaps, decisions, {}, limit=2, offset=4).channels[0].chan_id in {
        s.channel.chan_id for s in snaps}


def test_the_openapi_document_describes_every_operation_with_its_errors():
    doc = document(OPS)
    assert doc["openapi"] == "3.1.0"
    for op in OPS:
        entry = doc["paths"][op.path][op.method]
        assert "200" in entry["responses"] and "400" in entry["responses"]
        if op.method == "post":
            assert entry["requestBody"]["required"] is True
            assert "403" in entry["responses"] and "409" in entry["responses"]
    for ref in str(doc["paths"]).split("#/components/schemas/")[1:]:
        assert ref.split("'")[0] in doc["components"]["schemas"]


def test_the_channel_page_names_failed_htlcs_by_kind():
    from mcp_optimizer.messages.domain import ForwardingStats
    from mcp_optimizer.web.views import _failures

    def stats(total, balance, fee, downstream):
        return ForwardingStats(chan_id=CHAN, window_s=86400, forwards_in=0, forwards_out=0,
                               amount_in_msat=0, amount_out_msat=0, fees_earned_msat=0,
                               failed_htlcs=total, failed_balance=balance,
                               failed_downstream=downstream, failed_fee=fee)

    assert _failures(stats(0, 0, 0, 0)) == "none"
    assert _failures(stats(1200, 1000, 150, 30)) == (
        "1,200 (1,000 for want of our balance, 150 offering less than our fee, "
        "30 further along the route, 20 other)")
    assert _failures(stats(3, 0, 3, 0)) == "3 (3 offering less than our fee)"
