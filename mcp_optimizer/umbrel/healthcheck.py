"""The image's HEALTHCHECK: ``python -m mcp_optimizer.umbrel.healthcheck``.

GETs the running service's ``/healthz`` on the loopback interface, at the port the service's
settings give (Umbrel's mapping applied first, as every verb does; ``MCP_HTTP_PORT=0`` reads the
bound address the server wrote to ``<data dir>/http-address``). Exit 0 when it answers 200 with
``"status": "ok"``, else 1 with one line saying what it saw (Docker keeps it in the container's
health log).
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from . import env as umbrel_env

TIMEOUT_S = 8.0
"""Below the HEALTHCHECK's --timeout (10 s) and above /healthz's own control wait (5 s)."""
DEFAULT_PORT = 8731
"""The service's default HTTP port (runtime/settings.py DEFAULT_HTTP_PORT)."""


def health_url(environ: Mapping[str, str]) -> str:
    env = {**environ, **umbrel_env.service_environment(environ)}
    host = env.get("MCP_HTTP_HOST", "").strip() or "127.0.0.1"
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    port = env.get("MCP_HTTP_PORT", "").strip() or str(DEFAULT_PORT)
    if port == "0":
        data_dir = Path(env.get("MCP_DATA_DIR", "").strip() or "var")
        address = (data_dir / "http-address").read_text().strip()
        return f"http://{address}/healthz"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}/healthz"


def check(environ: Mapping[str, str]) -> str | None:
    """None when the service is healthy, else one sentence."""
    try:
        url = health_url(environ)
    except (OSError, ValueError) as exc:
        return f"no HTTP address to check: {exc}"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:  # noqa: S310
            body = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return f"{url} answered {exc.code}: {exc.read()[:300].decode(errors='replace')}"
    except (OSError, ValueError) as exc:
        return f"{url}: {exc}"
    if body.get("status") != "ok":
        return f"{url} says {body!r}"
    return None


def main() -> int:
    problem = check(os.environ)
    if problem is None:
        print("healthy")
        return 0
    print(f"unhealthy: {problem}", file=sys.stderr)
    return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
