"""Build ChannelGraph messages for the local graph tests from plain edge lists."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from builders import policy

from mcp_optimizer.messages import ChannelGraph, ChannelPolicy, GraphEdge, GraphNode, PolicyUnknown

TAKEN_AT = 1_790_000_000


def key(name: object) -> str:
    """A deterministic fake pubkey for a node name (sorts like the name's text)."""
    text = str(name).encode().hex()
    return ("02" + text + "00" * 33)[:66]


def enabled(fee_rate_ppm: int = 100, base_fee_msat: int = 1000) -> ChannelPolicy:
    return policy(
        fee_rate_ppm=fee_rate_ppm, base_fee_msat=base_fee_msat, last_update_s=TAKEN_AT - 3600
    )


def disabled(fee_rate_ppm: int = 100) -> ChannelPolicy:
    return policy(fee_rate_ppm=fee_rate_ppm, disabled=True, last_update_s=TAKEN_AT - 3600)


UNKNOWN = PolicyUnknown(reason="no update gossiped yet")


def graph(
    edges: Iterable[Sequence[object]],
    nodes: Iterable[object] = (),
    *,
    policies: dict[int, tuple[object, object]] | None = None,
    address_count: dict[object, int] | None = None,
    taken_at_s: int = TAKEN_AT,
) -> ChannelGraph:
    """A graph with one channel per ``(a, b)`` pair (repeat a pair for parallel channels).

    ``nodes`` adds nodes without channels; every edge end is listed as a node too.
    ``policies`` maps an edge's position to its (policy of a, policy of b).
    """
    edge_list = [tuple(e) for e in edges]
    names: list[object] = []
    for a, b in edge_list:
        names.extend([a, b])
    names.extend(nodes)
    seen: dict[str, GraphNode] = {}
    for name in names:
        k = key(name)
        if k not in seen:
            seen[k] = GraphNode(
                pubkey=k,
                alias=str(name),
                address_count=(address_count or {}).get(name, 1),
                last_update_s=taken_at_s,
            )
    out = []
    for i, (a, b) in enumerate(edge_list):
        pa, pb = (policies or {}).get(i, (enabled(), enabled()))
        ka, kb = key(a), key(b)
        if kb < ka:
            ka, kb, pa, pb = kb, ka, pb, pa
        out.append(
            GraphEdge(
                chan_id=1000 + i,
                node1_pubkey=ka,
                node2_pubkey=kb,
                capacity_sat=1_000_000,
                node1_policy=pa,
                node2_policy=pb,
            )
        )
    return ChannelGraph(taken_at_s=taken_at_s, nodes=list(seen.values()), edges=out)
