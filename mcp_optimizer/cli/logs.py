"""``mcp-optimizer logs``: read the service's JSON-lines log (``<data dir>/service.jsonl`` and
its rotated files, oldest first), filtered by level and time, for people or as JSON lines;
``--follow`` goes on printing what the service writes (across rotations) until interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

from mcp_optimizer.logs import ACTION_NO, JSON_LOG_FILE, LEVELS, LogSettingsError, level_name
from mcp_optimizer.runtime.settings import data_dir_from_env

from .journal import parse_time
from .main import CliError

LEVEL_NO = {"DEBUG": 10, "INFO": 20, "ACTION": ACTION_NO, "WARNING": 30, "ERROR": 40,
            "CRITICAL": 50}
FOLLOW_POLL_S = 0.25


def log_files(data_dir: Path) -> list[Path]:
    """The rotated JSON logs, oldest first, then the current one (if any)."""
    stem, suffix = JSON_LOG_FILE.rsplit(".", 1)
    rotated = [p for p in data_dir.glob(f"{stem}.*.{suffix}") if p.is_file()]
    rotated.sort(key=lambda p: (p.stat().st_mtime, p.name))
    current = data_dir / JSON_LOG_FILE
    return rotated + ([current] if current.is_file() else [])


def parse_line(line: str) -> dict[str, Any] | None:
    """One record, or None for a line that is not one (a torn last line, foreign text)."""
    try:
        rec = json.loads(line)
    except ValueError:
        return None
    if not isinstance(rec, dict) or not isinstance(rec.get("level"), str) or \
            not isinstance(rec.get("ts"), int | float) or not isinstance(rec.get("message"), str):
        return None
    return rec


def wanted(rec: dict[str, Any], min_level: int, since_s: float) -> bool:
    return LEVEL_NO.get(rec["level"], 0) >= min_level and rec["ts"] >= since_s


def human(rec: dict[str, Any]) -> str:
    when = str(rec.get("time", ""))[:19].replace("T", " ")
    text = f"{when} {rec['level']} {rec['message']}"
    exc = rec.get("exception")
    if exc:
        text += "\n" + "\n".join("    " + x for x in str(exc).rstrip().splitlines())
    return text


class Printer:
    def __init__(self, out: TextIO, as_json: bool, min_level: int, since_s: float) -> None:
        self.out, self.as_json, self.min_level, self.since_s = out, as_json, min_level, since_s
        self.bad = 0

    def lines(self, lines: Iterable[str]) -> None:
        for line in lines:
            if not line.strip():
                continue
            rec = parse_line(line)
            if rec is None:
                self.bad += 1
                continue
            if wanted(rec, self.min_level, self.since_s):
                self.out.write((json.dumps(rec, ensure_ascii=False) if self.as_json
                                else human(rec)) + "\n")


def _complete_lines(fh: TextIO) -> Iterator[str]:
    """Whole lines from ``fh``'s position; a last line without its newline is left unread."""
    while True:
        pos = fh.tell()
        line = fh.readline()
        if not line:
            return
        if not line.endswith("\n"):
            fh.seek(pos)
            return
        yield line


def follow(data_dir: Path, printer: Printer, fh: TextIO | None, out: TextIO,
           read_inodes: set[int]) -> None:
    """Print what is appended to the current log, reopening it when it is rotated; files
    rotated out between two looks (a burst of lines) are read whole, in order."""
    path = data_dir / JSON_LOG_FILE
    inode = os.fstat(fh.fileno()).st_ino if fh is not None else None
    while True:
        if fh is not None:
            printer.lines(_complete_lines(fh))
            out.flush()
        time.sleep(FOLLOW_POLL_S)
        try:
            st = path.stat()
        except FileNotFoundError:
            continue
        if fh is not None and st.st_ino == inode and st.st_size >= fh.tell():
            continue
        if fh is not None:
            printer.lines(_complete_lines(fh))  # what the old file got before its rotation
            fh.close()
        for rotated in log_files(data_dir)[:-1]:  # rotated since: never seen, read whole
            ino = rotated.stat().st_ino
            if ino not in read_inodes:
                with open(rotated, encoding="utf-8", errors="replace") as f:
                    printer.lines(_complete_lines(f))
                read_inodes.add(ino)
        fh = open(path, encoding="utf-8", errors="replace")  # noqa: SIM115 - kept open
        inode = os.fstat(fh.fileno()).st_ino
        read_inodes.add(inode)


def cmd_logs(args: argparse.Namespace) -> int:
    data_dir = Path(args.data_dir).expanduser() if args.data_dir else data_dir_from_env()
    try:
        min_level = LEVEL_NO[level_name(args.level, "--level")] if args.level else 0
    except LogSettingsError as exc:
        raise CliError(str(exc), 2) from None
    since = parse_time(args.since, int(time.time())) if args.since else 0
    files = log_files(data_dir)
    if not files and not args.follow:
        raise CliError(f"no log in {data_dir} ({JSON_LOG_FILE}): the service has not run with "
                       "this data dir (see --data-dir)", 1)
    out = sys.stdout
    printer = Printer(out, args.json, min_level, since)
    current = data_dir / JSON_LOG_FILE
    fh: TextIO | None = None
    seen_inodes = set()
    for path in files:
        f = open(path, encoding="utf-8", errors="replace")  # noqa: SIM115 - the last one stays
        seen_inodes.add(os.fstat(f.fileno()).st_ino)
        printer.lines(_complete_lines(f) if path == current and args.follow else f)
        if path == current and args.follow:
            fh = f
        else:
            f.close()
    if args.follow:
        out.flush()
        try:
            follow(data_dir, printer, fh, out, seen_inodes)
        except KeyboardInterrupt:
            return 0
    if printer.bad:
        print(f"mcp-optimizer logs: {printer.bad} line(s) that are not log records skipped",
              file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("logs", help="the service's log (JSON lines), filtered; --follow")
    p.add_argument("--follow", "-f", action="store_true",
                   help="keep printing new lines as the service writes them (Ctrl-C stops)")
    p.add_argument("--level", help=f"this level and above: {', '.join(LEVELS)} (WARN too)")
    p.add_argument("--since", help="only lines since TIME (Unix s, ISO date/time, or 6h/7d)")
    p.add_argument("--data-dir", help="the service's data directory (default $MCP_DATA_DIR "
                                      "or ./var)")
    p.add_argument("--json", action="store_true", help="print each record as a JSON line")
    p.set_defaults(func=cmd_logs)
