"""The JSON-lines log and ``mcp-optimizer logs``: the service's sinks as configured for a run
write one JSON object a line (fields, exceptions), rotated and kept as set; the verb reads
them oldest first, filters by level and time, prints for people or as JSON, skips torn lines
saying so, and --follow prints what is written afterwards, across a rotation."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass

import pytest
from loguru import logger

from mcp_optimizer.cli.main import main
from mcp_optimizer.logs import (
    ACTION,
    JSON_LOG_FILE,
    LOG_FILE,
    LogSettings,
    LogSettingsError,
    configure_service_logging,
)
from mcp_optimizer.runtime.settings import ServiceSettings, SettingsError


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(capsys):
    """``mcp-optimizer ARGS`` in this process (the verb's output captured)."""

    def run(*args, env=None):
        capsys.readouterr()
        status = main(list(args))
        out = capsys.readouterr()
        return Ran(status, out.out, out.err)

    return run


@pytest.fixture
def logged(tmp_path):
    configure_service_logging(tmp_path, LogSettings(level="CRITICAL"))
    try:
        yield tmp_path
    finally:
        logger.complete()
        logger.remove()
        logger.add(sys.stderr)


def _records(path):
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_each_line_is_one_json_object_with_its_fields_and_exception(logged):
    logger.info("plain {} line", "info")
    logger.bind(change_id=12, channel="1x2x3").log(ACTION, "change 12 on channel 1x2x3")
    try:
        raise ValueError("bad thing")
    except ValueError:
        logger.exception("it failed")
    logger.complete()
    recs = _records(logged / JSON_LOG_FILE)
    assert [r["level"] for r in recs] == ["INFO", "ACTION", "ERROR"]
    assert recs[0]["message"] == "plain info line"
    assert recs[1]["change_id"] == 12 and recs[1]["channel"] == "1x2x3"
    assert "ValueError: bad thing" in recs[2]["exception"]
    assert "Traceback" in recs[2]["exception"]
    for r in recs:
        assert set(r) >= {"time", "ts", "level", "message", "logger", "line"}
        assert abs(r["ts"] - time.time()) < 3600
    text = (logged / LOG_FILE).read_text()  # the human file has the same lines
    assert " ACTION test_logs_cli:" in text and "change 12 on channel 1x2x3" in text
    assert "ValueError: bad thing" in text


def test_logs_filters_by_level_and_time_for_people_and_as_json(logged, cli):
    logger.debug("dbg")
    logger.info("an info")
    logger.log(ACTION, "an action")
    logger.warning("a warning")
    logger.error("an error")
    logger.complete()
    env = None
    r = cli("logs", "--data-dir", str(logged), env=env)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert [x.split(" ", 3)[2] for x in lines] == ["DEBUG", "INFO", "ACTION", "WARNING",
                                                   "ERROR"]
    assert lines[2].endswith("ACTION an action")
    r = cli("logs", "--data-dir", str(logged), "--level", "action", "--json", env=env)
    assert [json.loads(x)["message"] for x in r.stdout.splitlines()] == [
        "an action", "a warning", "an error"]
    r = cli("logs", "--data-dir", str(logged), "--level", "WARN", env=env)
    assert len(r.stdout.splitlines()) == 2
    future = int(time.time()) + 3600
    r = cli("logs", "--data-dir", str(logged), "--since", str(future), env=env)
    assert r.returncode == 0 and r.stdout == ""
    r = cli("logs", "--data-dir", str(logged), "--since", "1h", env=env)
    assert len(r.stdout.splitlines()) == 5


def test_bad_arguments_and_a_missing_log_are_one_line(tmp_path, cli):
    r = cli("logs", "--data-dir", str(tmp_path), "--level", "LOUD")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert "--level 'LOUD' is not a log level" in r.stderr
    r = cli("logs", "--data-dir", str(tmp_path), "--since", "yesterday-ish")
    assert r.returncode == 2 and "--since 'yesterday-ish' is not a time" in r.stderr
    r = cli("logs", "--data-dir", str(tmp_path / "none"))
    assert r.returncode == 1 and "no log in" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_torn_and_foreign_lines_are_skipped_and_counted(logged, cli):
    logger.info("before")
    logger.complete()
    with open(logged / JSON_LOG_FILE, "a") as fh:
        fh.write("not json at all\n")
        fh.write('{"level": "INFO"}\n')
        fh.write('{"time": "x", "ts": 1, "level": "INFO", "message": "torn')  # no newline
    r = cli("logs", "--data-dir", str(logged))
    assert r.returncode == 0
    assert r.stdout.splitlines()[0].endswith("INFO before")
    assert len(r.stdout.splitlines()) == 1
    assert "3 line(s) that are not log records skipped" in r.stderr


def test_rotation_keeps_the_set_number_of_files_and_logs_reads_them_in_order(tmp_path, cli):
    configure_service_logging(tmp_path, LogSettings(level="CRITICAL", max_mb=0.01, keep=2))
    try:
        for i in range(400):  # ~40 kB of JSON: several rotations at 10 kB
            logger.info("line {:04d} " + "x" * 40, i)
        logger.complete()
    finally:
        logger.remove()
        logger.add(sys.stderr)
    rotated = sorted(p.name for p in tmp_path.glob("service.*.jsonl"))
    assert len(rotated) == 2, rotated  # older ones removed
    r = cli("logs", "--data-dir", str(tmp_path), "--json")
    numbers = [int(json.loads(x)["message"].split()[1]) for x in r.stdout.splitlines()]
    assert numbers == sorted(numbers) and numbers[-1] == 399
    assert 0 < numbers[0] < 399  # the oldest lines went with the removed files


def test_follow_prints_lines_written_afterwards_across_a_rotation(tmp_path):
    configure_service_logging(tmp_path, LogSettings(level="CRITICAL", max_mb=0.01, keep=3))
    proc = None
    try:
        logger.info("first line")
        logger.complete()
        proc = subprocess.Popen(
            [sys.executable, "-m", "mcp_optimizer", "logs", "-f", "--data-dir", str(tmp_path)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        assert proc.stdout.readline().rstrip().endswith("INFO first line")
        for i in range(150):  # past 10 kB: the file rotates while followed
            logger.info("later {:03d} " + "y" * 40, i)
        logger.warning("the last one")
        logger.complete()
        seen = []
        deadline = time.monotonic() + 60
        while not (seen and seen[-1].endswith("WARNING the last one")):
            assert time.monotonic() < deadline, seen[-3:]
            seen.append(proc.stdout.readline().rstrip())
        laters = [int(x.split()[4]) for x in seen if " INFO later " in x]
        assert laters == list(range(150))  # nothing lost or repeated at the rotation
    finally:
        logger.remove()
        logger.add(sys.stderr)
        if proc is not None:
            proc.terminate()
            proc.wait(10)


@pytest.mark.parametrize(("name", "value", "words"), [
    ("MCP_LOG_LEVEL", "chatty", "MCP_LOG_LEVEL 'chatty' is not a log level"),
    ("MCP_LOG_MAX_MB", "0", "MCP_LOG_MAX_MB='0' is not a size in MB"),
    ("MCP_LOG_MAX_MB", "lots", "MCP_LOG_MAX_MB='lots'"),
    ("MCP_LOG_KEEP", "-1", "MCP_LOG_KEEP='-1' is not a number of files"),
])
def test_bad_log_settings_are_one_sentence_naming_them(name, value, words):
    with pytest.raises(LogSettingsError, match=words.replace("(", r"\(")):
        LogSettings.from_env({name: value})
    with pytest.raises(SettingsError, match=name):
        ServiceSettings.from_env({name: value})


def test_log_settings_defaults_and_values():
    assert LogSettings.from_env({}) == LogSettings(level="INFO", max_mb=10.0, keep=5)
    s = LogSettings.from_env({"MCP_LOG_LEVEL": "warn", "MCP_LOG_MAX_MB": "2.5",
                              "MCP_LOG_KEEP": "9"})
    assert s == LogSettings(level="WARNING", max_mb=2.5, keep=9)
