"""Every setting the code reads is in the README's settings table (the new operator found five
missing: MCP_CONTROL_SOCKET, MCP_SIM_SCENARIO, MCP_MAX_CHANGES_PER_*, MCP_RESTART_INTENSITY,
MCP_AMBOSS_URL)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FAMILIES = ("MCP_PROVIDER_", "MCP_POLICY__")
"""Prefixes documented as a family (``MCP_PROVIDER_*``): their members are in the docs named."""


def test_every_setting_read_by_the_code_is_in_the_readme():
    names: set[str] = set()
    for path in (ROOT / "mcp_optimizer").rglob("*.py"):
        if "/gen/" in str(path):
            continue
        names |= set(re.findall(r"[\"'](MCP_[A-Z0-9_]*[A-Z0-9])[\"']", path.read_text()))
    settings = ROOT.joinpath("README.md").read_text().split("## Settings", 1)[1]
    settings = settings.split("\n## ", 1)[0]
    missing = sorted(
        n for n in names
        if n not in settings and not any(n.startswith(f) for f in FAMILIES) and n != "MCP_LND"
    )
    assert missing == [], f"settings missing from the README's table: {missing}"
    for family in FAMILIES:
        assert family in settings
