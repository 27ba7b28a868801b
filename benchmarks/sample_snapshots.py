"""Deterministic synthetic snapshots for the engine benchmark.

Made from a seed, not measured on a real node; the simulator (mcp_optimizer.simulator) is the
realistic source.
"""

from __future__ import annotations

import random

from mcp_optimizer.messages import (
    CentralityKnown,
    CentralityUnknown,
    Channel,
    ChannelPolicy,
    ChannelSnapshot,
    CompetitorFees,
    FeeEpoch,
    ForwardingStats,
    LastChangeAt,
    NeverChanged,
    Node,
    UptimeKnown,
    UptimeUnknown,
)

SAMPLE_TIME_S = 1_790_000_000
"""The sample node's 'now' (2026-09-21)."""


def _policy(rng: random.Random, now: int) -> ChannelPolicy:
    return ChannelPolicy(
        base_fee_msat=rng.choice([0, 0, 1000]),
        fee_rate_ppm=rng.choice([1, 10, 50, 100, 250, 500, 900, 1500]),
        inbound_base_fee_msat=0,
        inbound_fee_rate_ppm=0,
        time_lock_delta=rng.choice([40, 80, 144]),
        min_htlc_msat=1000,
        max_htlc_msat=990_000_000,
        disabled=False,
        last_update_s=now - rng.randrange(86400, 90 * 86400),
    )


def _stats(chan_id: int, window_s: int, capacity: int, activity: float, rng: random.Random):
    fwd_out = int(activity * rng.randrange(0, 400))
    fwd_in = int(activity * rng.randrange(0, 400))
    avg_msat = rng.randrange(10_000, 2_000_000) * 1000
    amount_out = min(fwd_out * avg_msat, capacity * 1000 * 5)
    return ForwardingStats(
        chan_id=chan_id,
        window_s=window_s,
        forwards_in=fwd_in,
        forwards_out=fwd_out,
        amount_in_msat=min(fwd_in * avg_msat, capacity * 1000 * 5),
        amount_out_msat=amount_out,
        fees_earned_msat=amount_out * rng.randrange(1, 800) // 1_000_000,
        failed_htlcs=(failed := int(activity * rng.randrange(0, 30))),
        failed_balance=failed // 2,
        failed_downstream=failed // 4,
        failed_fee=failed // 8,
    )


def sample_snapshot(index: int, seed: int = 7, now: int = SAMPLE_TIME_S) -> ChannelSnapshot:
    """The ``index``-th channel of the sample node built from ``seed``."""
    rng = random.Random(seed * 1_000_003 + index)
    capacity = rng.choice([1, 2, 3, 5, 10, 20, 50]) * 1_000_000
    local_share = rng.choice([0.01, 0.04, 0.15, 0.3, 0.5, 0.7, 0.9, 0.98])
    local = int(capacity * local_share)
    remote = capacity - local - 3_000
    chan_id = (800_000 + index) << 40 | (index % 4000) << 16 | 1
    pubkey = f"02{rng.getrandbits(256):064x}"
    centrality = (
        CentralityKnown(
            normalized_ppm=rng.randrange(0, 1_000_001),
            rank=rng.randrange(1, 17_000),
            source="sample",
            observed_at_s=now - 3600,
            estimated=False,
        )
        if rng.random() < 0.85
        else CentralityUnknown(reason="no provider has scored this peer")
    )
    uptime = (
        UptimeKnown(ratio_ppm=rng.randrange(500_000, 1_000_001), source="sample", observed_at_s=now)
        if rng.random() < 0.9
        else UptimeUnknown(reason="peer never observed")
    )
    peer = Node(
        pubkey=pubkey,
        alias=f"sample-peer-{index}",
        capacity_sat=capacity * rng.randrange(5, 500),
        channel_count=rng.randrange(1, 2000),
        centrality=centrality,
        uptime=uptime,
    )
    activity = rng.choice([0.0, 0.02, 0.3, 1.0, 2.0])
    channel = Channel(
        chan_id=chan_id,
        channel_point=f"{rng.getrandbits(256):064x}:{index % 3}",
        peer=peer,
        capacity_sat=capacity,
        local_balance_sat=local,
        remote_balance_sat=remote,
        age_s=rng.randrange(2, 400) * 86400,
        initiator=rng.random() < 0.6,
        active=rng.random() < 0.93,
        our_policy=_policy(rng, now),
        peer_policy=_policy(rng, now),
    )
    last_change = (
        LastChangeAt(at_s=now - rng.randrange(3600, 30 * 86400))
        if rng.random() < 0.5
        else NeverChanged()
    )
    recent = _stats(chan_id, 2 * 86400, capacity, activity / 15, rng)
    history = _stats(chan_id, 30 * 86400, capacity, activity, rng)
    return ChannelSnapshot(
        taken_at_s=now,
        channel=channel,
        recent=recent,
        history=history,
        last_change=last_change,
        price_history=_epochs(now, channel.our_policy, history, rng),
        competitors=CompetitorFees(
            peer_pubkey=channel.peer.pubkey, observed_at_s=now - 600,
            count=(n := rng.randrange(1, 40)), ignored_count=0,
            p25_fee_rate_ppm=(med := rng.randrange(1, 1500)) // 2, median_fee_rate_ppm=med,
            p75_fee_rate_ppm=med * 2, p25_base_fee_msat=0, median_base_fee_msat=1000,
            p75_base_fee_msat=1000 + n,
        ),
    )


def _epochs(now: int, policy, history: ForwardingStats, rng: random.Random) -> list[FeeEpoch]:
    """Up to five fee levels over the history window, the current one last."""
    k = rng.randrange(1, 6)
    cuts = sorted(rng.sample(range(1, 30), k - 1))
    bounds = [now - 30 * 86400] + [now - 30 * 86400 + c * 86400 for c in cuts] + [now]
    share = max(1, history.forwards_out // k)
    return [
        FeeEpoch(
            start_s=a, end_s=b,
            fee_rate_ppm=policy.fee_rate_ppm if i == k - 1 else rng.randrange(1, 2000),
            base_fee_msat=policy.base_fee_msat, inbound_fee_rate_ppm=0,
            forwards_out=share, amount_out_msat=history.amount_out_msat // k,
            fees_earned_msat=history.fees_earned_msat // k, forwards_in=share,
            failed_balance=history.failed_balance // k,
        )
        for i, (a, b) in enumerate(zip(bounds, bounds[1:], strict=False))
    ]


def sample_snapshots(count: int, seed: int = 7) -> list[ChannelSnapshot]:
    """``count`` channels of the sample node built from ``seed``."""
    return [sample_snapshot(i, seed) for i in range(count)]
