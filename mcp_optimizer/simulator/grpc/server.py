"""Start and stop the simulator's gRPC server (TLS, macaroons, LND's services)."""

from __future__ import annotations

from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from mcp_optimizer.providers.lnd.gen import (
    lightning_pb2_grpc,
    router_pb2_grpc,
    walletkit_pb2_grpc,
)
from mcp_optimizer.simulator.model import SimulatedNode

from .chain import WalletKitServicer
from .credentials import Credentials, ensure_credentials
from .servicer import Auth, LightningServicer, RouterServicer, Streams

MAX_MESSAGE_BYTES = 512 * 1024 * 1024
"""Largest message sent or accepted: a mainnet DescribeGraph is tens of MB."""
WORKERS = 32


class ServerStartError(Exception):
    """The server could not listen where asked."""


@dataclass
class RunningServer:
    """A started simulator server. ``stop()`` ends open streams and frees the port."""

    host: str
    port: int
    credentials: Credentials
    _server: grpc.Server = field(repr=False)
    _streams: Streams = field(repr=False)
    _stopped: bool = field(default=False, repr=False)

    @property
    def address(self) -> str:
        """``host:port`` to give a client."""
        return f"{self.host}:{self.port}"

    @property
    def tls_cert_path(self) -> Path:
        return self.credentials.tls_cert_path

    @property
    def admin_macaroon_path(self) -> Path:
        return self.credentials.admin_macaroon_path

    @property
    def readonly_macaroon_path(self) -> Path:
        return self.credentials.readonly_macaroon_path

    def stop(self, grace_s: float = 1.0) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._streams.close_all()
        self._server.stop(grace_s).wait(grace_s + 5)

    def wait(self, timeout_s: float | None = None) -> bool:
        """Block until the server stops (True) or the timeout passes (False)."""
        return self._server.wait_for_termination(timeout_s)


def start_server(node: SimulatedNode, listen: str, state_dir: Path) -> RunningServer:
    """Serve ``node`` over TLS on ``listen`` (``host:port``, port 0 picks a free one).

    Writes (or reuses) ``tls.cert``, ``tls.key``, ``admin.macaroon`` and
    ``readonly.macaroon`` in ``state_dir``.
    """
    host, sep, port_text = listen.rpartition(":")
    if not sep or not host or not port_text.isdigit():
        raise ServerStartError(f"listen address {listen!r} is not HOST:PORT")
    creds = ensure_credentials(Path(state_dir))
    streams = Streams()
    lightning = LightningServicer(node, Auth(creds.macaroons), streams)
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="sim-grpc"),
        options=[
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.so_reuseport", 0),
        ],
    )
    lightning_pb2_grpc.add_LightningServicer_to_server(lightning, server)
    router_pb2_grpc.add_RouterServicer_to_server(RouterServicer(lightning), server)
    walletkit_pb2_grpc.add_WalletKitServicer_to_server(
        WalletKitServicer(node, lightning.auth), server
    )
    server_creds = grpc.ssl_server_credentials([(creds.key_pem, creds.cert_pem)])
    try:
        port = server.add_secure_port(listen, server_creds)
    except RuntimeError as exc:
        raise ServerStartError(f"cannot listen on {listen}: {exc}") from exc
    if port == 0:
        raise ServerStartError(f"cannot listen on {listen} (address in use or not local)")
    server.start()
    return RunningServer(
        host=host.strip("[]"), port=port, credentials=creds, _server=server, _streams=streams
    )
