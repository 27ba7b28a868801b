"""The real simulator served over gRPC on loopback, with a log of the writes it applied.

``SimNode.writes`` records every policy the simulated node applied (wrapping the model's own
``set_local_policy``, which the gRPC servicer calls): what "the node changed" means when the
tests check that every change on the node is in the journal.
"""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

from lnd_sim_support import serve, settings

from mcp_optimizer.journal.states import policy_key
from mcp_optimizer.messages import ChannelPolicy
from mcp_optimizer.providers.lnd.client import LndClient
from mcp_optimizer.simulator.model import SimPolicy, SimulatedNode


class SimNode:
    def __init__(self, state_dir: Path, scenario: str = "demo"):
        self.model = SimulatedNode.from_scenario(scenario)
        self.writes: list[tuple[str, tuple]] = []
        self._lock = threading.Lock()
        original = self.model.set_local_policy

        def recording(channel_point: str, policy: SimPolicy) -> None:
            original(channel_point, policy)
            with self._lock:
                self.writes.append((channel_point, _sim_key(policy)))

        self._original = original
        self.model.set_local_policy = recording  # type: ignore[method-assign]
        self.server = serve(self.model, state_dir)
        self.client = LndClient(settings(self.server))

    def env(self) -> dict[str, str]:
        """``MCP_LND_*`` variables that point a subprocess at this node."""
        return {
            "MCP_LND_HOST": self.server.address,
            "MCP_LND_TLS_CERT": str(self.server.tls_cert_path),
            "MCP_LND_MACAROON": str(self.server.admin_macaroon_path),
        }

    def by_hand(self, channel_point: str, fee_rate_ppm: int) -> None:
        """Someone else changes our policy on the node (not through this service)."""
        ch = next(c for c in self.model.channels() if c.channel_point == channel_point)
        self._original(
            channel_point, dataclasses.replace(ch.local_policy, fee_rate_ppm=fee_rate_ppm)
        )

    def policies(self) -> dict[int, tuple]:
        return {c.chan_id: _sim_key(c.local_policy) for c in self.model.channels()}

    def close(self) -> None:
        self.client.close()
        self.server.stop()


def _sim_key(p: SimPolicy) -> tuple:
    return (
        p.base_fee_msat, p.fee_rate_ppm, p.inbound_base_fee_msat, p.inbound_fee_rate_ppm,
        p.time_lock_delta, p.min_htlc_msat, p.max_htlc_msat,
    )


def key(p: ChannelPolicy) -> tuple:
    return policy_key(p)
