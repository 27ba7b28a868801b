"""Shared set-up for the gRPC tests: a simulated node served on loopback, and raw stubs."""

from __future__ import annotations

from pathlib import Path

import grpc

from mcp_optimizer.providers.lnd.gen import lightning_pb2_grpc, router_pb2_grpc
from mcp_optimizer.providers.lnd.settings import LndSettings
from mcp_optimizer.simulator.grpc import RunningServer, start_server
from mcp_optimizer.simulator.model import SimulatedNode

BIG_SCENARIO = """\
seed: 7
start: 2026-01-01T00:00:00Z
history_days: 30
graph:
  source: synthetic
  nodes: 300
groups:
  - profile: star
    count: 6
    forwards_per_day: 400
  - profile: balanced
    count: 4
    forwards_per_day: 200
"""
"""A node with more than 50,000 forwards in its 30-day history (builds in a fraction of a s)."""


def serve(node: SimulatedNode, state_dir: Path) -> RunningServer:
    return start_server(node, "127.0.0.1:0", state_dir)


def serve_big(tmp_path_factory) -> tuple[SimulatedNode, RunningServer]:
    """The :data:`BIG_SCENARIO` node, served on loopback."""
    path = tmp_path_factory.mktemp("big") / "big.yml"
    path.write_text(BIG_SCENARIO)
    node = SimulatedNode.from_scenario(str(path))
    return node, serve(node, tmp_path_factory.mktemp("bigstate"))


def settings(server: RunningServer, *, readonly: bool = False, **kw) -> LndSettings:
    return LndSettings(
        host=server.address,
        tls_cert_path=server.tls_cert_path,
        macaroon_path=server.readonly_macaroon_path if readonly else server.admin_macaroon_path,
        **kw,
    )


class Raw:
    """Generated stubs on a TLS channel to the server, with a chosen macaroon (or none)."""

    def __init__(self, server: RunningServer, macaroon: bytes | None) -> None:
        creds = grpc.ssl_channel_credentials(server.tls_cert_path.read_bytes())
        self.channel = grpc.secure_channel(
            server.address, creds, [("grpc.max_receive_message_length", 256 * 1024 * 1024)]
        )
        self.ln = lightning_pb2_grpc.LightningStub(self.channel)
        self.router = router_pb2_grpc.RouterStub(self.channel)
        self.metadata = () if macaroon is None else (("macaroon", macaroon.hex()),)

    def call(self, name: str, request, *, router: bool = False):
        stub = self.router if router else self.ln
        return getattr(stub, name)(request, metadata=self.metadata, timeout=30)

    def close(self) -> None:
        self.channel.close()


def ingestion_supervisor(client, failures):
    """The ``lnd`` actor (over ``client``, keeping ``failures``) and the ingestion actor under a
    started supervisor, as the service wires them; the caller stops it."""
    from mcp_optimizer.actors.pipeline import IngestionActor
    from mcp_optimizer.actors.providers import LndActor
    from mcp_optimizer.providers.lnd.errors import LndError
    from mcp_optimizer.supervisor import ChildSpec, Supervisor

    sup = Supervisor([
        ChildSpec(name="lnd", factory=lambda ctx: LndActor.start(
            ctx, client, failures, expected_errors=(LndError,))),
        ChildSpec(name="ingestion", factory=lambda ctx: IngestionActor.start(ctx)),
    ])
    sup.start()
    return sup
