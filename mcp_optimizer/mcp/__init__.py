"""The Model Context Protocol tool server (issue 14): the service's read tools, and its acting
tools when the operator enables them, for an assistant.

- ``tools.py``: the tools, functions over the journal and the service's control surface
  (:class:`~mcp_optimizer.mcp.tools.Backend`), typed inputs and outputs (``models.py``, made
  of ``mcp_optimizer.messages`` types where they exist).
- ``server.py``: the SDK's low-level server serving those tools (inputs decoded with msgspec: a
  bad argument is a tool error naming it, never a crash).
- ``http.py``: the streamable HTTP transport at ``/mcp`` on the service's HTTP port, behind a
  bearer token of its own (``settings.py``: ``MCP_MCP_TOKEN`` or ``<data dir>/mcp-token``).
- ``stdio.py``: ``mcp-optimizer mcp``, the same tools over stdio, relayed to the running
  service's ``/mcp`` (so acts are journaled ``by: mcp`` by the service itself).

See docs/mcp.md.
"""
