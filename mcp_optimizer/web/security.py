"""Who may use the page and its API, and cross-site request forgery.

- Bound to a loopback address (the default, ``MCP_HTTP_HOST=127.0.0.1``) the page is open to
  whoever can reach it: processes of this machine.
- Bound elsewhere, either ``MCP_WEB_TOKEN`` (at least 16 characters) is set, and every request
  to the page and ``/api/v1/`` must carry it (``Authorization: Bearer <token>``, or the cookie
  the page's sign-in sets), or ``MCP_WEB_AUTH=proxy`` says an authenticating proxy stands in
  front (Umbrel's app proxy). Otherwise ``mcp-optimizer run`` refuses to start, in one line
  (:func:`check_exposure`).
- Every POST must carry the CSRF token in ``X-CSRF-Token`` (the page has it in a meta tag;
  ``GET /api/v1/csrf`` gives it) and a JSON body; one whose ``Origin`` names another host is
  refused. A cross-site page can neither read the token nor send that header.
- The MCP server's bearer token (``GET /api/v1/mcp-connection``, the page's "Connect an
  assistant") is a secret read: besides the above, it needs the CSRF header as a POST does,
  and, bound to loopback, a ``Host`` that names loopback (:func:`loopback_host_ok`), so that a
  page of another site whose name was made to resolve to 127.0.0.1 (DNS rebinding) cannot
  read it.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Mapping

TOKEN_VAR = "MCP_WEB_TOKEN"
AUTH_VAR = "MCP_WEB_AUTH"
COOKIE = "mcp_web_token"
MIN_TOKEN = 16


class ExposureRefused(ValueError):
    """The HTTP server would be reachable from elsewhere without an access token."""


def is_loopback(host: str) -> bool:
    h = host.strip().strip("[]")
    if h == "localhost":
        return True
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        return False


def check_exposure(host: str, env: Mapping[str, str]) -> None:
    """Refuse a non-loopback bind without a token or a declared authenticating proxy."""
    token = env.get(TOKEN_VAR, "")
    auth = env.get(AUTH_VAR, "").strip().lower()
    if auth not in ("", "token", "proxy"):
        raise ExposureRefused(f"{AUTH_VAR}={auth[:20]!r}: expected token or proxy")
    if token and len(token) < MIN_TOKEN:
        raise ExposureRefused(f"{TOKEN_VAR} is {len(token)} characters, expected at least "
                              f"{MIN_TOKEN}")
    if is_loopback(host) or token or auth == "proxy":
        return
    raise ExposureRefused(
        f"MCP_HTTP_HOST={host} makes the web page reachable from other machines: set "
        f"{TOKEN_VAR} (an access token of {MIN_TOKEN}+ characters), or {AUTH_VAR}=proxy behind "
        "an authenticating proxy, or bind to 127.0.0.1"
    )


def host_name(host_header: str) -> str:
    """The name in a ``Host`` header, without its port (``[::1]:8731`` -> ``::1``)."""
    h = host_header.strip().lower()
    if h.startswith("["):
        return h[1:].split("]", 1)[0]
    return h.rsplit(":", 1)[0] if h.count(":") == 1 else h


def loopback_host_ok(bound_host: str, host_header: str) -> str | None:
    """None when a secret may be served to a request with this ``Host``; otherwise why not.
    Bound to loopback, only a loopback name is taken; bound elsewhere, the access token or the
    authenticating proxy is the check (and the proxy's own cookie is not sent to another
    name)."""
    if not is_loopback(bound_host) or is_loopback(host_name(host_header)):
        return None
    return (f"the MCP token is served only to a page opened at a loopback address (this "
            f"request names {host_header[:80]!r}): open http://127.0.0.1:<port>/")


class Guard:
    """The token check and the CSRF token of one running service."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.token = env.get(TOKEN_VAR, "")
        self._secret = secrets.token_bytes(32)
        self.csrf = hmac.new(self._secret, b"csrf", hashlib.sha256).hexdigest()

    def authorized(self, headers: Mapping[str, str], cookies: Mapping[str, str]) -> bool:
        if not self.token:
            return True
        given = ""
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            given = auth[7:].strip()
        else:
            given = cookies.get(COOKIE, "")
        return hmac.compare_digest(given.encode(), self.token.encode())

    def csrf_ok(self, headers: Mapping[str, str]) -> str | None:
        """None when the POST may proceed; otherwise why not (one line)."""
        sent = headers.get("x-csrf-token", "")
        if not sent or not hmac.compare_digest(sent.encode(), self.csrf.encode()):
            return ("missing or wrong X-CSRF-Token header (GET /api/v1/csrf gives it); "
                    "nothing was changed")
        origin = headers.get("origin", "")
        host = headers.get("host", "")
        if origin and origin != "null":
            bare = origin.split("://", 1)[-1]
            if bare != host:
                return f"request from another site ({origin[:80]}); nothing was changed"
        return None
