"""The image's steps without Docker: the Dockerfile's build stage (``scripts/image-install``:
the wheel, a clean venv, the lock), then the container's start as Umbrel makes it: user 1000,
Umbrel's variables, LND's directory laid out as Umbrel's Lightning Node app keeps it and
read-only, a simulated LND (``mcp-optimizer simulate``) on loopback standing in for the node.

The venv is built once per test session (about 30 s with pip's cache warm). Only the two
container mount points are replaced by temporary directories (``MCP_LND_DIR`` for ``/lnd`` and
``MCP_DATA_DIR`` for ``/data``), and the HTTP server binds loopback on a free port instead of
``0.0.0.0:8731``; everything else comes from Umbrel's variables through
``mcp_optimizer/umbrel/env.py``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from mcp_optimizer.umbrel import widget

pytestmark = pytest.mark.timeout(900)  # the venv's build: ~30 s idle, minutes on a busy box

ROOT = Path(__file__).resolve().parent.parent
UMBREL_UID = 1000
"""Umbrel runs LND and the app as 1000:1000 (docker-compose.yml ``user``)."""
AS_UMBREL_USER = os.geteuid() == 0
"""As root (CI), the service runs as uid/gid 1000 like in the container; otherwise as the
current user, which the permissions below still hold to read-only."""


SYSTEM_PYTHON = "/usr/bin/python3"
"""Debian's Python 3.11 (with python3-venv, scripts/apt-packages.txt): root's own (pyenv, under
/root) is out of user 1000's reach."""


def _run_as() -> dict:
    return {"user": UMBREL_UID, "group": UMBREL_UID, "extra_groups": []} if AS_UMBREL_USER else {}


@pytest.fixture(scope="session")
def world_dir() -> Iterator[Path]:
    """A directory user 1000 can traverse (pytest's own tmp dirs are 0700 root)."""
    path = Path(tempfile.mkdtemp(prefix="mcp-image-steps-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def image_venv(world_dir: Path) -> Path:
    """The venv the Dockerfile's build stage makes, made by the same script."""
    venv = world_dir / "opt-mcp-optimizer"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON"))}
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if not p.startswith(str(ROOT / ".venv"))
    )
    env["PIP_NO_COMPILE"] = "1"  # bytecode is an image-size/start-time matter, not tested here
    if AS_UMBREL_USER:  # an interpreter user 1000 can run, as the image's /usr/local/bin one
        env["PYTHON"] = SYSTEM_PYTHON
    context = world_dir / "build-context"  # what the Dockerfile's COPY lines take, no more
    context.mkdir()
    for name in ("pyproject.toml", "README.md", "constraints.txt"):
        shutil.copyfile(ROOT / name, context / name)
    (context / "scripts").mkdir()
    shutil.copyfile(ROOT / "scripts" / "image-install", context / "scripts" / "image-install")
    shutil.copytree(ROOT / "mcp_optimizer", context / "mcp_optimizer",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    done = subprocess.run(["sh", "scripts/image-install", str(venv)], cwd=context, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"scripts/image-install failed:\n{done.stdout}\n{done.stderr}"
    return venv


def _clean_env(world: Path) -> dict[str, str]:
    """The container's environment: the image's ENV lines, nothing of this test run's."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(world),
        "PYTHONUNBUFFERED": "1",
        "NUMBA_CACHE_DIR": str(world / "numba-cache"),
        "LANG": "C.UTF-8",
    }


def _tree_digest(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        h.update(str(p.relative_to(root)).encode())
        h.update(oct(p.stat().st_mode).encode())
        if p.is_file():
            h.update(p.read_bytes())
    return h.hexdigest()


@pytest.fixture
def simulated_lnd(image_venv: Path, world_dir: Path, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """``mcp-optimizer simulate`` from the image's venv on a free loopback port; yields its port
    and LND's directory as Umbrel lays it out (``tls.cert``,
    ``data/chain/bitcoin/mainnet/{admin,readonly}.macaroon``), owned by 1000, read-only."""
    state = tmp_path / "sim-state"
    env = {**_clean_env(world_dir), "HOME": str(tmp_path)}
    out = open(tmp_path / "simulate.out", "w+")
    proc = subprocess.Popen(
        [str(image_venv / "bin" / "mcp-optimizer"), "simulate", "--scenario", "demo",
         "--listen", "127.0.0.1:0", "--state-dir", str(state)],
        cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        address = None
        while address is None:
            assert proc.poll() is None, (tmp_path / "simulate.out").read_text()
            assert time.monotonic() < deadline, "simulate did not start"
            for line in (tmp_path / "simulate.out").read_text().splitlines():
                if line.startswith("client environment:"):
                    address = line.split("MCP_LND_HOST=")[1].split()[0]
            time.sleep(0.1)
        lnd = Path(tempfile.mkdtemp(prefix="lnd-", dir=world_dir))
        macaroons = lnd / "data" / "chain" / "bitcoin" / "mainnet"
        macaroons.mkdir(parents=True)
        shutil.copyfile(state / "tls.cert", lnd / "tls.cert")
        for name in ("admin.macaroon", "readonly.macaroon"):
            shutil.copyfile(state / name, macaroons / name)
        for p in [*lnd.rglob("*"), lnd]:  # as LND keeps them, then the :ro mount's effect
            if AS_UMBREL_USER:
                os.chown(p, UMBREL_UID, UMBREL_UID)
            p.chmod(0o555 if p.is_dir() else (0o444 if p.name == "tls.cert" else 0o400))
        yield address.rpartition(":")[2], lnd
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        out.close()


def _umbrel_env(world: Path, port: str, lnd: Path, data: Path) -> dict[str, str]:
    return {
        **_clean_env(world),
        # What docker-compose.yml passes from umbrelOS:
        "APP_LIGHTNING_NODE_IP": "127.0.0.1",
        "APP_LIGHTNING_NODE_GRPC_PORT": port,
        "APP_BITCOIN_NETWORK": "mainnet",
        # The two mount points (/lnd and /data in the container) and a loopback HTTP port:
        "MCP_LND_DIR": str(lnd),
        "MCP_DATA_DIR": str(data),
        "MCP_HTTP_HOST": "127.0.0.1",
        "MCP_HTTP_PORT": "0",
        "MCP_MEMPOOL_URL": "off",  # no request leaves this machine
    }


def _data_dir(world: Path) -> Path:
    data = Path(tempfile.mkdtemp(prefix="data-", dir=world))
    if AS_UMBREL_USER:
        os.chown(data, UMBREL_UID, UMBREL_UID)
    return data


def _verb(venv: Path, env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(venv / "bin" / "mcp-optimizer"), *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=60, **_run_as())


def test_the_image_serves_healthy_and_runs_a_cycle_against_umbrels_lnd_layout(
    image_venv, simulated_lnd, world_dir
):
    port, lnd = simulated_lnd
    before = _tree_digest(lnd)
    data = _data_dir(world_dir)
    env = _umbrel_env(world_dir, port, lnd, data)
    err_path = world_dir / f"service-{data.name}.err"
    with open(err_path, "w") as err:
        proc = subprocess.Popen([str(image_venv / "bin" / "mcp-optimizer"), "run"], env=env,
                                cwd=data, stdout=subprocess.DEVNULL, stderr=err, **_run_as())
    try:
        deadline = time.monotonic() + 90
        health = None
        while True:  # the image's HEALTHCHECK command, as Docker runs it
            assert proc.poll() is None, f"the service stopped:\n{err_path.read_text()}"
            assert time.monotonic() < deadline, (
                f"never healthy: {health and health.stderr}\n{err_path.read_text()}")
            health = subprocess.run(
                [str(image_venv / "bin" / "python"), "-m", "mcp_optimizer.umbrel.healthcheck"],
                env=env, cwd=data, capture_output=True, text=True, timeout=30, **_run_as())
            if health.returncode == 0:
                break
            time.sleep(0.5)
        assert health.stdout.strip() == "healthy"
        while True:  # the first cycle runs at start
            assert proc.poll() is None, f"the service stopped:\n{err_path.read_text()}"
            assert time.monotonic() < deadline, f"no cycle ended:\n{err_path.read_text()}"
            cycles = _verb(image_venv, env, data, "history", "--cycles", "--json")
            assert cycles.returncode == 0, cycles.stderr
            rows = json.loads(cycles.stdout)
            rows = rows.get("cycles", rows) if isinstance(rows, dict) else rows
            ended = [c for c in rows if c.get("end", {}).get("outcome")]
            if ended:
                break
            time.sleep(0.5)
        # ok, or partial when a peer-fact provider answered late (the first centrality on a
        # busy machine): the cycle ran through to decisions either way.
        assert ended[0]["end"]["outcome"] in ("ok", "partial"), (ended[0], err_path.read_text())
        status = _verb(image_venv, env, data, "status", "--json")
        assert status.returncode == 0, status.stderr
        reply = json.loads(status.stdout)
        last = reply["last_cycle"]
        assert last["channels"] == last["decisions"] > 0, last
        assert reply["mode"] == "shadow"  # a first start on Umbrel writes nothing to the node
        assert reply["node"] == f"LND at 127.0.0.1:{port}"
        address = (data / "http-address").read_text().strip()
        with urllib.request.urlopen(f"http://{address}{widget.PATH}", timeout=30) as r:
            body = json.loads(r.read())  # as umbreld fetches the home-screen widget
        assert body["type"] == "four-stats" and body["refresh"] == widget.REFRESH
        items = {i["title"]: (i["text"], i["subtext"]) for i in body["items"]}
        assert list(items) == ["Mode", "Revenue 24 h", "Changes 24 h", "Last cycle"]
        expected_mode = ("safe mode", "shadow") if reply["safe_mode"]["type"] == "SafeModeOn" \
            else ("shadow", "writes nothing")  # safe mode: an actor restarted too often
        assert items["Mode"] == expected_mode, reply["safe_mode"]
        assert items["Revenue 24 h"][1] == "sats"  # read from the node's forwarding history
        assert items["Last cycle"][0] == last["outcome"]
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    assert proc.returncode == 0, err_path.read_text()
    assert "Permission denied" not in err_path.read_text()  # user 1000 wrote all it needed
    assert _tree_digest(lnd) == before, "the service changed LND's directory"
    if AS_UMBREL_USER:
        owners = {p.stat().st_uid for p in data.rglob("*")}
        assert owners == {UMBREL_UID}, owners


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"APP_BITCOIN_NETWORK": "moonnet"},
         "mcp-optimizer run: APP_BITCOIN_NETWORK is 'moonnet': not a network Umbrel's "
         "Lightning Node runs on (expected one of mainnet, testnet, testnet4, signet, regtest)"),
        ({"APP_BITCOIN_NETWORK": "signet"},  # no macaroons for signet in that directory
         "mcp-optimizer run: cannot run: cannot read the macaroon {lnd}/data/chain/bitcoin/"
         "signet/admin.macaroon: No such file or directory"),
        ({"LND_MISSING": "tls.cert"},
         "mcp-optimizer run: cannot run: cannot read LND's TLS certificate {lnd}/tls.cert: "
         "No such file or directory"),
    ],
)
def test_the_image_refuses_to_start_with_one_line(
    image_venv, world_dir, tmp_path, change, expected
):
    lnd = tmp_path / "lnd"
    (lnd / "data" / "chain" / "bitcoin" / "mainnet").mkdir(parents=True)
    (lnd / "tls.cert").write_text("-----BEGIN CERTIFICATE-----\n")
    (lnd / "data" / "chain" / "bitcoin" / "mainnet" / "admin.macaroon").write_bytes(b"\x02")
    if change.get("LND_MISSING"):
        (lnd / change.pop("LND_MISSING")).unlink()
    env = {**_umbrel_env(world_dir, "10009", lnd, tmp_path / "data"), **change}
    done = subprocess.run([str(image_venv / "bin" / "mcp-optimizer"), "run"], env=env,
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [expected.format(lnd=lnd)]
