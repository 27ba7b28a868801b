"""Verb ``schema``: write one JSON Schema per message type."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import msgspec

from mcp_optimizer.messages.dictionary import message_types

from .main import CliError


def cmd_schema(args: argparse.Namespace) -> int:
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CliError(f"cannot create {out}: {exc.strerror or exc}", status=1) from None
    count = 0
    for cls in message_types():
        schema = msgspec.json.schema(cls)
        (out / f"{cls.__name__}.schema.json").write_text(
            json.dumps(schema, indent=2, sort_keys=True) + "\n", "utf-8"
        )
        count += 1
    print(f"wrote {count} JSON Schemas to {out}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("schema", help="write a JSON Schema per message type")
    p.add_argument("--out", required=True, help="directory to write the schemas into")
    p.set_defaults(func=cmd_schema)
