"""The Dockerfile: hadolint, and what the issue asks of it that hadolint does not check."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from umbrel_support import ROOT, load, tool

from mcp_optimizer.umbrel import env as umbrel_env

DOCKERFILE = ROOT / "Dockerfile"
PINNED = re.compile(r"^FROM (python:3\.11-slim-\w+)@sha256:([0-9a-f]{64})( AS \w+)?$")


def hadolint(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([tool("hadolint"), "--no-color", str(path)], capture_output=True,
                          text=True, timeout=60)


def stages() -> list[list[str]]:
    """The Dockerfile's stages, each its instructions (continuation lines joined)."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    found: list[list[str]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("FROM "):
            found.append([])
        found[-1].append(line)
    return found


def test_hadolint_passes():
    done = hadolint(DOCKERFILE)
    assert done.returncode == 0, done.stdout + done.stderr


def test_hadolint_fails_a_bad_dockerfile(tmp_path: Path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN cd /src && pip install .\n")
    done = hadolint(bad)
    assert done.returncode != 0
    assert "DL3007" in done.stdout and "DL3003" in done.stdout


def test_multi_stage_pinned_slim_base_non_root_with_healthcheck():
    build, final = stages()
    for stage in (build, final):
        assert PINNED.match(stage[0]), stage[0]
    assert PINNED.match(build[0])[2] == PINNED.match(final[0])[2], "one base, one interpreter"
    assert any("scripts/image-install" in i for i in build if i.startswith("RUN "))
    final_text = "\n".join(final)
    assert "COPY --from=build /opt/mcp-optimizer /opt/mcp-optimizer" in final
    for forbidden in ("apt-get", "gcc", "build-essential", "pip wheel", "pip install"):
        assert forbidden not in final_text, f"{forbidden} in the final stage"
    assert "USER 1000:1000" in final
    assert f"EXPOSE {umbrel_env.HTTP_PORT}" in final
    (health,) = [i for i in final if i.startswith("HEALTHCHECK ")]
    assert '"mcp_optimizer.umbrel.healthcheck"' in health
    assert final[-2:] == ['ENTRYPOINT ["mcp-optimizer"]', 'CMD ["run"]']
    everything = "\n".join(i for stage in stages() for i in stage)
    assert "--platform" not in everything and "ARCH" not in everything  # nothing per arch


def test_the_compose_files_image_tag_is_the_projects_version():
    compose = load(ROOT / "umbrel" / "mcp-lightning-optimizer" / "docker-compose.yml")
    manifest = load(ROOT / "umbrel" / "mcp-lightning-optimizer" / "umbrel-app.yml")
    version = re.search(r'^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.M)[1]
    image = compose["services"]["web"]["image"]
    assert image.split("@")[0].endswith(f":{version}") and manifest["version"] == version


def test_dockerignore_lets_in_exactly_what_the_dockerfile_copies():
    copied = set()
    for stage in stages():
        for instruction in stage:
            if instruction.startswith("COPY ") and "--from=" not in instruction:
                copied.update(instruction.split()[1:-1])
    for path in copied:
        assert (ROOT / path).exists(), path
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    assert ignore[[i for i, x in enumerate(ignore) if not x.startswith("#")][0]] == "*"
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    assert {p.rstrip("/") for p in copied} == allowed
