"""Build snapshots for tests: a healthy default channel, with any part replaced."""

from __future__ import annotations

import msgspec

from mcp_optimizer.messages import (
    CentralityKnown,
    Channel,
    ChannelPolicy,
    ChannelSnapshot,
    ForwardingStats,
    NeverChanged,
    Node,
    UptimeKnown,
)
from mcp_optimizer.messages.domain import NO_COMPETITORS

NOW = 1_790_000_000
CHAN = (800_000 << 40) | (12 << 16) | 1
DAY = 86400


def policy(**kw) -> ChannelPolicy:
    base = dict(
        base_fee_msat=1000,
        fee_rate_ppm=500,
        inbound_base_fee_msat=0,
        inbound_fee_rate_ppm=0,
        time_lock_delta=80,
        min_htlc_msat=1000,
        max_htlc_msat=990_000_000,
        disabled=False,
        last_update_s=NOW - 10 * DAY,
    )
    base.update(kw)
    return ChannelPolicy(**base)


def stats(default_window_s: int, **kw) -> ForwardingStats:
    base = dict(
        chan_id=CHAN,
        window_s=default_window_s,
        forwards_in=20,
        forwards_out=20,
        amount_in_msat=200_000_000,
        amount_out_msat=200_000_000,
        fees_earned_msat=100_000,
        failed_htlcs=0,
        failed_balance=0,
        failed_downstream=0,
        failed_fee=0,
    )
    base.update(kw)
    return ForwardingStats(**base)


def node(**kw) -> Node:
    base = dict(
        pubkey="02" + "ab" * 32,
        alias="peer",
        capacity_sat=500_000_000,
        channel_count=300,
        centrality=CentralityKnown(
            normalized_ppm=500_000, rank=100, source="test", observed_at_s=NOW - 60,
            estimated=False,
        ),
        uptime=UptimeKnown(ratio_ppm=990_000, source="test", observed_at_s=NOW - 60),
    )
    base.update(kw)
    return Node(**base)


def channel(**kw) -> Channel:
    base = dict(
        chan_id=CHAN,
        channel_point="aa" * 32 + ":0",
        peer=node(),
        capacity_sat=5_000_000,
        local_balance_sat=2_500_000,
        remote_balance_sat=2_490_000,
        age_s=100 * DAY,
        initiator=True,
        active=True,
        our_policy=policy(),
        peer_policy=policy(fee_rate_ppm=300),
    )
    base.update(kw)
    return Channel(**base)


def snapshot(
    *,
    channel_kw: dict | None = None,
    recent_kw: dict | None = None,
    history_kw: dict | None = None,
    **kw,
) -> ChannelSnapshot:
    base = dict(
        taken_at_s=NOW,
        channel=channel(**(channel_kw or {})),
        recent=stats(2 * DAY, **(recent_kw or {"forwards_in": 2, "forwards_out": 2})),
        history=stats(30 * DAY, **(history_kw or {})),
        last_change=NeverChanged(),
        price_history=[],
        competitors=NO_COMPETITORS,
    )
    base.update(kw)
    return ChannelSnapshot(**base)


def replace(obj, **kw):
    return msgspec.structs.replace(obj, **kw)
