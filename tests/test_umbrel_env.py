"""Umbrel's variables -> the service's settings (mcp_optimizer/umbrel/env.py), and the one-line
refusals of a start that cannot work."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mcp_optimizer.providers.lnd.errors import LndConfigError
from mcp_optimizer.providers.lnd.settings import LndSettings
from mcp_optimizer.runtime.settings import DEFAULT_HTTP_PORT, ServiceSettings
from mcp_optimizer.umbrel import env as umbrel_env
from mcp_optimizer.umbrel import healthcheck

UMBREL = {"APP_LIGHTNING_NODE_IP": "10.21.21.9", "APP_LIGHTNING_NODE_GRPC_PORT": "10009",
          "APP_BITCOIN_NETWORK": "mainnet"}


def test_umbrels_variables_give_the_service_settings():
    assert umbrel_env.service_environment(UMBREL) == {
        "MCP_LND_HOST": "10.21.21.9:10009",
        "MCP_LND_DIR": "/lnd",
        "MCP_LND_NETWORK": "mainnet",
        "MCP_LND_MACAROON_NAME": "admin.macaroon",
        "MCP_DATA_DIR": "/data",
        "MCP_HTTP_HOST": "0.0.0.0",
        "MCP_HTTP_PORT": "8731",
        "MCP_WEB_AUTH": "proxy",
    }
    settings = ServiceSettings.from_env({**UMBREL, **umbrel_env.service_environment(UMBREL)})
    assert settings.use_simulator is False
    assert (settings.http_host, settings.http_port) == ("0.0.0.0", 8731)
    assert settings.data_dir == Path("/data")
    assert settings.socket_path == Path("/data/control.sock")


def test_the_page_behind_umbrels_app_proxy_needs_no_token_of_its_own():
    from mcp_optimizer.web.security import ExposureRefused, check_exposure

    mapped = {**UMBREL, **umbrel_env.service_environment(UMBREL)}
    check_exposure(mapped["MCP_HTTP_HOST"], mapped)  # app_proxy authenticates
    with pytest.raises(ExposureRefused):  # the same bind off Umbrel needs a token
        check_exposure("0.0.0.0", {})


def test_not_on_umbrel_nothing_changes():
    assert umbrel_env.service_environment({"MCP_LND_HOST": "x:1"}) == {}
    env = {"APP_BITCOIN_NETWORK": "moonnet"}  # not on Umbrel without the node's address
    assert umbrel_env.apply(env) == {} and env == {"APP_BITCOIN_NETWORK": "moonnet"}


def test_explicit_settings_win():
    env = {**UMBREL, "MCP_HTTP_PORT": "9000", "MCP_DATA_DIR": "/elsewhere"}
    derived = umbrel_env.service_environment(env)
    assert "MCP_HTTP_PORT" not in derived and "MCP_DATA_DIR" not in derived
    files = {**UMBREL, "MCP_LND_TLS_CERT": "/c/tls.cert", "MCP_LND_MACAROON": "/c/m"}
    derived = umbrel_env.service_environment(files)
    assert not {"MCP_LND_DIR", "MCP_LND_NETWORK", "MCP_LND_MACAROON_NAME"} & set(derived)
    assert derived["MCP_LND_HOST"] == "10.21.21.9:10009"


@pytest.mark.parametrize("network", umbrel_env.NETWORKS)
def test_every_umbrel_network_picks_its_macaroon_directory(tmp_path, network):
    lnd = tmp_path / "lnd"
    macaroons = lnd / "data" / "chain" / "bitcoin" / network
    macaroons.mkdir(parents=True)
    (lnd / "tls.cert").write_text("-----BEGIN CERTIFICATE-----\n")
    (macaroons / "admin.macaroon").write_bytes(b"\x02\x01")
    env = {**UMBREL, "APP_BITCOIN_NETWORK": network, "MCP_LND_DIR": str(lnd)}
    s = LndSettings.from_env({**env, **umbrel_env.service_environment(env)})
    assert s.macaroon_path == macaroons / "admin.macaroon"
    assert s.host == "10.21.21.9:10009"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"APP_BITCOIN_NETWORK": "testnet3"}, "APP_BITCOIN_NETWORK is 'testnet3': not a network"),
        ({"APP_BITCOIN_NETWORK": ""}, "APP_BITCOIN_NETWORK is not set: not a network"),
        ({"APP_LIGHTNING_NODE_GRPC_PORT": ""}, "APP_LIGHTNING_NODE_GRPC_PORT is not set"),
        ({"APP_LIGHTNING_NODE_GRPC_PORT": "99999"}, "'99999' is not a TCP port"),
    ],
)
def test_bad_umbrel_variables_are_refused(change, message):
    with pytest.raises(umbrel_env.UmbrelSettingsError, match=message):
        umbrel_env.service_environment({**UMBREL, **change})


def test_missing_lnd_files_are_named(tmp_path):
    lnd = tmp_path / "lnd"
    lnd.mkdir()
    env = {"MCP_LND_DIR": str(lnd), "MCP_LND_HOST": "127.0.0.1:10009"}
    with pytest.raises(LndConfigError, match=f"cannot read LND's TLS certificate {lnd}/tls.cert"):
        LndSettings.from_env(env)
    (lnd / "tls.cert").write_text("-----BEGIN CERTIFICATE-----\n")
    with pytest.raises(LndConfigError, match="cannot read the macaroon .*/bitcoin/mainnet/admin"):
        LndSettings.from_env(env)
    with pytest.raises(LndConfigError, match="MCP_LND_NETWORK='moonnet' is not a bitcoin"):
        LndSettings.from_env({**env, "MCP_LND_NETWORK": "moonnet"})


def test_every_verb_reads_umbrels_variables(tmp_path):
    """``docker exec <app>_web_1 mcp-optimizer status`` finds the service's socket in /data;
    here /data does not exist, so the verb says it cannot reach the service there."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MCP_")}
    env.update(UMBREL)
    done = subprocess.run([sys.executable, "-m", "mcp_optimizer", "status"], env=env,
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode != 0
    assert "/data/control.sock" in done.stderr
    assert len(done.stderr.splitlines()) == 1, done.stderr


def test_healthcheck_url_follows_the_settings(tmp_path):
    assert healthcheck.health_url(UMBREL) == "http://127.0.0.1:8731/healthz"
    assert healthcheck.health_url({}) == f"http://127.0.0.1:{DEFAULT_HTTP_PORT}/healthz"
    assert healthcheck.DEFAULT_PORT == DEFAULT_HTTP_PORT == umbrel_env.HTTP_PORT
    (tmp_path / "http-address").write_text("127.0.0.1:45678\n")
    env = {"MCP_HTTP_PORT": "0", "MCP_DATA_DIR": str(tmp_path)}
    assert healthcheck.health_url(env) == "http://127.0.0.1:45678/healthz"
    nothing = {"MCP_HTTP_PORT": "1", "MCP_HTTP_HOST": "127.0.0.1"}  # nobody listens on port 1
    assert healthcheck.check(nothing).startswith("http://127.0.0.1:1/healthz: ")
