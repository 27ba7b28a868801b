"""The Umbrel app folder (official and community layouts): Umbrel's own linter, and the parts of
Umbrel's contract the linter does not check (docs/umbrel.md)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from umbrel_support import APP, APP_ID, COMMUNITY_APP, LAYOUTS, LINT_KIT, ROOT, lint, load

from mcp_optimizer.umbrel import env as umbrel_env

DIGEST = re.compile(r"^[^@\s]+:[^:@/\s]+@sha256:[0-9a-f]{64}$")


@pytest.mark.parametrize("app", LAYOUTS)
def test_umbrels_linter_passes(app: Path):
    done = lint(app)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No issues found." in done.stdout, done.stdout  # no warning either


@pytest.mark.parametrize(
    ("breakage", "rule"),
    [
        ("missing_gitkeep", "persistence.missing_source"),
        ("taken_port", "port 2101 is already used"),
        ("unpinned_image", "image.pinned"),
    ],
)
def test_umbrels_linter_fails_a_broken_app(tmp_path: Path, breakage: str, rule: str):
    broken = tmp_path / APP_ID
    shutil.copytree(APP, broken)
    if breakage == "missing_gitkeep":
        shutil.rmtree(broken / "data" / "prometheus")
    elif breakage == "taken_port":
        manifest = broken / "umbrel-app.yml"
        manifest.write_text(manifest.read_text().replace("\nport: 2110\n", "\nport: 2101\n"))
    else:
        compose = broken / "docker-compose.yml"
        compose.write_text(re.sub(r"(image: prom/prometheus:v[0-9.]+)@sha256:[0-9a-f]+",
                                  r"\1", compose.read_text()))
    done = lint(broken)
    assert done.returncode != 0
    assert rule in done.stdout + done.stderr


@pytest.mark.parametrize("app", LAYOUTS)
def test_manifest_follows_umbrels_contract(app: Path):
    m = load(app / "umbrel-app.yml")
    assert m["id"] == app.name and re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", m["id"])
    assert m["category"] == "bitcoin"
    assert m["dependencies"] == ["lightning"]
    assert m["path"] == "" and m["gallery"] == [] and m["releaseNotes"] == ""
    for key in ("manifestVersion", "name", "version", "tagline", "description", "developer",
                "website", "repo", "support", "submitter", "submission"):
        assert m.get(key) not in (None, ""), key
    taken = set((LINT_KIT / "official-manifest-ports.txt").read_text().split())
    assert m["port"] not in (80, 443, 2000) and str(m["port"]) not in taken
    assert any("log" in p for p in m["backupIgnore"])
    (widget,) = m["widgets"]
    assert widget["type"] == "four-stats" and len(widget["example"]["items"]) == 4
    service, port_path = widget["endpoint"].split(":", 1)
    assert service == "web" and port_path.startswith(f"{umbrel_env.HTTP_PORT}/")


@pytest.mark.parametrize("app", LAYOUTS)
def test_compose_follows_umbrels_contract(app: Path):
    text = (app / "docker-compose.yml").read_text()
    c = load(app / "docker-compose.yml")
    assert set(c) == {"services"}, "no top-level networks, volumes or version"
    proxy = c["services"]["app_proxy"]
    assert proxy == {"environment": {"APP_HOST": f"{app.name}_web_1",
                                     "APP_PORT": umbrel_env.HTTP_PORT,
                                     "PROXY_AUTH_WHITELIST": "/mcp"}}  # its own bearer token
    web = c["services"]["web"]
    assert web["user"] == "1000:1000" and web["init"] is True
    assert web["restart"] == "on-failure"
    grace = re.fullmatch(r"(\d+)(s|m)", web["stop_grace_period"])
    assert grace and int(grace[1]) * (60 if grace[2] == "m" else 1) >= 60
    assert f"${{APP_LIGHTNING_NODE_DATA_DIR}}:{umbrel_env.LND_DIR}:ro" in web["volumes"]
    assert f"${{APP_DATA_DIR}}/data/optimizer:{umbrel_env.DATA_DIR}" in web["volumes"]
    assert set(web["environment"]) == {
        "APP_LIGHTNING_NODE_IP", "APP_LIGHTNING_NODE_GRPC_PORT", "APP_BITCOIN_NETWORK"}
    assert web["environment"]["APP_BITCOIN_NETWORK"] == "${APP_BITCOIN_NETWORK}"
    for name, service in c["services"].items():
        assert "build" not in service and "container_name" not in service, name
        if name != "app_proxy":
            assert DIGEST.match(service["image"]), service["image"]
            assert service["restart"] == "on-failure"
        for volume in service.get("volumes", []):
            assert isinstance(volume, str), "short volume syntax"
            source = volume.split(":", 1)[0]
            assert "docker.sock" not in volume
            if source.startswith("${APP_DATA_DIR}/"):
                committed = app / source.removeprefix("${APP_DATA_DIR}/")
                assert committed.exists(), f"{committed} is not committed"
                if committed.is_dir():
                    assert (committed / ".gitkeep").exists()
    assert "latest" not in text


@pytest.mark.parametrize("app", LAYOUTS)
def test_prometheus_sidecar_scrapes_the_service(app: Path):
    c = load(app / "docker-compose.yml")
    prometheus = c["services"]["prometheus"]
    assert prometheus["user"] == "1000:1000"
    assert "${APP_DATA_DIR}/data/prometheus:/prometheus" in prometheus["volumes"]
    assert "--storage.tsdb.path=/prometheus" in prometheus["command"]
    config = load(app / "prometheus.yml")
    (job,) = config["scrape_configs"]
    assert config["global"]["scrape_interval"] == "15s"
    assert job["metrics_path"] == "/metrics"
    assert job["static_configs"][0]["targets"] == [f"{app.name}_web_1:{umbrel_env.HTTP_PORT}"]
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is missing (Debian's prometheus, scripts/apt-packages.txt)",
                    pytrace=False)
    done = subprocess.run([promtool, "check", "config", str(app / "prometheus.yml")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_widget_route_is_the_manifests_endpoint():
    from mcp_optimizer.umbrel import widget

    (entry,) = load(APP / "umbrel-app.yml")["widgets"]
    assert entry["endpoint"].split("/", 1)[1] == widget.PATH.lstrip("/")
    assert load(COMMUNITY_APP / "umbrel-app.yml")["widgets"] == [entry]


def test_the_umbrel_files_name_no_file_outside_the_app_folder():
    """Umbrel installs the app folder alone: every ${APP_DATA_DIR} path must be inside it."""
    for app in (APP, COMMUNITY_APP):
        text = (app / "docker-compose.yml").read_text()
        for rel in re.findall(r"\$\{APP_DATA_DIR\}/([^:\s]+)", text):
            assert (app / rel).resolve().is_relative_to(app.resolve()), rel
    assert (ROOT / "umbrel" / "icon.svg").read_text().startswith("<svg")
