"""Human output names channels the way operators know them (BLOCKxTXxOUTPUT, as `cycle`, the
log and block explorers do), in every verb; a channel may be given in that form or as LND's
integer chan_id; --json keeps the integer. Long reasons are wrapped to 100 columns, and an
empty answer says which filter it applied. Through the real command, in a subprocess."""

from __future__ import annotations

import json
import os
import re

import pytest
from lnd_sim_support import serve
from service_support import cli

from mcp_optimizer.scid import scid_text
from mcp_optimizer.simulator.model import SimulatedNode

SCID = re.compile(r"\b\d+x\d+x\d+\b")


@pytest.fixture(scope="module")
def journal(tmp_path_factory):
    """(environment, data dir, the `cycle` run) after one demo cycle kept in a data dir."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MCP_LND_", "MCP_PAUSED"))}
    data = str(tmp_path_factory.mktemp("cli-out") / "data")
    cycle = cli(env, "cycle", "--data-dir", data)
    assert cycle.returncode == 0, cycle.stderr
    return env, data, cycle


def test_history_prints_and_accepts_short_channel_ids(journal):
    env, data, cycle = journal

    as_json = cli(env, "history", "--json", "--data-dir", data)
    changes = json.loads(as_json.stdout)
    assert changes and all(isinstance(c["chan_id"], int) for c in changes)  # --json unchanged
    chan_id = changes[0]["chan_id"]

    text = cli(env, "history", "--data-dir", data).stdout
    rows = [x for x in text.splitlines()[1:] if not x.startswith(" " * 8)]
    assert len(rows) == len(changes)
    for row, change in zip(rows, changes, strict=True):
        assert row.split()[3] == scid_text(change["chan_id"])  # id, date, time, channel
    assert str(chan_id) not in text

    # the same channel selected by either form
    by_scid = cli(env, "history", "--channel", scid_text(chan_id), "--data-dir", data)
    by_int = cli(env, "history", "--channel", str(chan_id), "--data-dir", data)
    assert by_scid.returncode == 0 and by_scid.stdout == by_int.stdout
    assert scid_text(chan_id) in by_scid.stdout
    assert set(SCID.findall(by_scid.stdout)) == {scid_text(chan_id)}

    # and the cycle table names it the same way
    assert scid_text(chan_id) in cycle.stdout


def test_history_and_cycle_fit_in_100_columns(journal):
    env, data, cycle = journal
    text = cli(env, "history", "--data-dir", data).stdout
    assert max(len(x) for x in text.splitlines()) <= 100
    assert max(len(x) for x in cycle.stdout.splitlines()) <= 100
    # the wrapped reasons keep every word: each "why" reads the same joined back
    whys = re.findall(r"^ {8}why: (.*(?:\n {13}.*)*)", text, re.M)
    assert any("\n" in w for w in whys)  # some were long enough to wrap
    joined = [" ".join(x.strip() for x in w.split("\n")) for w in whys]
    as_json = cli(env, "history", "--json", "--data-dir", data).stdout
    reasons = [r for c in json.loads(as_json) for r in c["reasons"]]
    assert joined == reasons


def test_an_empty_history_names_its_filter(journal):
    env, data, _ = journal
    r = cli(env, "history", "--channel", "1x2x3", "--since", "2026-11-27T08:00:00Z",
            "--data-dir", data)
    assert r.returncode == 0
    assert r.stdout.strip() == (
        "no change in the journal on channel 1x2x3 since 2026-11-27 08:00:00 UTC"
    )


def test_a_cycle_against_a_node_that_does_not_answer_prints_no_empty_table(tmp_path, journal):
    env, _, _ = journal
    node = SimulatedNode.from_scenario("demo")
    server = serve(node, tmp_path / "state")
    address = server.address
    server.stop()  # its certificate and macaroon stay: the node is just gone
    env = {
        **env, "MCP_LND_HOST": address, "MCP_LND_TLS_CERT": str(server.tls_cert_path),
        "MCP_LND_MACAROON": str(server.admin_macaroon_path), "MCP_LND_TIMEOUT_S": "5",
        "MCP_MEMPOOL_URL": "off",
    }
    r = cli(env, "cycle", "--data-dir", str(tmp_path / "data"))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == f"One evaluation cycle against LND at {address}, mode shadow:"
    assert lines[1].startswith("cycle failed: 0 channels") and "not reachable" in r.stdout
    assert not any(x.startswith("channel ") for x in lines)  # no table header for nothing
    assert max(len(x) for x in lines) <= 100


def test_history_limit_keeps_the_most_recent_changes(journal):
    env, data, _ = journal
    every = json.loads(cli(env, "history", "--json", "--data-dir", data).stdout)
    assert len(every) > 3
    last3 = json.loads(cli(env, "history", "--json", "--limit", "3", "--data-dir", data).stdout)
    assert last3 == every[-3:]
