"""The app's docker-compose.yml as Docker sees it: valid against the compose-spec schema
(check-jsonschema), and rendered by ``docker compose config`` the way umbreld runs it, merged
with look-alikes of Umbrel's app_proxy and common fragments and an env file of Umbrel's
variables. The look-alikes are written here from umbrelOS's legacy-compat fragments' shape."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from umbrel_support import LAYOUTS, compose_binary, tool

from mcp_optimizer.umbrel import env as umbrel_env

APP_PROXY_IMAGE = (
    "getumbrel/app-proxy:1.0.0"
    "@sha256:49eb600c4667c4b948055e33171b42a509b7e0894a77e0ca40df8284c77b52fb"
)
APP_PROXY_FRAGMENT = f"""\
services:
  app_proxy:
    image: {APP_PROXY_IMAGE}
    user: "1000:1000"
    restart: on-failure
    hostname: $APP_PROXY_HOSTNAME
    volumes:
      - ${{APP_MANIFEST_FILE}}:/extra/umbrel-app.yml:ro
      - ${{TOR_DATA_DIR}}:/var/lib/tor:ro
      - ${{APP_DATA_DIR}}:/data:ro
    environment:
      PROXY_PORT: $APP_PROXY_PORT
      PROXY_AUTH_ADD: "true"
      APP_HOST:
      APP_PORT:
      AUTH_SERVICE_PORT: $AUTH_PORT
      MANAGER_PORT: 3006
"""
COMMON_FRAGMENT = """\
networks:
  default:
    name: umbrel_main_network
    external: true
"""


def umbrel_env_file(app_id: str) -> str:
    data = f"/home/umbrel/umbrel/app-data/{app_id}"
    return "\n".join([
        f"APP_DATA_DIR={data}",
        f"APP_PROXY_HOSTNAME={app_id}_app_proxy_1",
        "APP_PROXY_PORT=2110",
        f"APP_MANIFEST_FILE={data}/umbrel-app.yml",
        "TOR_DATA_DIR=/home/umbrel/umbrel/tor/data",
        "AUTH_PORT=2000",
        "DEVICE_DOMAIN_NAME=umbrel.local",
        "APP_LIGHTNING_NODE_IP=10.21.21.9",
        "APP_LIGHTNING_NODE_GRPC_PORT=10009",
        "APP_LIGHTNING_NODE_REST_PORT=8080",
        "APP_LIGHTNING_NODE_DATA_DIR=/home/umbrel/umbrel/app-data/lightning/data/lnd",
        "APP_BITCOIN_NETWORK=mainnet",
        "",
    ])


def render(app: Path, compose_file: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    (tmp_path / "app_proxy.yml").write_text(APP_PROXY_FRAGMENT)
    (tmp_path / "common.yml").write_text(COMMON_FRAGMENT)
    (tmp_path / "umbrel.env").write_text(umbrel_env_file(app.name))
    return subprocess.run(
        [compose_binary(), "-p", app.name, "--project-directory", str(app),
         "--env-file", str(tmp_path / "umbrel.env"),
         "-f", str(tmp_path / "app_proxy.yml"), "-f", str(tmp_path / "common.yml"),
         "-f", str(compose_file), "config", "--format", "json"],
        capture_output=True, text=True, timeout=120, env={"PATH": "/usr/bin:/bin"},
    )


def schema_check(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("app", LAYOUTS)
def test_compose_file_matches_the_compose_spec_schema(app: Path):
    done = schema_check(app / "docker-compose.yml")
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_schema_check_fails_a_broken_file(tmp_path: Path):
    broken = tmp_path / "docker-compose.yml"
    broken.write_text("services:\n  web:\n    image: x:1\n    restart: on-failure\n"
                      "    stop_grace_period: [2m]\n    volume:\n      - a:/b\n")
    done = schema_check(broken)
    assert done.returncode != 0
    assert "stop_grace_period" in done.stdout + done.stderr or "volume" in done.stdout


@pytest.mark.parametrize("app", LAYOUTS)
def test_docker_compose_renders_it_as_umbrel_runs_it(app: Path, tmp_path: Path):
    done = render(app, app / "docker-compose.yml", tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "", f"warnings (a variable unset?): {done.stderr}"
    config = json.loads(done.stdout)
    assert config["name"] == app.name
    assert set(config["services"]) == {"app_proxy", "web", "prometheus"}
    assert config["networks"]["default"]["name"] == "umbrel_main_network"
    proxy = config["services"]["app_proxy"]["environment"]
    assert proxy["APP_HOST"] == f"{app.name}_web_1"
    assert proxy["APP_PORT"] == str(umbrel_env.HTTP_PORT)
    web = config["services"]["web"]
    assert web["environment"] == {"APP_LIGHTNING_NODE_IP": "10.21.21.9",
                                  "APP_LIGHTNING_NODE_GRPC_PORT": "10009",
                                  "APP_BITCOIN_NETWORK": "mainnet"}
    mounts = {v["target"]: v for v in web["volumes"]}
    assert mounts[umbrel_env.LND_DIR]["source"] == \
        "/home/umbrel/umbrel/app-data/lightning/data/lnd"
    assert mounts[umbrel_env.LND_DIR]["read_only"] is True
    assert mounts[umbrel_env.DATA_DIR]["source"] == \
        f"/home/umbrel/umbrel/app-data/{app.name}/data/optimizer"
    assert not mounts[umbrel_env.DATA_DIR].get("read_only", False)
    assert web["user"] == "1000:1000" and web["init"] is True
    assert web["stop_grace_period"] == "2m0s"
    prom = {v["target"]: v for v in config["services"]["prometheus"]["volumes"]}
    assert prom["/prometheus"]["source"].endswith(f"/app-data/{app.name}/data/prometheus")


@pytest.mark.parametrize(
    ("breakage", "named"),
    [
        ("    restart_policy_typo: sometimes\n", "restart_policy_typo"),  # unknown key
        ("    stop_grace_period: soon\n", "stop_grace_period"),  # not a duration
        ("    init: maybe\n", "init"),  # not a boolean
    ],
)
def test_docker_compose_fails_a_broken_file(tmp_path: Path, breakage: str, named: str):
    app = LAYOUTS[0].values[0]
    text = (app / "docker-compose.yml").read_text()
    prometheus_restart = "    restart: on-failure\n    command:\n"
    assert prometheus_restart in text
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(text.replace(prometheus_restart,
                                   "    restart: on-failure\n" + breakage + "    command:\n"))
    done = render(app, broken, tmp_path)
    assert done.returncode != 0, done.stdout
    assert named in done.stderr
