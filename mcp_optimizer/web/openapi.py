"""The OpenAPI 3.1 document of ``/api/v1/``, generated from the operations table of
``routes.py`` and the msgspec types of ``models.py`` (served at ``/api/v1/openapi.json``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec

from . import models as m

ERROR_CODES = {
    "400": "Bad input: nothing was changed",
    "401": "An access token is required (MCP_WEB_TOKEN)",
    "403": "Missing or wrong CSRF token, or a request from another site",
    "404": "Not found",
    "409": "Refused by the service (the message says why); nothing was changed",
    "413": "Body too large",
    "415": "Not a JSON body",
    "503": "The service part this needs is not available",
}


@dataclass(frozen=True)
class Param:
    name: str
    schema: dict[str, Any]
    description: str
    where: str = "query"
    required: bool = False


@dataclass(frozen=True)
class Op:
    method: str
    path: str
    summary: str
    response: Any
    body: Any = None
    params: tuple[Param, ...] = field(default_factory=tuple)
    errors: tuple[str, ...] = ("400", "401")


def document(ops: list[Op]) -> dict[str, Any]:
    types = {m.ApiError}
    for op in ops:
        types.add(op.response)
        if op.body is not None:
            types.add(op.body)
    ordered = sorted(types, key=lambda t: getattr(t, "__name__", None) or repr(t))
    schemas, components = msgspec.json.schema_components(
        ordered, ref_template="#/components/schemas/{name}")
    by_type = dict(zip(ordered, schemas, strict=True))
    paths: dict[str, dict[str, Any]] = {}
    for op in ops:
        responses: dict[str, Any] = {
            "200": {"description": "OK",
                    "content": {"application/json": {"schema": by_type[op.response]}}},
        }
        errors = set(op.errors)
        if op.method == "post":
            errors |= {"400", "403", "409", "413", "415"}
        for code in sorted(errors):
            responses[code] = {
                "description": ERROR_CODES[code],
                "content": {"application/json": {"schema": by_type[m.ApiError]}},
            }
        entry: dict[str, Any] = {
            "summary": op.summary,
            "operationId": (op.method + op.path.replace("/api/v1", "").replace("/", "_")
                            .replace("{", "").replace("}", "").replace("-", "_")),
            "responses": responses,
        }
        if op.params:
            entry["parameters"] = [
                {"name": p.name, "in": p.where, "required": p.required or p.where == "path",
                 "description": p.description, "schema": p.schema}
                for p in op.params
            ]
        if op.body is not None:
            entry["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": by_type[op.body]}},
            }
            entry["parameters"] = [*entry.get("parameters", []), {
                "name": "X-CSRF-Token", "in": "header", "required": True,
                "description": "The token of GET /api/v1/csrf", "schema": {"type": "string"},
            }]
        paths.setdefault(op.path, {})[op.method] = entry
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "MCP Lightning Optimizer control room API",
            "version": "1",
            "description": (
                "Everything the web page shows and does. Reads are GET; every act is a POST "
                "with a JSON body and the X-CSRF-Token header, goes through the same path as "
                "the CLI and the control socket (journaled as by: web) and returns the "
                "journaled record. Bad input gets a 4xx with a one-line message and changes "
                "nothing."),
        },
        "paths": paths,
        "components": {"schemas": components},
    }
