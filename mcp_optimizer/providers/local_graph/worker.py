"""The centrality computation as a child process: ``python -m
mcp_optimizer.providers.local_graph.worker``.

Exact betweenness on a mainnet-sized graph needs the numba kernel (about 65 MiB of compiler
loaded) and the graph itself (a few hundred MiB while it is read) for a few seconds every
time the topology changes. The service hands that to this process, which exits when done,
so none of it stays in the service between cycles.

Protocol: one JSON request on stdin ``{"lnd": {host, tls_cert_path, macaroon_path, timeout_s,
graph_timeout_s, max_message_bytes}, "fingerprint": "<the topology the caller holds>",
"pivots": <0: exact; n: an estimate from n sampled pivots where worthwhile>}``; one msgpack
:class:`WorkerReply` on stdout (its ``pivots`` says whether the table is an estimate); exit
status 0. On failure one line on stderr naming what failed, exit status 1. The graph is read
with DescribeGraph (``include_unannounced`` false: private channels carry no public routes);
with it, the competitors' fees into each peer of our channels (``actors.enrich.competitors_into``).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import msgspec

from mcp_optimizer.messages.graph_facts import CompetitorFeeSummary


class WorkerRequest(msgspec.Struct, frozen=True):
    lnd: dict[str, object]
    """The ``LndSettings`` fields to reach the node with."""
    fingerprint: str = ""
    """The topology the caller holds: when the graph read has the same, nothing is computed."""
    pivots: int = 0
    """0: exact betweenness; n: estimated from n sampled pivots where that saves most of the
    work (``centrality.estimate_worthwhile``; exact otherwise)."""


class WorkerReply(msgspec.Struct, frozen=True):
    fingerprint: str
    """The topology read."""
    unchanged: bool
    """True: the topology is the caller's; the lists below are empty."""
    pubkeys: list[str]
    normalized_ppm: list[int]
    rank: list[int]
    read_s: float
    """Seconds DescribeGraph and its conversion took."""
    compute_s: float
    """Seconds the betweenness took (0 when unchanged)."""
    pivots: int = 0
    """0: the table is the exact betweenness; otherwise estimated from this many pivots."""
    competitors: dict[str, CompetitorFeeSummary] = {}
    """The competitors' fees into each peer of our open channels (ListChannels), read from
    the same graph at every refresh (fees move more often than the topology)."""


def run(request: WorkerRequest) -> WorkerReply:
    from mcp_optimizer.providers.lnd.client import LndClient
    from mcp_optimizer.providers.lnd.settings import LndSettings

    from .centrality import centrality_table
    from .topology import DEFAULT_SEMANTICS, build_topology

    fields = dict(request.lnd)
    for key in ("tls_cert_path", "macaroon_path"):
        fields[key] = Path(str(fields[key]))
    settings = LndSettings(**fields)  # type: ignore[arg-type]
    started = time.perf_counter()
    from mcp_optimizer.actors.enrich import competitors_into
    from mcp_optimizer.providers.lnd.gen import lightning_pb2 as ln

    with LndClient(settings) as client:
        graph = client.describe_graph(include_unannounced=False)
        ours = client._call("ListChannels", ln.ListChannelsRequest()).channels
    peers = sorted({c.remote_pubkey for c in ours})
    competitors = competitors_into(graph, peers, [c.chan_id for c in ours])
    topology = build_topology(graph, DEFAULT_SEMANTICS)
    del graph
    read_s = time.perf_counter() - started
    if topology.fingerprint == request.fingerprint:
        return WorkerReply(topology.fingerprint, True, [], [], [], read_s, 0.0, 0, competitors)
    table = centrality_table(topology, pivots=request.pivots)
    return WorkerReply(
        fingerprint=table.fingerprint,
        unchanged=False,
        pubkeys=list(table.pubkeys),
        normalized_ppm=table.normalized_ppm.tolist(),
        rank=table.rank.tolist(),
        read_s=read_s,
        compute_s=table.compute_s,
        pivots=table.pivots,
        competitors=competitors,
    )


def main() -> int:
    try:
        request = msgspec.json.decode(sys.stdin.buffer.read(), type=WorkerRequest)
        reply = run(request)
    except Exception as exc:  # noqa: BLE001 - the parent reports this line
        print(f"centrality worker: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    sys.stdout.buffer.write(msgspec.msgpack.encode(reply))
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
