"""Verb ``providers``: check the external providers' settings and reachability.

Reads the ``MCP_AMBOSS_*``, ``MCP_MEMPOOL_URL`` and ``MCP_PROVIDER_*`` settings, asks mempool
for the network statistics and, for each ``--peer``, runs the peer's fallback chains with the
remote providers only (LND and the local graph are not consulted by this check). Prints what
each source gave; exit status 0 when every configured provider answered, 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

import msgspec

from mcp_optimizer.messages import (
    CentralityKnown,
    NetworkStatsKnown,
    NodeRecordKnown,
    PeerFacts,
    PeerRanksKnown,
    SourceAttempt,
    SourceOutcome,
    UptimeKnown,
)
from mcp_optimizer.providers.amboss import AmbossProvider
from mcp_optimizer.providers.facts import PeerFactsResolver
from mcp_optimizer.providers.http import (
    ProviderMetrics,
    ProviderSettingsError,
    load_provider_settings,
)
from mcp_optimizer.providers.http.parsing import check_pubkey
from mcp_optimizer.providers.mempool import MempoolProvider

from .main import CliError

LOCAL_SOURCES = ("lnd", "local-graph")
# outcomes showing that a remote provider answered (even if it did not know the peer)
_ANSWERED = (
    SourceOutcome.USED,
    SourceOutcome.NOT_FOUND,
    SourceOutcome.STALE,
    SourceOutcome.UNKNOWN,
)


def _when(at_s: int) -> str:
    return datetime.fromtimestamp(at_s, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _value(fact: str, facts: PeerFacts) -> str:
    v = {
        "node_record": facts.node_record,
        "centrality": facts.centrality,
        "uptime": facts.uptime,
        "ranks": facts.ranks,
    }[fact]
    if isinstance(v, NodeRecordKnown):
        return f"alias {v.alias!r}, {v.capacity_sat} sat, {v.channel_count} channels"
    if isinstance(v, CentralityKnown):
        return (f"rank {v.rank}, {v.normalized_ppm} ppm of the maximum"
                + (" (estimated from sampled pivots)" if v.estimated else ""))
    if isinstance(v, UptimeKnown):
        return f"{v.ratio_ppm / 10_000:.2f} % up, measured {_when(v.observed_at_s)}"
    if isinstance(v, PeerRanksKnown):
        return (
            f"capacity {v.capacity_sat} sat (rank {v.capacity_rank}), "
            f"{v.channel_count} channels (rank {v.channel_rank})"
        )
    return "unknown"


def _attempt_line(a: SourceAttempt) -> str:
    if a.source in LOCAL_SOURCES and a.outcome is SourceOutcome.NOT_CONFIGURED:
        return f"{a.source}: not consulted by this check"
    text = f"{a.source}: {a.outcome.value}"
    return text + (f" ({a.detail})" if a.detail else "")


def cmd_providers(args: argparse.Namespace) -> int:
    try:
        settings = load_provider_settings()
    except ProviderSettingsError as exc:
        raise CliError(str(exc)) from None
    for peer in args.peer:
        try:
            check_pubkey(peer)
        except ValueError as exc:
            raise CliError(f"--peer: {exc}") from None
    metrics = ProviderMetrics()
    mempool = MempoolProvider.from_settings(settings, metrics)
    amboss = AmbossProvider.from_settings(settings, metrics)
    resolver = PeerFactsResolver(
        freshness=settings.freshness, metrics=metrics, amboss=amboss, mempool=mempool
    )
    try:
        stats_sources: list[SourceAttempt] = []
        stats = resolver.network_stats(stats_sources)
        peers = resolver.resolve_peers(args.peer)
    finally:
        if mempool is not None:
            mempool.close()
        if amboss is not None:
            amboss.close()
    attempts = stats_sources + [a for f in peers.values() for a in f.sources]
    remote = [a for a in attempts if a.source not in LOCAL_SOURCES]
    failed = [
        a
        for a in remote
        if a.outcome not in _ANSWERED and a.outcome is not SourceOutcome.NOT_CONFIGURED
    ]
    if args.json:
        out = {"network_stats": stats, "peers": list(peers.values())}
        sys.stdout.write(msgspec.json.encode(out).decode() + "\n")
        return 1 if failed else 0
    if mempool is None:
        print("mempool: off (MCP_MEMPOOL_URL=off)")
    else:
        print(f"mempool: {settings.mempool_url}")
    if amboss is None:
        print("amboss: not configured (MCP_AMBOSS_API_KEY is not set)")
    else:
        print(f"amboss: {settings.amboss_url}" + ("" if args.peer else " (needs --peer to check)"))
    r = settings.retry
    print(
        f"limits: {r.max_attempts} attempts, {r.total_budget_s:g} s per call, "
        f"timeouts {r.connect_timeout_s:g} s connect / {r.read_timeout_s:g} s read"
    )
    if isinstance(stats, NetworkStatsKnown):
        print(
            f"network: {stats.node_count} nodes, {stats.channel_count} channels, median fee "
            f"{stats.med_fee_rate_ppm} ppm + {stats.med_base_fee_msat} msat "
            f"(computed {_when(stats.observed_at_s)})"
        )
    else:
        print(f"network: unknown ({stats.reason})")
    for key, facts in peers.items():
        print(f"peer {key}:")
        for fact in ("node_record", "centrality", "uptime", "ranks"):
            lines = [_attempt_line(a) for a in facts.sources if a.fact == fact]
            print(f"  {fact}: {_value(fact, facts)}")
            for line in lines:
                print(f"    {line}")
    if failed:
        names = sorted({a.source for a in failed})
        print(f"mcp-optimizer providers: not answering usefully: {', '.join(names)}",
              file=sys.stderr)
        return 1
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "providers",
        help="check the external providers (mempool, Amboss): settings and reachability",
    )
    p.add_argument(
        "--peer",
        action="append",
        default=[],
        metavar="PUBKEY",
        help="also resolve this peer's facts through the remote providers (repeatable)",
    )
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.set_defaults(func=cmd_providers)
