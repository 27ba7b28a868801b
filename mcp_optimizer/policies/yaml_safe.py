"""A YAML reader for operator files, with limits: what the policy needs and nothing more.

PyYAML's ``safe_load`` reads YAML 1.1 with no limits: aliases expand without bound (a 480-byte
"billion laughs" value takes gigabytes), nesting recurses until Python's stack gives out,
a key given twice silently keeps the last value, and scalars mean what YAML 1.1 says (``0600``
is the octal 384, ``1:30`` is 90 in base 60, ``on`` is true). This reader:

* refuses a document over :data:`MAX_BYTES` bytes or nested deeper than :data:`MAX_DEPTH`;
* refuses aliases (``*name``), merge keys and explicit tags (``!!...``): a policy needs none;
* refuses a key given twice in one mapping (scalar, section or nested), and non-string keys;
* reads scalars by the YAML 1.2 core schema (``true``/``false``, ``null``/``~``, decimal,
  ``0x``/``0o`` integers, floats with ``.inf``/``.nan``), and refuses as ambiguous every plain
  scalar that YAML 1.1 reads otherwise: ``0600`` (leading zero), ``1:30`` (base 60), ``1_000``
  (underscores), ``0b101``, ``yes``/``no``/``on``/``off``. Quote it to mean the text.

Errors are :class:`YAMLRefused` with one line naming the line and column; every value quoted
in them is cut to :data:`QUOTE_CHARS` characters.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

MAX_BYTES = 256 * 1024
"""Largest document read (the shipped policy is about 4 KiB)."""

MAX_DEPTH = 16
"""Deepest nesting of mappings and sequences (the policy has 3 levels)."""

QUOTE_CHARS = 40
"""How much of a value an error message quotes."""

AMBIGUOUS_TAG = "tag:mcp-optimizer,2026:ambiguous"


class YAMLRefused(ValueError):
    """A document refused by a limit or a rule of this reader (not a syntax error)."""


def quote(value: object, limit: int = QUOTE_CHARS) -> str:
    """``repr(value)`` cut to ``limit`` characters, without building a huge repr first."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        return f"<an integer of {value.bit_length()} bits>"
    if isinstance(value, (dict, list, tuple, set)) and len(value) > limit:
        return f"<a {type(value).__name__} of {len(value)} items>"
    if isinstance(value, str) and len(value) > limit:
        value = value[:limit]
    try:
        text = repr(value)
    except RecursionError:
        return f"<a deeply nested {type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _where(mark: yaml.Mark | None) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "?"


_AMBIGUOUS = [
    (re.compile(r"^[-+]?0[0-9_]+$"),
     "a number with a leading zero (YAML 1.1 reads 0600 as the octal 384, YAML 1.2 as 600): "
     "write it without the zero, or 0o600 for octal"),
    (re.compile(r"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$"),
     "a base-60 number (YAML 1.1 reads 1:30 as 90, YAML 1.2 as text): write the number of "
     "seconds"),
    (re.compile(
        r"^[-+]?(?:[0-9]*_[0-9_]*(?:\.[0-9_]*)?|[0-9]*\.[0-9]*_[0-9_]*)(?:[eE][-+]?[0-9]+)?$"),
     "a number with underscores (YAML 1.1 drops them, YAML 1.2 reads text): write the digits "
     "alone"),
    (re.compile(r"^[-+]?0b[01_]+$"),
     "a binary number (YAML 1.1 only): write it in decimal"),
    (re.compile(r"^(?:yes|Yes|YES|no|No|NO|on|On|ON|off|Off|OFF|y|Y|n|N)$"),
     "a YAML 1.1 boolean (YAML 1.2 reads it as text): write true or false"),
]


class _Loader(yaml.SafeLoader):
    """SafeLoader with the YAML 1.2 core schema's resolvers and the limits above."""

    yaml_implicit_resolvers: dict = {}

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):  # noqa: ANN001 - PyYAML's signature
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            raise YAMLRefused(f"{_where(event.start_mark)}: aliases (*{event.anchor}) are not "
                              "accepted: write the value out")
        tag = getattr(event, "tag", None)
        if tag not in (None, "!"):
            raise YAMLRefused(f"{_where(event.start_mark)}: explicit tags ({quote(tag)}) are "
                              "not accepted")
        nesting = isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent))
        if nesting:
            self._depth += 1
            if self._depth > MAX_DEPTH:
                raise YAMLRefused(f"{_where(event.start_mark)}: nested deeper than "
                                  f"{MAX_DEPTH} levels")
        try:
            return super().compose_node(parent, index)
        finally:
            if nesting:
                self._depth -= 1

    def construct_mapping(self, node, deep=False):  # noqa: ANN001 - PyYAML's signature
        if not isinstance(node, yaml.MappingNode):
            return super().construct_mapping(node, deep=deep)
        mapping: dict[str, Any] = {}
        first: dict[str, yaml.Mark] = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, str):
                raise YAMLRefused(f"{_where(key_node.start_mark)}: key {quote(key)} is not a "
                                  "name: keys are plain words")
            if key in mapping:
                raise YAMLRefused(
                    f"{_where(key_node.start_mark)}: key `{quote(key)[1:-1]}` appears twice "
                    f"in the same mapping (first at {_where(first[key])}): keep one"
                )
            first[key] = key_node.start_mark
            mapping[key] = self.construct_object(value_node, deep=deep)
        return mapping

    def construct_ambiguous(self, node):  # noqa: ANN001 - PyYAML's signature
        text = node.value
        why = next((w for p, w in _AMBIGUOUS if p.match(text)), "ambiguous")
        raise YAMLRefused(f"{_where(node.start_mark)}: {quote(text)} is ambiguous, {why} "
                          "(or quote it to mean the text)")


def _resolver(tag: str, pattern: str, first: str) -> None:
    _Loader.add_implicit_resolver(tag, re.compile(pattern, re.X), list(first))


_DIGITS = "-+0123456789."
# Order matters: PyYAML takes the first pattern that matches, so ambiguity comes first.
for _pattern, _ in _AMBIGUOUS:
    _Loader.add_implicit_resolver(AMBIGUOUS_TAG, _pattern, list(_DIGITS + "yYnNoO"))
_resolver("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF")
_resolver("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""])
_resolver("tag:yaml.org,2002:int", r"^(?:[-+]?(?:0|[1-9][0-9]*)|0o[0-7]+|0x[0-9a-fA-F]+)$",
          "-+0123456789")
_resolver(
    "tag:yaml.org,2002:float",
    r"""^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$""",
    _DIGITS,
)
_Loader.add_constructor(AMBIGUOUS_TAG, _Loader.construct_ambiguous)


def _construct_int(loader: _Loader, node: yaml.ScalarNode) -> int:
    text = loader.construct_scalar(node)
    sign = -1 if text.startswith("-") else 1
    body = text.lstrip("+-")
    if body.startswith("0o"):
        return sign * int(body[2:], 8)
    if body.startswith("0x"):
        return sign * int(body[2:], 16)
    if len(body) > 100:
        raise YAMLRefused(f"{_where(node.start_mark)}: an integer of {len(body)} digits")
    return sign * int(body)


def _construct_float(loader: _Loader, node: yaml.ScalarNode) -> float:
    text = loader.construct_scalar(node).lower()
    if text.endswith(".inf"):
        return float("-inf") if text.startswith("-") else float("inf")
    if text == ".nan":
        return float("nan")
    return float(text)


_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)
_Loader.add_constructor("tag:yaml.org,2002:float", _construct_float)
# A null resolver must also match the empty plain scalar: PyYAML looks resolvers up by the
# first character, and an empty value has none (the "" key above covers it).


def load(text: str) -> Any:
    """The document in ``text``: :class:`YAMLRefused` for what the rules above refuse,
    ``yaml.YAMLError`` for a syntax error."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_BYTES:
        raise YAMLRefused(f"{size} bytes, more than the {MAX_BYTES} bytes a policy may have")
    loader = _Loader(text)
    try:
        return loader.get_single_data()
    except RecursionError:  # pragma: no cover - the depth limit comes first
        raise YAMLRefused(f"nested deeper than {MAX_DEPTH} levels") from None
    finally:
        loader.dispose()
