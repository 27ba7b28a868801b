"""The running service: scheduler, control socket, and ``mcp-optimizer run``."""
