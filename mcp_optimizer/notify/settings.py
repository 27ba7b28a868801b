"""``MCP_NOTIFY_*``: where notifications go, which events, how many an hour, the daily digest.

- ``MCP_NOTIFY_URLS``: one or more apprise URLs (``ntfy://ntfy.sh/my-topic``,
  ``tgram://BOT_TOKEN/CHAT_ID``, ``json://host:port/path``...), separated by spaces, newlines
  or commas. Unset or empty: no notifications.
- ``MCP_NOTIFY_EVENTS``: ``all`` (default) or the event names to send (``events.EventKind``),
  comma separated; ``all,-started`` sends all but those after a ``-``.
- ``MCP_NOTIFY_MAX_PER_HOUR``: at most this many messages in any hour (default 12); the ones
  left out are counted in the next message.
- ``MCP_NOTIFY_DIGEST_HOUR``: ``off`` (default) or the UTC hour (0-23) of a daily digest.

A URL carries its secrets (tokens, passwords) inside it: it is never written anywhere. The
operator reads it named by :func:`safe_name`: its position, its scheme and, when it looks like
a host name, its host and port (``#2 json://127.0.0.1:8080``).
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass

from .events import ALL_KINDS, EventKind

DEFAULT_MAX_PER_HOUR = 12
_SPLIT = re.compile(r"\s+|,(?=\s*[A-Za-z][A-Za-z0-9+.-]*://)")
_HOSTLIKE = re.compile(
    r"^(localhost|\d{1,3}(\.\d{1,3}){3}|\[[0-9a-fA-F:.]+\]|([A-Za-z0-9-]+\.)+[A-Za-z]{2,})$")


class NotifySettingsError(ValueError):
    """A ``MCP_NOTIFY_*`` value that cannot be used (one sentence, no secret in it)."""


@dataclass(frozen=True)
class NotifyTarget:
    """One apprise URL. ``url`` holds its secrets: give the operator ``name``."""

    url: str
    name: str

    def __repr__(self) -> str:  # never the URL, even in a traceback or a test's output
        return f"NotifyTarget({self.name})"


@dataclass(frozen=True)
class NotifySettings:
    targets: tuple[NotifyTarget, ...] = ()
    events: frozenset[EventKind] = ALL_KINDS
    max_per_hour: int = DEFAULT_MAX_PER_HOUR
    digest_hour: int | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.targets)

    def wants(self, kind: EventKind) -> bool:
        return kind in self.events


def split_urls(text: str) -> list[str]:
    return [u for u in _SPLIT.split(text.strip()) if u]


def safe_name(index: int, url: str) -> str:
    """``#N scheme://host:port`` with nothing that may be a secret: the host only when it
    looks like one (a bot token in the host's place is left out), no user, path or query."""
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower() if sep and re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", scheme) else "?"
    if not sep:
        return f"#{index} (not a URL)"
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0].rpartition("@")[2]
    host, _, port = authority.partition(":") if not authority.startswith("[") else (
        authority.partition("]")[0] + "]", "", authority.partition("]")[2].lstrip(":"))
    if host and _HOSTLIKE.match(host):
        shown = host + (f":{port}" if port.isdigit() else "")
        return f"#{index} {scheme}://{shown}"
    return f"#{index} {scheme}://"


def secret_parts(url: str) -> list[str]:
    """The parts of ``url`` that may be secrets, for the log's redaction: the whole URL, the
    user and password, each path segment and query value of 8 characters or more, and the
    host when it does not look like a host name (a bot token)."""
    parts = [url]
    try:
        split = urllib.parse.urlsplit(url)
        netloc = split.netloc
    except ValueError:
        return parts
    userinfo, _, hostport = netloc.rpartition("@")
    if userinfo:
        parts += [urllib.parse.unquote(p) for p in userinfo.split(":") if p]
    host, _, port = hostport.rpartition(":") if not hostport.startswith("[") else (
        hostport, "", "")
    if not host:
        host, port = hostport, ""
    if port and not port.isdigit():  # ``BOT_ID:TOKEN`` in the host's place
        parts += [urllib.parse.unquote(hostport), urllib.parse.unquote(port)]
    if host and not _HOSTLIKE.match(host):
        parts.append(urllib.parse.unquote(host))
    parts += [urllib.parse.unquote(s) for s in split.path.split("/") if len(s) >= 8]
    for _, value in urllib.parse.parse_qsl(split.query):
        if len(value) >= 8:
            parts.append(value)
    return parts


def _targets(text: str) -> tuple[NotifyTarget, ...]:
    import apprise

    from .sender import quiet_apprise

    quiet_apprise()  # apprise's own log line may print a part of the URL
    targets = []
    for i, url in enumerate(split_urls(text), start=1):
        name = safe_name(i, url)
        try:
            plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True)
        except Exception:  # noqa: BLE001 - any failure is a URL apprise cannot use
            plugin = None
        if plugin is None:
            raise NotifySettingsError(
                f"MCP_NOTIFY_URLS: URL {name} is not one apprise can send to (unknown "
                "scheme or missing parts; see https://github.com/caronc/apprise/wiki)"
            )
        targets.append(NotifyTarget(url=url, name=name))
    return tuple(targets)


def _events(text: str) -> frozenset[EventKind]:
    names = [n.strip().lower() for n in text.split(",") if n.strip()]
    if not names:
        return ALL_KINDS
    chosen: set[EventKind] = set()
    known = {k.value: k for k in EventKind}
    for name in names:
        drop = name.startswith("-")
        bare = name.lstrip("-+")
        if bare == "all":
            kinds = set(ALL_KINDS)
        elif bare in known:
            kinds = {known[bare]}
        else:
            raise NotifySettingsError(
                f"MCP_NOTIFY_EVENTS: unknown event {bare!r} (known: all, "
                + ", ".join(sorted(known)) + ")"
            )
        chosen = chosen - kinds if drop else chosen | kinds
    return frozenset(chosen)


def load_notify_settings(env: Mapping[str, str]) -> NotifySettings:
    """The settings from ``env``; :class:`NotifySettingsError` names the first bad one."""
    raw_max = env.get("MCP_NOTIFY_MAX_PER_HOUR", "").strip()
    try:
        max_per_hour = int(raw_max) if raw_max else DEFAULT_MAX_PER_HOUR
    except ValueError:
        max_per_hour = 0
    if max_per_hour < 1:
        raise NotifySettingsError(
            f"MCP_NOTIFY_MAX_PER_HOUR: {raw_max!r} is not a whole number of 1 or more")
    raw_digest = env.get("MCP_NOTIFY_DIGEST_HOUR", "").strip().lower()
    digest_hour: int | None = None
    if raw_digest not in ("", "off"):
        if not raw_digest.isdigit() or not 0 <= int(raw_digest) <= 23:
            raise NotifySettingsError(
                f"MCP_NOTIFY_DIGEST_HOUR: {raw_digest!r} is neither off nor an hour 0-23 (UTC)")
        digest_hour = int(raw_digest)
    return NotifySettings(
        targets=_targets(env.get("MCP_NOTIFY_URLS", "")),
        events=_events(env.get("MCP_NOTIFY_EVENTS", "")),
        max_per_hour=max_per_hour,
        digest_hour=digest_hour,
    )
