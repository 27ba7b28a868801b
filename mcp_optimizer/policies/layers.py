"""The effective policy as four layers, each value with its source: the shipped default, the
operator's file (``MCP_POLICY_FILE`` / ``--policy``), the page's layer (``<data dir>/
policy.page.yml``, written by the web page) and the environment (``MCP_POLICY__*``), later
layers winning. Loaded and checked exactly as :func:`.config.load_policy` does (the same
merge, conversion, checks and one-line :class:`.config.PolicyError`)."""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from . import yaml_safe
from .config import (
    Policy,
    PolicyError,
    _check,
    _convert,
    _env_overlay,
    _merge,
    _parse_yaml,
    default_policy_text,
)
from .overrides import parse_chan_key
from .yaml_safe import quote

PAGE_FILE = "policy.page.yml"
"""The page's layer, in the data directory."""
PAGE_ORIGIN = "policy set on the page"

DEFAULT, FILE, PAGE, ENV = "default", "file", "page", "environment"

_KEY_RE = re.compile(r"key `([^`]+)`")


def page_path(data_dir: str | Path) -> Path:
    return Path(data_dir) / PAGE_FILE


def error_key(message: str) -> str:
    """The dotted key a :class:`PolicyError` names first ('' when none)."""
    m = _KEY_RE.search(message)
    return m.group(1) if m else ""


def _leaves(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if not prefix and key == "channels":
            for ck, cv in (value or {}).items() if isinstance(value, Mapping) else []:
                cid = parse_chan_key(ck)
                out[f"channels.{_scid_key(cid) if cid else ck}"] = cv
            continue
        if isinstance(value, Mapping):
            out.update(_leaves(value, dotted + "."))
        else:
            out[dotted] = value
    return out


def _scid_key(chan_id: int) -> str:
    from mcp_optimizer.scid import scid_text

    return scid_text(chan_id)


def read_file(path: Path, origin: str) -> str:
    try:
        with path.open("rb") as fh:
            raw = fh.read(yaml_safe.MAX_BYTES + 1)
    except OSError as exc:
        raise PolicyError(f"{origin}: cannot read it: {exc.strerror or exc}") from None
    if len(raw) > yaml_safe.MAX_BYTES:
        raise PolicyError(
            f"{origin}: larger than the {yaml_safe.MAX_BYTES} bytes a policy may have")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise PolicyError(f"{origin}: not UTF-8 text") from None


@dataclass(frozen=True)
class Effective:
    """A loaded policy with where each value came from."""

    policy: Policy
    values: dict[str, Any]
    """Every leaf key's effective value (``channels.<scid>``: the whole override)."""
    sources: dict[str, str]
    """Every leaf key's source: default, file, page or environment."""
    page: dict[str, Any]
    """The page's layer (nested, as in its file)."""
    env_keys: dict[str, str]
    """Keys the environment sets -> the variable's name (the page cannot change them)."""
    file_path: Path | None


def page_text(layer: Mapping[str, Any]) -> str:
    """The page's layer as the YAML text of its file (keys sorted, stable)."""
    if not layer:
        return ""
    head = "# Written by the web page (mcp-optimizer); laid over the policy file.\n"
    return head + yaml.safe_dump(dict(layer), sort_keys=True, default_flow_style=False)


def parse_page_text(text: str) -> dict[str, Any]:
    return _parse_yaml(text, PAGE_ORIGIN) if text.strip() else {}


def load_layers(
    file_path: str | Path | None,
    page: Mapping[str, Any] | None,
    environ: Mapping[str, str] | None = None,
) -> Effective:
    """The layers merged and checked; :class:`PolicyError` (one line) when they cannot be."""
    environ = os.environ if environ is None else environ
    merged = _parse_yaml(default_policy_text(), "default policy")
    sources = dict.fromkeys(_leaves(merged), DEFAULT)
    origin = "default policy"
    fpath = Path(file_path) if file_path is not None else None
    if fpath is not None:
        origin = f"policy file {fpath}"
        layer = _parse_yaml(read_file(fpath, origin), origin)
        _merge(merged, layer, origin)
        sources.update(dict.fromkeys(_leaves(layer), FILE))
    if page:
        origin = f"{origin} with the {PAGE_ORIGIN}"
        _merge(merged, copy.deepcopy(dict(page)), PAGE_ORIGIN)
        sources.update(dict.fromkeys(_leaves(page), PAGE))
    env = _env_overlay(environ, copy.deepcopy(merged))
    env_keys: dict[str, str] = {}
    if env:
        origin = f"{origin} with MCP_POLICY__ environment overrides"
        _merge(merged, env, origin)
        for key in _leaves(env):
            env_keys[key] = "MCP_POLICY__" + "__".join(p.upper() for p in key.split("."))
            sources[key] = ENV
    policy = _convert(merged, origin)
    _check(policy, origin)
    return Effective(policy=policy, values=_leaves(merged), sources=sources,
                     page=dict(page or {}), env_keys=env_keys, file_path=fpath)


def load_page(data_dir: str | Path) -> dict[str, Any]:
    """The page's layer kept in the data directory ({} when there is none)."""
    path = page_path(data_dir)
    if not path.exists():
        return {}
    return parse_page_text(read_file(path, f"{PAGE_ORIGIN} ({path})"))


def load_effective(
    file_path: str | Path | None, data_dir: str | Path, environ: Mapping[str, str] | None = None
) -> Effective:
    """What the service runs with: the file, the page's layer kept in ``data_dir``, the
    environment."""
    return load_layers(file_path, load_page(data_dir), environ)


# ---------------------------------------------------------------------- editing the page layer
def parse_value(key: str, raw: Any) -> Any:
    """A value typed on the page: text is read as a YAML 1.2 scalar (as the environment's),
    anything else (JSON) taken as it is."""
    if not isinstance(raw, str):
        return raw
    try:
        return yaml_safe.load(raw)
    except yaml_safe.YAMLRefused as exc:
        raise PolicyError(f"{PAGE_ORIGIN}: key `{key}` refused: {exc}") from None
    except yaml.YAMLError:
        raise PolicyError(
            f"{PAGE_ORIGIN}: key `{key}` has value {quote(raw)}: not a YAML value"
        ) from None


def edit_layer(
    page: Mapping[str, Any], set_keys: Mapping[str, Any], unset: list[str],
    env_keys: Mapping[str, str],
) -> dict[str, Any]:
    """The page's layer with ``set_keys`` (dotted key -> value) set and ``unset`` removed.
    A key the environment sets is refused: the environment would win over the page."""
    layer = copy.deepcopy(dict(page))
    for key in [*set_keys, *unset]:
        if not key or len(key) > 200 or any(not p for p in key.split(".")):
            raise PolicyError(f"{PAGE_ORIGIN}: key `{key[:60]}` is not a policy key")
        if key in env_keys:
            raise PolicyError(
                f"{PAGE_ORIGIN}: key `{key}` is set by the environment ({env_keys[key]}), "
                "which wins over the page: change or remove that variable instead"
            )
    for key in unset:
        _remove(layer, key)
    for key, value in set_keys.items():
        parts = key.split(".")
        if parts[0] == "channels":
            if len(parts) != 2:
                raise PolicyError(
                    f"{PAGE_ORIGIN}: key `{key}`: set a channel's override whole, as "
                    "`channels.<scid>`"
                )
            chans = layer.setdefault("channels", {})
            if not isinstance(chans, dict):
                chans = layer["channels"] = {}
            cid = parse_chan_key(parts[1])
            for k in [k for k in chans if cid is not None and parse_chan_key(k) == cid]:
                del chans[k]
            chans[_scid_key(cid) if cid is not None else parts[1]] = parse_value(key, value)
            continue
        node = layer
        for part in parts[:-1]:
            nxt = node.get(part)
            if not isinstance(nxt, dict):
                nxt = node[part] = {}
            node = nxt
        node[parts[-1]] = parse_value(key, value)
    return layer


def _remove(layer: dict[str, Any], key: str) -> None:
    parts = key.split(".")
    if parts[0] == "channels" and len(parts) == 2:
        chans = layer.get("channels")
        if isinstance(chans, dict):
            cid = parse_chan_key(parts[1])
            for k in [k for k in chans if k == parts[1] or (cid and parse_chan_key(k) == cid)]:
                del chans[k]
            if not chans:
                del layer["channels"]
        return
    trail = []
    node: Any = layer
    for part in parts[:-1]:
        if not isinstance(node, dict) or part not in node:
            return
        trail.append((node, part))
        node = node[part]
    if isinstance(node, dict):
        node.pop(parts[-1], None)
    for parent, part in reversed(trail):  # drop sections left empty
        if parent[part] == {}:
            del parent[part]


def key_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """``(key, old YAML, new YAML)`` for each leaf that differs, in key order."""
    a, b = _leaves(old), _leaves(new)

    def text(v: Any) -> str:
        return yaml.safe_dump(v, default_flow_style=True).strip().removesuffix("...").strip()

    out = []
    for key in sorted(set(a) | set(b)):
        va = text(a[key]) if key in a else ""
        vb = text(b[key]) if key in b else ""
        if va != vb:
            out.append((key, va, vb))
    return out
