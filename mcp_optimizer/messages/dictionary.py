"""The data dictionary, rendered from the message types and their attribute docstrings.

Used by ``scripts/gen_data_dictionary.py`` (writes docs/data-dictionary.md), by
``mcp-optimizer schema`` (JSON Schema per type) and by the test that keeps the doc in step.
"""

from __future__ import annotations

import ast
import enum
import inspect
import typing

import msgspec

from . import base


def message_types() -> list[type]:
    """Every Struct and Enum exported by ``mcp_optimizer.messages``, by name."""
    from mcp_optimizer import messages

    found = []
    for name in sorted(messages.__all__):
        obj = getattr(messages, name)
        if inspect.isclass(obj) and obj not in (base.Message, base.TaggedMessage):
            if issubclass(obj, msgspec.Struct | enum.Enum):
                found.append(obj)
    return found


def union_aliases() -> dict[str, object]:
    """Exported names that stand for a tagged union (``Uptime = UptimeKnown | UptimeUnknown``)."""
    from mcp_optimizer import messages

    return {
        name: getattr(messages, name)
        for name in sorted(messages.__all__)
        if isinstance(getattr(messages, name), typing.types.UnionType)
    }


def attribute_docs(cls: type) -> dict[str, str]:
    """Field (or enum member) name -> the docstring written right under it in the class
    body."""
    tree = ast.parse(inspect.getsource(cls))
    body = tree.body[0].body  # type: ignore[attr-defined]
    docs: dict[str, str] = {}
    for prev, node in zip(body, body[1:], strict=False):
        target = (
            prev.target if isinstance(prev, ast.AnnAssign)
            else prev.targets[0] if isinstance(prev, ast.Assign)
            else None
        )
        if (
            isinstance(target, ast.Name)
            and isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            docs[target.id] = " ".join(node.value.value.split())
    return docs


def _type_name(tp: object) -> str:
    text = getattr(tp, "__name__", None) if not typing.get_args(tp) else None
    if text:
        return text
    return str(tp).replace("typing.", "").replace("mcp_optimizer.messages.", "")


def _short(tp: object) -> str:
    text = _type_name(tp)
    for mod in ("domain.", "decision.", "base."):
        text = text.replace(mod, "")
    import re

    return re.sub(r"mcp_optimizer\.messages\.\w+\.", "", text)


def render() -> str:
    lines = [
        "# Data dictionary",
        "",
        "Generated from `mcp_optimizer/messages/` by `python scripts/gen_data_dictionary.py`;",
        "a test fails when this file and the types drift. Every message is a frozen msgspec",
        "Struct that refuses unknown fields. No field is optional: where a fact can be unknown,",
        "its type is a tagged union with an explicit *unknown* member (JSON field `type` names",
        "the member). Units are in the names: `_msat`, `_sat`, `_ppm`, `_s` (seconds), `_at_s`",
        "(Unix time in seconds). Amounts are integers.",
        "",
    ]
    aliases = union_aliases()
    if aliases:
        lines += ["## Tagged unions", "", "| name | members |", "| --- | --- |"]
        for name, tp in aliases.items():
            members = ", ".join(f"`{m.__name__}`" for m in typing.get_args(tp))
            lines.append(f"| `{name}` | {members} |")
        lines.append("")
    for cls in message_types():
        doc = " ".join((inspect.getdoc(cls) or "").split())
        lines += [f"## {cls.__name__}", "", doc, ""]
        if issubclass(cls, enum.Enum):
            lines += ["| value | meaning |", "| --- | --- |"]
            member_docs = attribute_docs(cls)
            for member in cls:
                lines.append(f"| `{member.value}` | {member_docs.get(member.name, '')} |")
        else:
            fdocs = attribute_docs(cls)
            hints = typing.get_type_hints(cls)
            lines += ["| field | type | meaning |", "| --- | --- | --- |"]
            for field in cls.__struct_fields__:
                lines.append(
                    f"| `{field}` | `{_short(hints[field])}` | {fdocs.get(field, '')} |"
                )
        lines.append("")
    return "\n".join(lines)


def undocumented() -> list[str]:
    """``Type.field`` for every field (and enum member) without a docstring."""
    missing = []
    for cls in message_types():
        docs = attribute_docs(cls)
        names = [m.name for m in cls] if issubclass(cls, enum.Enum) else cls.__struct_fields__
        missing += [f"{cls.__name__}.{n}" for n in names if not docs.get(n)]
    return missing
