"""The SDK's low-level MCP server over the tools of ``tools.py``.

Tool list: each tool's name, description, input schema (its arguments' JSON Schema, with each
argument's description) and output schema. A call's arguments are decoded strictly
(``msgspec.convert``): a missing, unknown or mistyped argument, or a value out of range, is a
tool error naming it, as is a :class:`~mcp_optimizer.mcp.tools.ToolRefused`; the result is the
tool's output as structured content, and the same JSON as text. An unexpected exception in a
tool is logged and answered as a tool error naming its type; the server goes on.
"""

from __future__ import annotations

from typing import Any

import mcp_types as types
import msgspec
from loguru import logger
from mcp.server import Server
from mcp.server.context import ServerRequestContext

from mcp_optimizer.messages.dictionary import attribute_docs

from .tools import Backend, Tool, ToolRefused, catalogue

NAME = "mcp-lightning-optimizer"
INSTRUCTIONS = (
    "Tools of a fee autopilot for an LND Lightning node. Read tools explain what it decided and "
    "why (explain_channel), what changed (history), what it would do next (next_cycle). Times "
    "are Unix seconds of the node's clock; channels are short channel ids (BLOCKxTXxOUTPUT). "
    "Fees: fee_rate_ppm is parts per million, base_fee_msat millisatoshis."
)
_enc = msgspec.json.Encoder()


def object_schema(tp: Any) -> dict[str, Any]:
    """``tp``'s JSON Schema with the object at the root (MCP asks ``type: object`` there) and
    the types it refers to under ``$defs``."""
    (ref,), defs = msgspec.json.schema_components([tp], ref_template="#/$defs/{name}")
    name = ref["$ref"].rsplit("/", 1)[-1]
    root = dict(defs.pop(name))
    if defs:
        root["$defs"] = defs
    return root


def input_schema(args: type) -> dict[str, Any]:
    schema = object_schema(args)
    docs = attribute_docs(args)
    for key, prop in schema.get("properties", {}).items():
        if key in docs:
            prop["description"] = docs[key]
    schema.pop("title", None)
    return schema


def describe(tool: Tool) -> types.Tool:
    return types.Tool(
        name=tool.name, description=tool.description, input_schema=input_schema(tool.args),
        output_schema=object_schema(tool.result),
        annotations=types.ToolAnnotations(read_only_hint=not tool.acts,
                                          destructive_hint=tool.acts, open_world_hint=False),
    )


def _error(text: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)],
                                is_error=True)


async def call(tools: dict[str, Tool], backend: Backend, name: str,
               arguments: dict[str, Any] | None) -> types.CallToolResult:
    """One tool call, never raising: the result, or a tool error in one sentence."""
    tool = tools.get(name)
    if tool is None:
        offered = ", ".join(sorted(tools))
        return _error(f"no tool {name[:60]!r} here (offered: {offered}; acting tools need "
                      "MCP_MCP_ACTIONS=true on the service)")
    try:
        args = msgspec.convert(arguments or {}, tool.args, strict=True)
    except msgspec.ValidationError as exc:
        return _error(f"bad arguments for {name}: {exc}")
    try:
        result = await tool.fn(backend, args)
    except ToolRefused as exc:
        return _error(str(exc))
    except Exception as exc:  # noqa: BLE001 - a tool's failure is the caller's answer
        logger.opt(exception=exc).error("MCP tool {} failed: {}: {}", name,
                                        type(exc).__name__, exc)
        return _error(f"{name} failed: {type(exc).__name__} (logged by the service)")
    data = msgspec.to_builtins(result)
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=_enc.encode(data).decode())],
        structured_content=data,
    )


def build_server(backend: Backend, actions: bool) -> Server[Any]:
    """The MCP server offering the read tools, and the acting tools when ``actions``."""
    offered = catalogue(actions)
    tools = {t.name: t for t in offered}
    listed = [describe(t) for t in offered]

    async def on_list_tools(ctx: ServerRequestContext[Any],
                            params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
        return types.ListToolsResult(tools=listed)

    async def on_call_tool(ctx: ServerRequestContext[Any],
                           params: types.CallToolRequestParams) -> types.CallToolResult:
        return await call(tools, backend, params.name, params.arguments)

    from importlib.metadata import PackageNotFoundError, version

    try:
        ours = version("mcp-lightning-optimizer")
    except PackageNotFoundError:  # pragma: no cover - a source tree never installed
        ours = "0"
    return Server(NAME, version=ours, instructions=INSTRUCTIONS, on_list_tools=on_list_tools,
                  on_call_tool=on_call_tool)
