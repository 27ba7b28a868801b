"""The simulated node on LND's gRPC wire: ``start_server(node, listen, state_dir)``."""

from .server import RunningServer, ServerStartError, start_server

__all__ = ["RunningServer", "ServerStartError", "start_server"]
