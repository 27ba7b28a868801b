"""What the cycle benchmark measures with: processes timed by their own rusage, the
simulated node in a child process, charge-lnd as an external program, the running service.

charge-lnd (GPL-2.0) is never imported: it runs as a program from its own virtual environment
(``../shared/tools/charge-lnd/install VENV``), against the same simulated node.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CHARGE_LND_INSTALL = ROOT.parent / "shared" / "tools" / "charge-lnd" / "install"
CHARGE_LND_CONFIG = """\
# Read the whole 30-day forwarding history (one rule needs it), then the proportional
# strategy on every other channel: a fee per channel from its balance, as the project does.
[idle-30d]
chan.activity_period = 30d
chan.max_htlcs_out = 0
strategy = static
fee_ppm = 1

[default]
strategy = proportional
min_fee_ppm = 10
max_fee_ppm = 1000
"""


def load() -> str:
    """The 1, 5 and 15 minute load averages, as text."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def kib(pid: int | str, field: str) -> int:
    """A ``VmRSS``/``VmHWM``-like field of /proc/PID/status, KiB (-1 when absent)."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a live process so far (/proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Run:
    """One timed run of a program."""

    wall_s: float
    cpu_s: float
    """User + system CPU of the program (its own children included when it waited on them)."""
    maxrss_mib: float
    returncode: int
    output: str


def timed(cmd: list[str], env: dict[str, str], cwd: Path = ROOT) -> Run:
    """Run ``cmd`` to its end; its wall time and its own rusage (``wait4``)."""
    out_path = Path(env.get("TMPDIR", "/tmp")) / f"bench-out-{os.getpid()}-{time.time_ns()}"
    with open(out_path, "w+") as out:
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
    out_path.unlink()
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, proc.returncode,
               text)


@dataclass(frozen=True)
class Node:
    """The simulated node in a child process, as a real LND is reached."""

    host: str
    state_dir: Path
    pid: int

    @property
    def env(self) -> dict[str, str]:
        return {
            "MCP_LND_HOST": self.host,
            "MCP_LND_TLS_CERT": str(self.state_dir / "tls.cert"),
            "MCP_LND_MACAROON": str(self.state_dir / "admin.macaroon"),
            "MCP_LND_TIMEOUT_S": "120",
            "MCP_MEMPOOL_URL": "off",
        }


@contextmanager
def child_simulator(scenario: str, tmp: Path):
    """``mcp-optimizer simulate`` in a child process, the scenario re-dated to start now (so
    its history ends now, as charge-lnd's wall-clock activity windows need), at speed 1."""
    from importlib import resources

    from mcp_optimizer.simulator.scenario import SHIPPED_PACKAGE

    text = (resources.files(SHIPPED_PACKAGE) / f"{scenario}.yml").read_text("utf-8")
    data = yaml.safe_load(text)
    data["start"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    path = tmp / f"{scenario}-now.yml"
    path.write_text(yaml.safe_dump(data), "utf-8")
    state = tmp / "sim"
    proc = subprocess.Popen(
        [sys.executable, "-m", "mcp_optimizer", "simulate", "--scenario", str(path),
         "--listen", "127.0.0.1:0", "--state-dir", str(state), "--speed", "1"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        line = proc.stdout.readline()
        match = re.search(r" on (\S+:\d+)$", line.strip())
        if not match:
            raise SystemExit(f"the simulator did not start: {line!r}")
        yield Node(match.group(1), state, proc.pid)
    finally:
        proc.terminate()
        proc.wait(30)


class ChargeLnd:
    """charge-lnd installed in its own venv (installed on first use), run as a program."""

    def __init__(self, venv: Path, tmp: Path) -> None:
        self.exe = venv / "bin" / "charge-lnd"
        if not self.exe.exists():
            print(f"(installing charge-lnd into {venv})", flush=True)
            subprocess.run(["bash", str(CHARGE_LND_INSTALL), str(venv)], check=True,
                           stdout=subprocess.DEVNULL)
        self.config = tmp / "charge-lnd.config"
        self.config.write_text(CHARGE_LND_CONFIG)

    def run(self, node: Node) -> Run:
        cmd = [str(self.exe), "--grpc", node.host, "--lnddir", str(node.state_dir),
               "--tlscert", str(node.state_dir / "tls.cert"),
               "--macaroon", str(node.state_dir / "admin.macaroon"),
               "-c", str(self.config), "--dry-run"]
        run = timed(cmd, dict(os.environ))
        if run.returncode != 0:
            raise SystemExit(f"charge-lnd failed ({run.returncode}): {run.output[-500:]}")
        return run


class Service:
    """``mcp-optimizer run`` in a child process against the node, in dry-run mode."""

    def __init__(self, node: Node, data_dir: Path) -> None:
        from mcp_optimizer.journal import Journal
        from mcp_optimizer.messages import Mode

        data_dir.mkdir(parents=True, mode=0o700)
        with Journal.open(data_dir) as journal:  # what `mcp-optimizer mode dry-run` records
            journal.set_mode(Mode.DRY_RUN, "benchmark", "dry-run, as charge-lnd --dry-run")
        self.socket = data_dir / "control.sock"
        # a free port for its web page: another service on this machine may hold the default
        env = {**os.environ, **node.env, "MCP_DATA_DIR": str(data_dir), "MCP_HTTP_PORT": "0"}
        self.log = data_dir.parent / "service-stderr.log"
        self.started = time.perf_counter()
        with open(self.log, "wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "mcp_optimizer", "run"], cwd=ROOT, env=env,
                stdout=subprocess.DEVNULL, stderr=err,
            )

    def ask(self, req, timeout_s: float = 600.0) -> dict:
        """Send a control request; the reply as plain JSON (a dict with its ``type``), so that
        the benchmark does not depend on the reply types of the tree it was started from."""
        import json
        import socket

        from mcp_optimizer.runtime.control_client import ControlUnavailable
        from mcp_optimizer.runtime.frames import HEADER, encode_request

        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout_s)
        try:
            try:
                sock.connect(str(self.socket))
            except OSError as exc:
                raise ControlUnavailable(str(exc)) from None
            sock.sendall(encode_request(req))
            buf = b""
            while len(buf) < HEADER.size or len(buf) < HEADER.size + HEADER.unpack(
                buf[:HEADER.size]
            )[0]:
                chunk = sock.recv(1 << 20)
                if not chunk:
                    raise ControlUnavailable("the service closed the connection")
                buf += chunk
            return json.loads(buf[HEADER.size:])["reply"]
        finally:
            sock.close()

    def first_status_s(self, limit_s: float = 120.0) -> float:
        """Seconds from the start of ``run`` to its first answer to ``status``."""
        from mcp_optimizer.messages.control import StatusRequest
        from mcp_optimizer.runtime.control_client import ControlUnavailable

        while time.perf_counter() - self.started < limit_s:
            try:
                self.ask(StatusRequest(), timeout_s=5.0)
                return time.perf_counter() - self.started
            except ControlUnavailable:
                if self.proc.poll() is not None:
                    tail = self.log.read_text(errors="replace").strip().splitlines()[-3:]
                    raise SystemExit(f"the service stopped at start: {tail}") from None
                time.sleep(0.02)
        raise SystemExit(f"the service did not answer status within {limit_s:g} s")

    def wait_first_cycle(self, limit_s: float = 600.0):
        from mcp_optimizer.messages.control import StatusRequest

        deadline = time.perf_counter() + limit_s
        while time.perf_counter() < deadline:
            status = self.ask(StatusRequest(), timeout_s=10.0)
            if status.get("last_cycle", {}).get("type") == "CycleDone":
                return status["last_cycle"]
            time.sleep(0.1)
        raise SystemExit("the service's first cycle did not finish")

    def cycle(self):
        """One evaluate-now cycle: (wall seconds, service CPU seconds, its CycleDone as JSON)."""
        from mcp_optimizer.messages.control import EvaluateNowRequest

        cpu0 = cpu_s(self.proc.pid)
        t = time.perf_counter()
        reply = self.ask(EvaluateNowRequest(wait=True))
        wall = time.perf_counter() - t
        if reply.get("type") != "CycleFinished":
            raise SystemExit(f"evaluate-now failed: {reply}")
        return wall, cpu_s(self.proc.pid) - cpu0, reply["cycle"]

    def rss_mib(self) -> float:
        return kib(self.proc.pid, "VmRSS") / 1024

    def hwm_mib(self) -> float:
        return kib(self.proc.pid, "VmHWM") / 1024

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
