"""Human output names channels the way operators know them (BLOCKxTXxOUTPUT, as `cycle`, the
log and block explorers do), in every verb; a channel may be given in that form or as LND's
integer chan_id; --json keeps the integer. Through the real command, in a subprocess."""

from __future__ import annotations

import json
import os
import re

from service_support import cli

from mcp_optimizer.scid import scid_text

SCID = re.compile(r"\b\d+x\d+x\d+\b")


def test_history_prints_and_accepts_short_channel_ids(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MCP_LND_", "MCP_PAUSED"))}
    data = str(tmp_path / "data")
    cycle = cli(env, "cycle", "--data-dir", data)
    assert cycle.returncode == 0, cycle.stderr

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
