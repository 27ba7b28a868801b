"""charge-lnd, a real LND fee tool nobody here wrote, against `mcp-optimizer simulate` with every
strategy it has (the simulator is on LND's wire "so that any LND client can talk to it").

charge-lnd 0.3.1 (../shared/tools/charge-lnd, GPL) runs as an external program from its own
venv. It swallows a failing strategy (it logs at debug level and keeps the channel as it is),
so its exit status proves little: every intended value is read back from the node here, and a
second run must find nothing left to change (it sent max_htlc_msat=0 on every run while
ListChannels carried no constraints).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mcp_optimizer.messages import ChannelPolicy
from mcp_optimizer.providers.lnd.client import LndClient
from mcp_optimizer.providers.lnd.settings import LndSettings
from mcp_optimizer.simulator.grpc import chain

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "tools" / "charge-lnd"


def _venv() -> Path:
    """charge-lnd's venv, installed once per checkout (``.cache/``, ignored by git), or the one
    ``MCP_CHARGE_LND_VENV`` names."""
    venv = Path(os.environ.get("MCP_CHARGE_LND_VENV", ROOT / ".cache" / "venvs-chargelnd"))
    exe = venv / "bin" / "charge-lnd"
    if exe.exists():
        return exe
    if not (SHARED / "install").exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"charge-lnd cannot be installed: {SHARED}/install is missing")
        pytest.skip(f"charge-lnd is not available here ({SHARED} is missing)")
    done = subprocess.run([str(SHARED / "install"), str(venv)], capture_output=True, text=True,
                          timeout=900)
    if done.returncode != 0 or not exe.exists():
        pytest.fail(f"charge-lnd could not be installed into {venv}: {done.stderr.strip()}")
    return exe


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    state = tmp_path_factory.mktemp("sim")
    proc = subprocess.Popen(
        [sys.executable, "-m", "mcp_optimizer", "simulate", "--scenario", "demo",
         "--listen", "127.0.0.1:0", "--state-dir", str(state), "--speed", "0"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        first = proc.stdout.readline()
        match = re.search(r" on (127\.0\.0\.1:\d+)$", first.strip())
        assert match, (first, proc.stderr.read() if proc.poll() is not None else "")
        while not proc.stdout.readline().startswith("clock speed"):
            pass
        yield match.group(1), state
    finally:
        proc.kill()
        proc.communicate()


def _client(address: str, state: Path) -> LndClient:
    return LndClient(LndSettings(host=address, tls_cert_path=state / "tls.cert",
                                 macaroon_path=state / "admin.macaroon", timeout_s=30))


def _ids(ids) -> str:
    return ", ".join(str(i) for i in ids)


def test_charge_lnd_every_strategy_applies_and_settles(served, tmp_path):
    exe = _venv()
    address, state = served
    with _client(address, state) as client:
        chans = sorted(client.list_channels(), key=lambda c: c.chan_id)
        now_s = client.node_time_s()
    assert len(chans) >= 17
    initiated = [c for c in chans if c.initiator]
    assert len(initiated) >= 3
    cost = initiated[:3]
    rest = [c for c in chans if c not in cost]
    groups = {
        "ignore": rest[0:1], "ignore_fees": rest[1:2], "static": rest[2:4],
        "proportional": rest[4:7], "match_peer": rest[7:9], "onchain_fee": rest[9:11],
        "use_config": rest[11:12], "disable": rest[12:13], "cost": cost,
    }
    inner = tmp_path / "inner.config"
    inner.write_text("[inner]\nstrategy = static\nfee_ppm = 321\nbase_fee_msat = 7\n")
    config = tmp_path / "all.config"
    config.write_text(f"""
[onchain-storm]
# EstimateFee through the onchain.* matchers: no fee rate is this high, so nothing matches
onchain.min_fee_rate = 100000
strategy = static
fee_ppm = 9999

[ignore]
chan.id = {_ids(c.chan_id for c in groups["ignore"])}
strategy = ignore

[ignore_fees]
chan.id = {_ids(c.chan_id for c in groups["ignore_fees"])}
strategy = ignore_fees
max_htlc_msat = 123456000

[static]
chan.id = {_ids(c.chan_id for c in groups["static"])}
strategy = static
base_fee_msat = 500
fee_ppm = 77
inbound_fee_ppm = -10

[proportional]
chan.id = {_ids(c.chan_id for c in groups["proportional"])}
strategy = proportional
min_fee_ppm = 10
max_fee_ppm = 500
max_htlc_msat_ratio = 0.9

[match_peer]
chan.id = {_ids(c.chan_id for c in groups["match_peer"])}
strategy = match_peer

[onchain_fee]
chan.id = {_ids(c.chan_id for c in groups["onchain_fee"])}
strategy = onchain_fee
onchain_fee_btc = 0.5
onchain_fee_numblocks = 6

[use_config]
chan.id = {_ids(c.chan_id for c in groups["use_config"])}
strategy = use_config
config_file = file://{inner}

[disable]
chan.id = {_ids(c.chan_id for c in groups["disable"])}
strategy = disable

[cost]
chan.id = {_ids(c.chan_id for c in groups["cost"])}
strategy = cost
cost_factor = 1.5

[default]
strategy = static
fee_ppm = 42
""")
    cmd = [str(exe), "--grpc", address, "--lnddir", str(state), "--tlscert",
           str(state / "tls.cert"), "--macaroon", str(state / "admin.macaroon"),
           "-c", str(config), "-v"]
    first = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "Error executing strategy" not in first.stdout + first.stderr
    used = set(re.findall(r"strategy:\s+(\S+)", first.stdout))
    assert {"ignore", "ignore_fees", "static", "proportional", "match_peer", "onchain_fee",
            "disable", "cost"} <= used, used

    before = {c.chan_id: c for c in chans}
    with _client(address, state) as client:
        after = {c.chan_id: c for c in client.list_channels()}
    pol = {cid: c.our_policy for cid, c in after.items()}
    checked = 0
    for c in groups["ignore"]:
        assert pol[c.chan_id] == before[c.chan_id].our_policy
        checked += 1
    for c in groups["ignore_fees"]:
        p, b = pol[c.chan_id], before[c.chan_id].our_policy
        assert (p.fee_rate_ppm, p.base_fee_msat) == (b.fee_rate_ppm, b.base_fee_msat)
        assert p.max_htlc_msat == 123456000
        checked += 2
    for c in groups["static"]:
        p = pol[c.chan_id]
        assert (p.base_fee_msat, p.fee_rate_ppm, p.inbound_fee_rate_ppm) == (500, 77, -10)
        checked += 3
    for c in groups["proportional"]:
        p = pol[c.chan_id]
        assert 10 <= p.fee_rate_ppm <= 500
        reserve = chain.reserve_sat(c.capacity_sat)
        assert p.max_htlc_msat == int(0.9 * (c.capacity_sat - reserve) * 1000) > 0
        checked += 2
    for c in groups["match_peer"]:
        peer = before[c.chan_id].peer_policy
        assert isinstance(peer, ChannelPolicy)
        assert (pol[c.chan_id].fee_rate_ppm, pol[c.chan_id].base_fee_msat) == (
            peer.fee_rate_ppm, peer.base_fee_msat)
        checked += 2
    sat_per_vb = chain.fee_estimate_sat_per_kw(now_s, 6) * 4 / 1000
    for c in groups["onchain_fee"]:
        assert pol[c.chan_id].fee_rate_ppm == int((0.01 / 0.5) * (223 * sat_per_vb))
        checked += 1
    for c in groups["use_config"]:
        assert (pol[c.chan_id].fee_rate_ppm, pol[c.chan_id].base_fee_msat) == (321, 7)
        checked += 2
    for c in groups["disable"]:
        assert pol[c.chan_id].disabled
        checked += 1
    for c in groups["cost"]:
        fee = chain.funding_fee_sat(c.channel_point)
        assert pol[c.chan_id].fee_rate_ppm == int(1.5 * 1_000_000 * fee / c.capacity_sat)
        checked += 1
    grouped = {c.chan_id for g in groups.values() for c in g}
    for cid in set(after) - grouped:
        assert pol[cid].fee_rate_ppm == 42
        checked += 1
    assert checked >= 30

    second = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "➜" not in second.stdout, "a second run still changes something:\n" + second.stdout
