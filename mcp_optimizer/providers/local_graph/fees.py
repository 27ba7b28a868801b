"""The fees that competitors charge into a peer, from the public channel graph."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from mcp_optimizer.messages import ChannelGraph, ChannelPolicy
from mcp_optimizer.messages.graph_facts import (
    CompetitorFees,
    CompetitorFeeSummary,
    CompetitorFeesUnknown,
)


def _quartiles(values: list[int]) -> tuple[int, int, int]:
    q = np.percentile(np.asarray(values, dtype=np.float64), [25.0, 50.0, 75.0])
    p25, p50, p75 = (int(x) for x in np.rint(q))
    return p25, p50, p75


def competitor_fees(
    graph: ChannelGraph, peer_pubkey: str, *, exclude: Iterable[str] = ()
) -> CompetitorFeeSummary:
    """Summarise what the other ends of ``peer_pubkey``'s channels charge to forward into it.

    For every channel of the graph with the peer at one end, the other end is a competitor
    and its direction towards the peer is what it charges: a known, enabled ChannelPolicy is
    summarised; a disabled or unknown one is counted in ``ignored_count``. Nodes listed in
    ``exclude`` (typically our own node: we do not compete with ourselves) are skipped
    entirely. Returns CompetitorFeesUnknown when no policy is left to summarise.
    """
    skip = set(exclude)
    rates: list[int] = []
    bases: list[int] = []
    ignored = 0
    channels = 0
    for edge in graph.edges:
        if edge.node1_pubkey == peer_pubkey and edge.node2_pubkey != peer_pubkey:
            other, policy = edge.node2_pubkey, edge.node2_policy
        elif edge.node2_pubkey == peer_pubkey and edge.node1_pubkey != peer_pubkey:
            other, policy = edge.node1_pubkey, edge.node1_policy
        else:
            continue
        if other in skip:
            continue
        channels += 1
        if isinstance(policy, ChannelPolicy) and not policy.disabled:
            rates.append(policy.fee_rate_ppm)
            bases.append(policy.base_fee_msat)
        else:
            ignored += 1
    if not rates:
        reason = (
            "no other node has a channel to this peer in the graph"
            if channels == 0
            else f"all {channels} channels into this peer have a disabled or unknown policy"
        )
        return CompetitorFeesUnknown(
            peer_pubkey=peer_pubkey,
            observed_at_s=graph.taken_at_s,
            ignored_count=ignored,
            reason=reason,
        )
    r25, r50, r75 = _quartiles(rates)
    b25, b50, b75 = _quartiles(bases)
    return CompetitorFees(
        peer_pubkey=peer_pubkey,
        observed_at_s=graph.taken_at_s,
        count=len(rates),
        ignored_count=ignored,
        p25_fee_rate_ppm=r25,
        median_fee_rate_ppm=r50,
        p75_fee_rate_ppm=r75,
        p25_base_fee_msat=b25,
        median_base_fee_msat=b50,
        p75_base_fee_msat=b75,
    )
