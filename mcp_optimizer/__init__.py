"""MCP Lightning Optimizer: a supervised, journaled fee autopilot for LND nodes."""

__version__ = "0.1.0"
