"""Replay of the attack of issue 10, item 3, against a real `mcp-optimizer run` on the embedded
simulator: one digit of a stored policy changed behind the service's back. It used to record a
false EXTERNAL change, and `rollback --last` then wrote the damaged fee to the node."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys

from service_support import cli, running_service

from mcp_optimizer.journal import Journal
from mcp_optimizer.messages import ChangeState, Mode
from mcp_optimizer.messages.control import (
    CycleFinished,
    Done,
    EvaluateNowRequest,
    SetModeRequest,
    StatusRequest,
)
from mcp_optimizer.providers.lnd.client import LndClient
from mcp_optimizer.providers.lnd.settings import LndSettings
from mcp_optimizer.runtime.control_client import request


def _ask(data, req):
    return request(data / "control.sock", req, timeout_s=300)


def _node(data) -> LndClient:
    status = _ask(data, StatusRequest())
    host = re.search(r"at (127\.0\.0\.1:\d+)", status.node).group(1)
    return LndClient(LndSettings(host=host, tls_cert_path=data / "simulator" / "tls.cert",
                                 macaroon_path=data / "simulator" / "admin.macaroon"))


def _rot_one_digit(journal_file, change_id: int, rate: int) -> int:
    """Change one digit of the change's stored old fee rate (186 -> 986 in the report)."""
    text = str(rate)
    rotten = int(("9" if text[0] != "9" else "1") + text[1:])
    con = sqlite3.connect(journal_file)
    con.execute(
        "UPDATE changes SET old_policy = replace(old_policy, ?, ?) WHERE id = ?",
        (f'"fee_rate_ppm":{rate},', f'"fee_rate_ppm":{rotten},', change_id),
    )
    con.commit()
    con.close()
    return rotten


def test_a_rotten_stored_policy_is_never_written_to_the_node(tmp_path):
    data = tmp_path / "data"
    with running_service(tmp_path, "0") as (env, proc):
        node = _node(data)
        try:
            assert isinstance(_ask(data, SetModeRequest(mode=Mode.LIVE, reason="test")), Done)
            assert isinstance(_ask(data, EvaluateNowRequest(wait=True)), CycleFinished)
            with Journal.open(data, readonly=True) as journal:
                live = [c for c in journal.changes(states_in=[ChangeState.VERIFIED])
                        if c.mode is Mode.LIVE]
            assert live, "the demo node's live cycle changed no fee: the test proves nothing"
            last = live[-1]
            chan, now_rate = last.chan_id, last.new_policy.fee_rate_ppm
            rotten = _rot_one_digit(data / "journal.sqlite3", last.change_id,
                                    last.old_policy.fee_rate_ppm)

            r = cli(env, "rollback", "--last")
            assert r.returncode != 0, r.stdout
            assert "checksum" in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
            assert node.get_policy(chan).fee_rate_ppm == now_rate != rotten
            assert proc.poll() is None
        finally:
            node.close()

    # and the damaged journal stops the next start, in one line, before anything runs
    r = subprocess.run([sys.executable, "-m", "mcp_optimizer", "run"], env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "fails its checksum" in lines[0], r.stderr
