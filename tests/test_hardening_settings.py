"""Issue 10, item 8: every service setting is checked before anything starts, and a refused
start leaves nothing behind (no data dir, no simulator, no line in a running service's log)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from service_support import running_service

from mcp_optimizer.runtime.settings import ServiceSettings, SettingsError, check_start


@pytest.mark.parametrize("speed", ["inf", "1e308", "nan", "-1", "1e6"])
def test_simulator_speeds_that_would_break_its_clock_are_refused(speed):
    with pytest.raises(SettingsError) as err:
        ServiceSettings.from_env({"MCP_SIM_SPEED": speed})
    assert "MCP_SIM_SPEED" in str(err.value)


@pytest.mark.parametrize(
    "name, value",
    [("MCP_CYCLE_INTERVAL_S", "inf"), ("MCP_EVENT_DEBOUNCE_S", "1e300"),
     ("MCP_FAILURE_BURST", "20/inf"), ("MCP_RESTART_INTENSITY", "3/nan"),
     ("MCP_RESTART_INTENSITY", "99999999999999999999/60")],
)
def test_other_numbers_have_a_range_too(name, value):
    with pytest.raises(SettingsError) as err:
        ServiceSettings.from_env({name: value})
    assert name in str(err.value) and len(str(err.value)) < 200


def test_a_long_value_is_quoted_short():
    with pytest.raises(SettingsError) as err:
        ServiceSettings.from_env({"MCP_SIM_SPEED": "9" * 100_000})
    assert len(str(err.value)) < 200


def test_the_fastest_allowed_speed_is_read():
    assert ServiceSettings.from_env({"MCP_SIM_SPEED": "100000"}).sim_speed == 100_000


def _env(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MCP_LND_", "MCP_CONTROL_SOCKET", "MCP_PAUSED", "MCP_PROVIDER_"))}
    env["MCP_DATA_DIR"] = str(tmp_path / "data")
    env.update(extra)
    return env


def _run(env):
    return subprocess.run([sys.executable, "-m", "mcp_optimizer", "run"], env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    "extra, needle",
    [
        ({"MCP_PROVIDER_TYPO": "1"}, "MCP_PROVIDER_TYPO"),
        ({"MCP_POLICY__COOLDOWN_S": "0600"}, "MCP_POLICY__COOLDOWN_S"),
        ({"MCP_SIM_SCENARIO": "no-such-scenario"}, "no-such-scenario"),
        ({"MCP_LND_HOST": "localhost:10009", "MCP_LND_TLS_CERT_PATH": "/nonexistent/tls.cert"},
         "MCP_LND"),
    ],
)
def test_check_start_reads_every_other_setting(tmp_path, extra, needle):
    env = _env(tmp_path, **extra)
    with pytest.raises(Exception) as err:  # each part's own one-sentence error type
        check_start(ServiceSettings.from_env(env), env)
    assert needle in str(err.value) or needle.lower() in str(err.value).lower(), err.value
    assert not (tmp_path / "data").exists()


def test_a_refused_start_starts_nothing_and_leaves_nothing(tmp_path):
    r = _run(_env(tmp_path, MCP_PROVIDER_TYPO="1"))
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "MCP_PROVIDER_TYPO" in lines[0], r.stderr
    assert "simulator" not in r.stderr.lower()
    assert not (tmp_path / "data").exists()


def test_a_second_run_is_refused_without_writing_to_the_first_ones_log(tmp_path):
    with running_service(tmp_path, "0") as (env, proc):
        log = tmp_path / "data" / "service.log"
        before = log.read_bytes()
        r = _run(env)
        assert r.returncode == 2, r.stderr
        assert "already listening" in r.stderr and len(r.stderr.strip().splitlines()) == 1
        after = log.read_bytes()
        # the first service may have logged meanwhile, but nothing of the refused start
        assert after.startswith(before)
        assert b"EMBEDDED SIMULATOR" not in after[len(before):], after[len(before):]
        assert b"service started" not in after[len(before):]
        assert proc.poll() is None
