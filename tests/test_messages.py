"""The data dictionary: strict, frozen, no optional field, documented, schema per type."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import typing
from pathlib import Path

import msgspec
import pytest
from builders import snapshot

from mcp_optimizer.messages import ChannelSnapshot, UptimeUnknown
from mcp_optimizer.messages.dictionary import (
    attribute_docs,
    message_types,
    render,
    undocumented,
)

ROOT = Path(__file__).resolve().parent.parent
STRUCTS = [t for t in message_types() if issubclass(t, msgspec.Struct)]


def test_every_message_is_frozen_and_strict():
    assert len(STRUCTS) >= 10
    for cls in STRUCTS:
        cfg = cls.__struct_config__
        assert cfg.frozen, cls
        assert cfg.forbid_unknown_fields, cls


def _contains_none(tp) -> bool:
    if tp is type(None):
        return True
    return any(_contains_none(a) for a in typing.get_args(tp))


STORED_LATER_FIELDS = {"Decision": ("override",)}
"""Fields added to a type the journal stores after records of it were written: a default lets
older journals be read (nothing else may have one)."""


def test_no_optional_field_anywhere():
    for cls in STRUCTS:
        for name, tp in typing.get_type_hints(cls).items():
            assert not _contains_none(tp), f"{cls.__name__}.{name} admits None"
        fields = cls.__struct_fields__[len(cls.__struct_fields__) - len(cls.__struct_defaults__):]
        defaulted = {f for f, d in zip(fields, cls.__struct_defaults__, strict=True)
                     if d is not msgspec.NODEFAULT}
        assert defaulted <= set(STORED_LATER_FIELDS.get(cls.__name__, ())), (
            f"{cls.__name__} has defaults: {sorted(defaulted)}"
        )


def test_money_fields_are_integers():
    for cls in STRUCTS:
        for name, tp in typing.get_type_hints(cls).items():
            if name.endswith(("_msat", "_sat", "_ppm", "_s")):
                assert tp is int, f"{cls.__name__}.{name} is {tp}, not int"


def test_unknown_field_refused_and_roundtrip():
    raw = msgspec.json.encode(snapshot())
    assert msgspec.json.decode(raw, type=ChannelSnapshot) == snapshot()
    data = json.loads(raw)
    data["channel"]["surprise"] = 1
    with pytest.raises(msgspec.ValidationError, match="surprise"):
        msgspec.json.decode(json.dumps(data), type=ChannelSnapshot)


def test_unknown_is_explicit_tagged_value():
    data = json.loads(msgspec.json.encode(snapshot()))
    data["channel"]["peer"]["uptime"] = {"type": "UptimeUnknown", "reason": "never seen"}
    s = msgspec.json.decode(json.dumps(data), type=ChannelSnapshot)
    assert s.channel.peer.uptime == UptimeUnknown(reason="never seen")
    data["channel"]["peer"]["uptime"] = None
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(json.dumps(data), type=ChannelSnapshot)


def test_every_field_is_documented_and_the_doc_is_current():
    assert undocumented() == []
    doc = (ROOT / "docs" / "data-dictionary.md").read_text()
    assert doc == render(), "docs/data-dictionary.md drifted: run scripts/gen_data_dictionary.py"
    for cls in STRUCTS:
        assert f"## {cls.__name__}\n" in doc
        for field in cls.__struct_fields__:
            assert f"| `{field}` |" in doc, f"{cls.__name__}.{field} missing from the doc"


def test_schema_command_writes_one_schema_per_type(tmp_path):
    out = tmp_path / "schemas"
    r = subprocess.run(
        [sys.executable, "-m", "mcp_optimizer", "schema", "--out", str(out)],
        capture_output=True, text=True, check=False,
    )
    assert r.returncode == 0, r.stderr
    files = sorted(p.name for p in out.iterdir())
    assert files == sorted(f"{t.__name__}.schema.json" for t in message_types())
    schema = json.loads((out / "ChannelSnapshot.schema.json").read_text())
    assert "ChannelSnapshot" in schema["$defs"]
    assert schema["$defs"]["Channel"]["additionalProperties"] is False


# A scalar field whose docstring gives 0 or an empty string a meaning of its own ("0 when
# none", "empty otherwise", "0 while it is not") is a sentinel: the dictionary forbids them.
# Where "none" or "unknown" is a real state, the type says so (a tagged union, see LastChange).
_SENTINEL = re.compile(
    r"\b(?:0|zero|empty(?: string)?|``\"\"``)\s*"
    r"(?:when|while|if|until|unless|otherwise|for|means|[:=]\s*(?:none|no|not|unknown|never))\b",
    re.IGNORECASE,
)
_SCALARS = (int, float, str, bool)


def sentinel_docstrings() -> list[str]:
    """``Type.field: docstring`` for each scalar field documented with a sentinel value."""
    found = []
    for cls in STRUCTS:
        hints = typing.get_type_hints(cls)
        for name, doc in attribute_docs(cls).items():
            if hints.get(name) in _SCALARS and _SENTINEL.search(doc):
                found.append(f"{cls.__name__}.{name}: {doc}")
    return found


def test_the_sentinel_check_finds_sentinels():
    for text in ("The decision it comes from; 0 when it does not come from a decision.",
                 "When it was acknowledged; 0 while it is not.",
                 "Why writes are not allowed (empty when they are).",
                 "LND's failure detail for failures, empty otherwise.",
                 "The incoming channel (0 for a payment we sent)."):
        assert _SENTINEL.search(text), text
    for text in ("The alias it announces (may be empty).", "Value between 0 and 1.",
                 "1 for the most central node of the graph."):
        assert not _SENTINEL.search(text), text


def test_no_field_gives_zero_or_empty_a_meaning_of_none():
    assert sentinel_docstrings() == []
