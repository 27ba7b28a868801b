"""Amboss (GraphQL over HTTPS, the operator's API key as ``Authorization: Bearer``).

Optional: built only when ``MCP_AMBOSS_API_KEY`` is set (:meth:`AmbossProvider.from_settings`
returns None otherwise). The endpoint is a setting (``MCP_AMBOSS_URL``).

One query, the only one whose field names could be verified (see docs/providers.md):
:data:`RANKS_QUERY`, ``getNode(pubkey) { graph_info { metrics { capacity capacity_rank
channels channels_rank } } }``. The same names and nesting appear in independent public Amboss
clients (a Go struct decoding the answer, a Rust rule engine reading
``get_node.graph_info.metrics.capacity_rank``); ``capacity`` is typed there as a decimal
string, so a decimal string is accepted as well as an integer.

No centrality or uptime is asked of Amboss: no public client or document we could read shows
the schema fields for them, and a guessed field would only ever be refused. Those facts come
from the local graph and from LND (:mod:`mcp_optimizer.providers.facts`).

Answers are parsed strictly: a GraphQL ``errors`` list is a :class:`ProviderRejected`, a null
``getNode`` a :class:`ProviderNotFound`, and a missing or wrong-typed field a
:class:`ProviderParseError` naming the field (``$.data.getNode.graph_info.metrics.channels``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import msgspec

from mcp_optimizer.messages import PeerRanksKnown

from .http import ProviderHttpClient, ProviderMetrics, ProviderSettings
from .http.errors import ProviderNotFound, ProviderParseError, ProviderRejected
from .http.parsing import NonNegInt, PosInt, check_pubkey, decode_strict, sat_amount

SOURCE = "amboss"
T = TypeVar("T")

RANKS_QUERY = """query PeerRanks($pubkey: String!) {
  getNode(pubkey: $pubkey) {
    graph_info { metrics { capacity capacity_rank channels channels_rank } }
  }
}"""
"""The only query sent to Amboss (verified field names, see the module docstring)."""


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

    def close(self) -> None:
        self.client.close()
