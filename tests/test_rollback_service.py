"""Rollback and ack-crash through a running service's control socket (``mcp-optimizer run``
with its embedded simulator), and the node read over gRPC afterwards."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from service_support import running_service

from mcp_optimizer.cli.main import main
from mcp_optimizer.journal.states import policy_key
from mcp_optimizer.providers.lnd.client import LndClient
from mcp_optimizer.providers.lnd.settings import LndSettings


@pytest.fixture
def service(tmp_path, monkeypatch):
    data = tmp_path / "data"
    with running_service(tmp_path):
        monkeypatch.setenv("MCP_DATA_DIR", str(data))
        monkeypatch.setenv("MCP_CONTROL_SOCKET", str(data / "control.sock"))
        yield data


def _node(data: Path, capsys) -> LndClient:
    assert main(["status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    host = re.search(r"at (127\.0\.0\.1:\d+)", status["node"]).group(1)
    return LndClient(
        LndSettings(
            host=host,
            tls_cert_path=data / "simulator" / "tls.cert",
            macaroon_path=data / "simulator" / "admin.macaroon",
        )
    )


def test_rollback_and_ack_go_through_the_running_service(service, capsys):
    data = service
    node = _node(data, capsys)
    try:
        assert main(["mode", "live"]) == 0
        assert main(["evaluate-now", "--wait"]) == 0
        capsys.readouterr()
        assert main(["history", "--json"]) == 0
        hist = json.loads(capsys.readouterr().out)
        live = [h for h in hist if h["mode"] == "live" and h["state"] == "verified"]
        assert live, "the demo node's live cycle changed no fee"
        last = live[-1]
        assert policy_key(node.get_policy(last["chan_id"]))[1] == (
            last["new_policy"]["fee_rate_ppm"]
        )

        # the service holds the writer lock: this can only have gone through its socket
        assert main(["rollback", "--last", "--json"]) == 0
        reply = json.loads(capsys.readouterr().out)
        [rb] = reply["changes"]
        assert rb["origin"] == "rollback" and rb["rolls_back"] == [last["change_id"]]
        assert rb["state"] == "verified"
        assert node.get_policy(last["chan_id"]).fee_rate_ppm == (
            last["old_policy"]["fee_rate_ppm"]
        )

        never = ("shadowed", "held", "refused", "not_executed", "failed")
        target = [h for h in hist if h["state"] in never][0]
        assert main(["rollback", str(target["change_id"])]) == 1
        err = capsys.readouterr().err
        assert "the service refused" in err and "never applied" in err

        # a --since refusal says what time it understood (nothing was changed after it: the
        # service compares it with its journal, on the node's clock, which starts at the
        # wall clock on the embedded simulator)
        assert main(["rollback", "--since", "2099-01-01T00:00:00Z"]) == 1
        err = capsys.readouterr().err.strip()
        assert "\n" not in err and err.endswith(
            "(--since 2099-01-01T00:00:00Z: 2099-01-01 00:00:00 UTC)"
        ), err

        assert main(["ack-crash"]) == 0
        assert "nothing to acknowledge" in capsys.readouterr().out
    finally:
        node.close()
