"""mempool.space's Lightning REST API: a peer's node record and the network's statistics.

No key is needed. The base URL is a setting (``MCP_MEMPOOL_URL``) so that an operator can use
the mempool app on their own Umbrel (``http://umbrel.local:3006``) instead of mempool.space,
or turn mempool off (``MCP_MEMPOOL_URL=off``: no peer key is ever sent to it).

Endpoints and fields (checked against mempool's backend, ``backend/src/api/explorer/``):

- ``GET /api/v1/lightning/nodes/{pubkey}``: ``public_key``, ``alias``, ``capacity`` (sum of
  the active channels' capacities; MySQL sends this DECIMAL sum as a *string*, e.g.
  ``"31505027"``, so a decimal string is accepted as well as an integer),
  ``active_channel_count``, ``opened_channel_count``, ``closed_channel_count``,
  ``first_seen`` and ``updated_at`` (Unix seconds). An unknown node is a 404 in current
  versions (older ones answered 500, which is retried and then reported as unavailable).
- ``GET /api/v1/lightning/statistics/latest``: ``{"latest": {...}, "previous": {...}}``;
  ``latest`` has ``added`` (when the daily statistics were computed: an ISO 8601 time, or
  Unix seconds), ``node_count``, ``channel_count``, ``total_capacity``, ``avg_capacity``,
  ``med_capacity``, ``avg_fee_rate``, ``med_fee_rate`` (ppm), ``avg_base_fee_mtokens``,
  ``med_base_fee_mtokens`` (msat).

Every field used is required and type-checked; other fields are ignored.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import msgspec

from mcp_optimizer.messages import NetworkStatsKnown, NodeRecordKnown

from .http import ProviderHttpClient, ProviderMetrics, ProviderSettings
from .http.errors import ProviderParseError
from .http.parsing import AwareDatetime, NonNegInt, check_pubkey, decode_strict, sat_amount

SOURCE = "mempool"


class _NodeWire(msgspec.Struct):
    public_key: str
    alias: str
    capacity: NonNegInt | str
    active_channel_count: NonNegInt
    opened_channel_count: NonNegInt
    closed_channel_count: NonNegInt
    first_seen: NonNegInt
    updated_at: NonNegInt


class _StatsWire(msgspec.Struct):
    added: NonNegInt | AwareDatetime
    node_count: NonNegInt
    channel_count: NonNegInt
    total_capacity: NonNegInt | str
    avg_capacity: NonNegInt | str
    med_capacity: NonNegInt | str
    avg_fee_rate: NonNegInt
    med_fee_rate: NonNegInt
    avg_base_fee_mtokens: NonNegInt
    med_base_fee_mtokens: NonNegInt


class _StatsEnvelope(msgspec.Struct):
    latest: _StatsWire


class MempoolProvider:
    """Reads mempool's Lightning API through a :class:`ProviderHttpClient`."""

    source = SOURCE

    def __init__(
        self, client: ProviderHttpClient, *, wall_clock: Callable[[], float] = time.time
    ) -> None:
        self.client = client
        self._wall_clock = wall_clock

    @classmethod
    def from_settings(
        cls, settings: ProviderSettings, metrics: ProviderMetrics, **client_options: Any
    ) -> MempoolProvider | None:
        """The provider, or None when the operator turned mempool off."""
        if not settings.mempool_enabled:
            return None
        client = ProviderHttpClient(
            SOURCE, settings.mempool_url, settings.retry, metrics=metrics, **client_options
        )
        return cls(client)

    def node(self, pubkey: str) -> NodeRecordKnown:
        """The peer's node record; raises a ``ProviderError`` when there is none to give."""
        check_pubkey(pubkey)
        observed_at_s = int(self._wall_clock())

        def parse(body: bytes) -> NodeRecordKnown:
            wire = decode_strict(SOURCE, body, _NodeWire)
            if wire.public_key != pubkey:
                raise ProviderParseError(
                    SOURCE, "$.public_key", f"answer is about {wire.public_key!r}, not {pubkey}"
                )
            return NodeRecordKnown(
                pubkey=pubkey,
                alias=wire.alias,
                capacity_sat=sat_amount(SOURCE, "$.capacity", wire.capacity),
                channel_count=wire.active_channel_count,
                source=SOURCE,
                observed_at_s=observed_at_s,
            )

        return self.client.request("GET", f"/api/v1/lightning/nodes/{pubkey}", parse=parse)

    def network_stats(self) -> NetworkStatsKnown:
        """The latest daily network statistics; ``observed_at_s`` is when mempool made them."""

        def parse(body: bytes) -> NetworkStatsKnown:
            wire = decode_strict(SOURCE, body, _StatsEnvelope).latest
            added = wire.added
            at_s = int(added.timestamp()) if isinstance(added, datetime) else added
            return NetworkStatsKnown(
                node_count=wire.node_count,
                channel_count=wire.channel_count,
                total_capacity_sat=sat_amount(
                    SOURCE, "$.latest.total_capacity", wire.total_capacity
                ),
                avg_capacity_sat=sat_amount(SOURCE, "$.latest.avg_capacity", wire.avg_capacity),
                med_capacity_sat=sat_amount(SOURCE, "$.latest.med_capacity", wire.med_capacity),
                avg_fee_rate_ppm=wire.avg_fee_rate,
                med_fee_rate_ppm=wire.med_fee_rate,
                avg_base_fee_msat=wire.avg_base_fee_mtokens,
                med_base_fee_msat=wire.med_base_fee_mtokens,
                source=SOURCE,
                observed_at_s=at_s,
            )

        return self.client.request("GET", "/api/v1/lightning/statistics/latest", parse=parse)

    def close(self) -> None:
        self.client.close()
