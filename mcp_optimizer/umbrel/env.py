"""Umbrel's environment -> the service's settings: the one place that knows Umbrel's names.

On Umbrel the app's ``docker-compose.yml`` passes three of umbrelOS's variables into the
``web`` container and mounts two directories; nothing else about Umbrel reaches the service:

- ``APP_LIGHTNING_NODE_IP`` and ``APP_LIGHTNING_NODE_GRPC_PORT`` -> ``MCP_LND_HOST``
  (``10.21.21.9:10009``);
- ``${APP_LIGHTNING_NODE_DATA_DIR}``, mounted read-only at ``/lnd`` -> ``MCP_LND_DIR=/lnd``
  (``tls.cert`` at its root, macaroons under ``data/chain/bitcoin/<network>/``);
- ``APP_BITCOIN_NETWORK`` -> ``MCP_LND_NETWORK`` (which macaroon directory);
- the admin macaroon, as every Lightning app on Umbrel -> ``MCP_LND_MACAROON_NAME``;
- ``${APP_DATA_DIR}/data/optimizer``, mounted at ``/data`` -> ``MCP_DATA_DIR=/data`` (journal,
  policy, logs, control socket);
- ``app_proxy``'s ``APP_PORT`` (8731) on Umbrel's Docker network -> ``MCP_HTTP_HOST=0.0.0.0``,
  ``MCP_HTTP_PORT=8731`` (the page, ``/healthz``, ``/metrics``, the widget);
- ``app_proxy`` in front of the page, authenticating Umbrel's user -> ``MCP_WEB_AUTH=proxy``
  (the page asks for no token of its own).

The service is on Umbrel when ``APP_LIGHTNING_NODE_IP`` is set (the compose file passes it);
elsewhere this module does nothing. A ``MCP_*`` variable set explicitly wins over what Umbrel's
variables give (explicit ``MCP_LND_TLS_CERT``/``MCP_LND_MACAROON`` replace the LND directory).
:func:`apply` runs first in every ``mcp-optimizer`` verb (``cli/main.py``), so ``docker exec
... mcp-optimizer status`` finds the same data directory as the service. Bad values stop it
with one line naming the variable; a missing ``tls.cert`` or macaroon is told, naming the file,
by ``LndSettings.from_env`` before the service starts anything.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping

ON_UMBREL = "APP_LIGHTNING_NODE_IP"
"""The variable whose presence says the service runs as the Umbrel app."""

NETWORKS = ("mainnet", "testnet", "testnet4", "signet", "regtest")
"""The values of ``APP_BITCOIN_NETWORK`` (Umbrel's Bitcoin Node app); LND names its macaroon
directory ``data/chain/bitcoin/<network>`` with the same words."""

LND_DIR = "/lnd"
"""Where docker-compose.yml mounts ``${APP_LIGHTNING_NODE_DATA_DIR}``, read-only."""
DATA_DIR = "/data"
"""Where docker-compose.yml mounts ``${APP_DATA_DIR}/data/optimizer``."""
MACAROON = "admin.macaroon"
"""The macaroon Umbrel's Lightning apps use (fee updates need write rights)."""
HTTP_HOST = "0.0.0.0"
"""All interfaces of the container: app_proxy, the widget fetch and the Prometheus sidecar
reach it over Umbrel's Docker network (the page's users are authenticated by app_proxy)."""
HTTP_PORT = 8731
"""``APP_PORT`` of ``app_proxy`` in docker-compose.yml and the widget's endpoint port."""
WEB_AUTH = "proxy"
"""Umbrel's app_proxy authenticates the page's users (mcp_optimizer/web/security.py)."""


class UmbrelSettingsError(ValueError):
    """One of Umbrel's variables cannot be used; the message names it."""


def on_umbrel(environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return bool(env.get(ON_UMBREL, "").strip())


def _grpc_port(env: Mapping[str, str]) -> str:
    text = env.get("APP_LIGHTNING_NODE_GRPC_PORT", "").strip()
    if not text:
        raise UmbrelSettingsError(
            "APP_LIGHTNING_NODE_GRPC_PORT is not set (Umbrel's Lightning Node app exports it; "
            "is the app installed?)"
        )
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise UmbrelSettingsError(f"APP_LIGHTNING_NODE_GRPC_PORT={text!r} is not a TCP port")
    return text


def _network(env: Mapping[str, str]) -> str:
    text = env.get("APP_BITCOIN_NETWORK", "").strip()
    if text not in NETWORKS:
        shown = repr(text) if text else "not set"
        raise UmbrelSettingsError(
            f"APP_BITCOIN_NETWORK is {shown}: not a network Umbrel's Lightning Node runs on "
            f"(expected one of {', '.join(NETWORKS)})"
        )
    return text


def service_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The ``MCP_*`` settings that Umbrel's variables give, leaving out those ``environ``
    sets itself; empty when not on Umbrel. Raises :class:`UmbrelSettingsError`."""
    env = os.environ if environ is None else environ
    if not on_umbrel(env):
        return {}
    derived = {
        "MCP_LND_HOST": f"{env[ON_UMBREL].strip()}:{_grpc_port(env)}",
        "MCP_DATA_DIR": DATA_DIR,
        "MCP_HTTP_HOST": HTTP_HOST,
        "MCP_HTTP_PORT": str(HTTP_PORT),
        "MCP_WEB_AUTH": WEB_AUTH,
    }
    explicit_files = any(env.get(k, "").strip() for k in ("MCP_LND_TLS_CERT", "MCP_LND_MACAROON"))
    if not explicit_files:
        derived |= {
            "MCP_LND_DIR": LND_DIR,
            "MCP_LND_NETWORK": _network(env),
            "MCP_LND_MACAROON_NAME": MACAROON,
        }
    return {k: v for k, v in derived.items() if not env.get(k, "").strip()}


def apply(environ: MutableMapping[str, str] | None = None) -> dict[str, str]:
    """Set in ``environ`` (default: this process's environment) what
    :func:`service_environment` gives; returns what was set."""
    env = os.environ if environ is None else environ
    derived = service_environment(env)
    env.update(derived)
    return derived
