"""Amboss (GraphQL over HTTPS, the operator's API key as ``Authorization: Bearer``).

Optional: built only when ``MCP_AMBOSS_API_KEY`` is set (:meth:`AmbossProvider.from_settings`
returns None otherwise). The endpoint is a setting (``MCP_AMBOSS_URL``).

Three queries, one per fact, so that a query Amboss refuses costs only its own fact:

- ranks (:data:`RANKS_QUERY`): ``getNode(pubkey) { graph_info { metrics { capacity
  capacity_rank channels channels_rank } } }``. These field names are seen in several public
  Amboss clients; ``capacity`` is accepted as an integer or a decimal string.
- centrality (:data:`CENTRALITY_QUERY`) and uptime (:data:`UPTIME_QUERY`): the field names
  could NOT be verified against Amboss's public schema (see docs/providers.md). If Amboss
  refuses them (a GraphQL validation error), the fact is reported as rejected and the chain
  falls back to the local graph / LND: nothing else is affected.

Answers are parsed strictly: a GraphQL ``errors`` list is a :class:`ProviderRejected`, a null
``getNode`` a :class:`ProviderNotFound`, and a missing or wrong-typed field a
:class:`ProviderParseError` naming the field (``$.data.getNode.graph_info.metrics.channels``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import msgspec

from mcp_optimizer.messages import CentralityKnown, PeerRanksKnown, UptimeKnown

from .http import ProviderHttpClient, ProviderMetrics, ProviderSettings
from .http.errors import ProviderNotFound, ProviderParseError, ProviderRejected
from .http.parsing import AwareDatetime, NonNegInt, PosInt, check_pubkey, decode_strict, sat_amount

SOURCE = "amboss"
T = TypeVar("T")

RANKS_QUERY = """query PeerRanks($pubkey: String!) {
  getNode(pubkey: $pubkey) {
    graph_info { metrics { capacity capacity_rank channels channels_rank } }
  }
}"""

CENTRALITY_QUERY = """query PeerCentrality($pubkey: String!) {
  getNode(pubkey: $pubkey) {
    graph_info { centrality { betweenness betweenness_rank } }
  }
}"""
"""Unverified field names (see the module docstring)."""

UPTIME_QUERY = """query PeerUptime($pubkey: String!) {
  getNode(pubkey: $pubkey) {
    health { uptime_percent checked_at }
  }
}"""
"""Unverified field names (see the module docstring)."""

Ratio = Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]
Percent = Annotated[float, msgspec.Meta(ge=0.0, le=100.0)]


class _GqlError(msgspec.Struct):
    message: str = ""


class _Envelope(msgspec.Struct):
    data: msgspec.Raw = msgspec.Raw(b"null")
    errors: list[_GqlError] = []


class _Metrics(msgspec.Struct):
    capacity: NonNegInt | str
    capacity_rank: PosInt
    channels: NonNegInt
    channels_rank: PosInt


class _RanksGraphInfo(msgspec.Struct):
    metrics: _Metrics


class _RanksNode(msgspec.Struct):
    graph_info: _RanksGraphInfo


class _RanksData(msgspec.Struct):
    getNode: _RanksNode | None  # noqa: N815 - GraphQL field name


class _Centrality(msgspec.Struct):
    betweenness: Ratio
    betweenness_rank: PosInt


class _CentralityGraphInfo(msgspec.Struct):
    centrality: _Centrality


class _CentralityNode(msgspec.Struct):
    graph_info: _CentralityGraphInfo


class _CentralityData(msgspec.Struct):
    getNode: _CentralityNode | None  # noqa: N815


class _Health(msgspec.Struct):
    uptime_percent: Percent
    checked_at: AwareDatetime


class _UptimeNode(msgspec.Struct):
    health: _Health


class _UptimeData(msgspec.Struct):
    getNode: _UptimeNode | None  # noqa: N815


def _graphql_data(body: bytes, type_: type[T]) -> T:
    envelope = decode_strict(SOURCE, body, _Envelope)
    if envelope.errors:
        messages = "; ".join(e.message or "(no message)" for e in envelope.errors[:3])
        raise ProviderRejected(SOURCE, f"GraphQL error: {messages}", 200)
    if bytes(envelope.data) in (b"null", b""):
        raise ProviderParseError(SOURCE, "$.data", "null without errors")
    return decode_strict(SOURCE, bytes(envelope.data), type_, prefix="$.data")


class AmbossProvider:
    """Reads Amboss's GraphQL API through a :class:`ProviderHttpClient`."""

    source = SOURCE

    def __init__(
        self, client: ProviderHttpClient, *, wall_clock: Callable[[], float] = time.time
    ) -> None:
        self.client = client
        self._wall_clock = wall_clock

    @classmethod
    def from_settings(
        cls, settings: ProviderSettings, metrics: ProviderMetrics, **client_options: Any
    ) -> AmbossProvider | None:
        """The provider, or None when no API key is configured (Amboss is optional)."""
        if not settings.amboss_enabled:
            return None
        client = ProviderHttpClient(
            SOURCE,
            settings.amboss_url,
            settings.retry,
            metrics=metrics,
            headers={"Authorization": f"Bearer {settings.amboss_api_key}"},
            **client_options,
        )
        return cls(client)

    def _query(self, query: str, pubkey: str, type_: type[Any]) -> Any:
        """The ``getNode`` member of the answer to ``query`` about ``pubkey``."""
        check_pubkey(pubkey)

        def parse(body: bytes) -> Any:
            node = _graphql_data(body, type_).getNode
            if node is None:
                raise ProviderNotFound(SOURCE, "Amboss does not know this node", 200)
            return node

        return self.client.request(
            "POST",
            "",
            json_body={"query": query, "variables": {"pubkey": pubkey}},
            parse=parse,
        )

    def ranks(self, pubkey: str) -> PeerRanksKnown:
        """The peer's capacity and channel count, and their ranks among all nodes."""
        observed_at_s = int(self._wall_clock())
        metrics = self._query(RANKS_QUERY, pubkey, _RanksData).graph_info.metrics
        return PeerRanksKnown(
            capacity_sat=sat_amount(
                SOURCE, "$.data.getNode.graph_info.metrics.capacity", metrics.capacity
            ),
            capacity_rank=metrics.capacity_rank,
            channel_count=metrics.channels,
            channel_rank=metrics.channels_rank,
            source=SOURCE,
            observed_at_s=observed_at_s,
        )

    def centrality(self, pubkey: str) -> CentralityKnown:
        """The peer's betweenness (a 0..1 share of the maximum) and its rank."""
        observed_at_s = int(self._wall_clock())
        c = self._query(CENTRALITY_QUERY, pubkey, _CentralityData).graph_info.centrality
        return CentralityKnown(
            normalized_ppm=round(c.betweenness * 1_000_000),
            rank=c.betweenness_rank,
            source=SOURCE,
            observed_at_s=observed_at_s,
        )

    def uptime(self, pubkey: str) -> UptimeKnown:
        """The peer's availability as Amboss measured it, and when it last checked."""
        health = self._query(UPTIME_QUERY, pubkey, _UptimeData).health
        return UptimeKnown(
            ratio_ppm=round(health.uptime_percent * 10_000),
            source=SOURCE,
            observed_at_s=int(health.checked_at.timestamp()),
        )

    def close(self) -> None:
        self.client.close()
