"""Find what is wrong with a snapshot before any decision is drawn from it.

The decision engine never raises on bad data: every defect found here turns into a NO_ACTION
whose reasons name the defect. Checks are written against values, not types, because a Struct
built in code (rather than decoded) is not validated by msgspec.
"""

from __future__ import annotations

from mcp_optimizer.messages import (
    CentralityKnown,
    ChannelPolicy,
    ChannelSnapshot,
    CompetitorFees,
    FeeEpoch,
    ForwardingStats,
    LastChangeAt,
    UptimeKnown,
)
from mcp_optimizer.scid import scid_text

MAX_CAPACITY_SAT = 21_000_000 * 100_000_000
"""No channel can hold more than every bitcoin there will ever be."""
MAX_FEE_RATE_PPM = 1_000_000
"""A fee rate above 100% of the amount is absurd."""
MAX_BASE_FEE_MSAT = 1_000_000_000
"""A base fee above 1,000,000 sat per forward is absurd."""
MAX_TIME_LOCK_DELTA = 2016
"""LND refuses a time lock delta above two weeks of blocks."""
FACT_SKEW_S = 600
"""Peer facts (uptime, centrality) are gathered while a cycle runs, after its snapshot time:
one observed up to this many seconds after the snapshot is current, not from the future."""


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _int_field(defects: list[str], label: str, value: object, low: int, high: int) -> bool:
    """Record a defect unless ``value`` is an integer in [low, high]; True when it is fine."""
    if not _is_int(value):
        defects.append(f"{label} is {value!r}, not an integer")
        return False
    if value < low:
        defects.append(f"{label} is {value}, below {low}")
        return False
    if value > high:
        defects.append(f"{label} is {value}, above the plausible maximum {high}")
        return False
    return True


def _policy_defects(defects: list[str], label: str, policy: object) -> None:
    if not isinstance(policy, ChannelPolicy):
        defects.append(f"{label} is missing (got {type(policy).__name__})")
        return
    _int_field(defects, f"{label} base fee", policy.base_fee_msat, 0, MAX_BASE_FEE_MSAT)
    _int_field(defects, f"{label} fee rate (ppm)", policy.fee_rate_ppm, 0, MAX_FEE_RATE_PPM)
    _int_field(
        defects,
        f"{label} inbound base fee",
        policy.inbound_base_fee_msat,
        -MAX_BASE_FEE_MSAT,
        MAX_BASE_FEE_MSAT,
    )
    _int_field(
        defects,
        f"{label} inbound fee rate (ppm)",
        policy.inbound_fee_rate_ppm,
        -MAX_FEE_RATE_PPM,
        MAX_FEE_RATE_PPM,
    )
    _int_field(defects, f"{label} time lock delta", policy.time_lock_delta, 1, MAX_TIME_LOCK_DELTA)


def _stats_defects(
    defects: list[str], label: str, stats: object, chan_id: object
) -> None:
    if not isinstance(stats, ForwardingStats):
        defects.append(f"{label} forwarding statistics are missing")
        return
    if stats.chan_id != chan_id:
        defects.append(
            f"{label} forwarding statistics are for channel {scid_text(stats.chan_id)}, "
            f"not {scid_text(chan_id)}"
        )
    _int_field(defects, f"{label} window length (s)", stats.window_s, 1, 10 * 365 * 86400)
    counts_ok = True
    for name in ("forwards_in", "forwards_out", "failed_htlcs", "failed_balance",
                 "failed_downstream", "failed_fee"):
        counts_ok = _int_field(
            defects, f"{label} {name.replace('_', ' ')}", getattr(stats, name), 0, 10**9
        ) and counts_ok
    if counts_ok and (stats.failed_balance + stats.failed_downstream + stats.failed_fee
                      > stats.failed_htlcs):
        defects.append(
            f"{label} failures by kind ({stats.failed_balance} balance, "
            f"{stats.failed_downstream} downstream, {stats.failed_fee} fee) exceed the "
            f"{stats.failed_htlcs} failed HTLCs"
        )
    for name in ("amount_in_msat", "amount_out_msat", "fees_earned_msat"):
        _int_field(
            defects,
            f"{label} {name.removesuffix('_msat').replace('_', ' ')} (msat)",
            getattr(stats, name),
            0,
            MAX_CAPACITY_SAT * 1000,
        )


def find_defects(snapshot: object) -> list[str]:
    """Every defect of the snapshot, as sentences; empty when it can be decided upon."""
    if not isinstance(snapshot, ChannelSnapshot):
        return [f"the snapshot is a {type(snapshot).__name__}, not a ChannelSnapshot"]
    defects: list[str] = []
    now_ok = _int_field(defects, "snapshot time", snapshot.taken_at_s, 1, 2**40)
    now = snapshot.taken_at_s if now_ok else None
    ch = snapshot.channel
    cap_ok = _int_field(defects, "capacity (sat)", ch.capacity_sat, 1, MAX_CAPACITY_SAT)
    if cap_ok is False and _is_int(ch.capacity_sat) and ch.capacity_sat == 0:
        defects[-1] = "capacity is 0 sat: the channel cannot be judged"
    local_ok = _int_field(
        defects, "local balance (sat)", ch.local_balance_sat, 0, MAX_CAPACITY_SAT
    )
    remote_ok = _int_field(
        defects, "remote balance (sat)", ch.remote_balance_sat, 0, MAX_CAPACITY_SAT
    )
    if cap_ok and local_ok and remote_ok:
        if ch.local_balance_sat + ch.remote_balance_sat > ch.capacity_sat:
            defects.append(
                f"balances (local {ch.local_balance_sat} + remote {ch.remote_balance_sat} sat) "
                f"exceed the capacity of {ch.capacity_sat} sat"
            )
    if _is_int(ch.age_s) and ch.age_s < 0:
        defects.append(f"channel age is {ch.age_s} s: it was opened in the future")
    else:
        _int_field(defects, "channel age (s)", ch.age_s, 0, 2**40)
    _policy_defects(defects, "our policy", ch.our_policy)
    _stats_defects(defects, "recent", snapshot.recent, ch.chan_id)
    _stats_defects(defects, "history", snapshot.history, ch.chan_id)
    recent, history = snapshot.recent, snapshot.history
    if (
        isinstance(recent, ForwardingStats)
        and isinstance(history, ForwardingStats)
        and _is_int(recent.window_s)
        and _is_int(history.window_s)
        and recent.window_s > history.window_s
    ):
        defects.append(
            f"the recent window ({recent.window_s} s) is longer than the history window "
            f"({history.window_s} s): both end at the snapshot time, so the recent one must "
            f"lie inside the history one (swapped statistics?)"
        )
    peer = ch.peer
    if isinstance(peer.uptime, UptimeKnown):
        _int_field(defects, "peer uptime (ppm)", peer.uptime.ratio_ppm, 0, 1_000_000)
        if now is not None and _is_int(peer.uptime.observed_at_s):
            if peer.uptime.observed_at_s < 0:
                defects.append(f"peer uptime was observed at {peer.uptime.observed_at_s}, "
                               "before 1970")
            elif peer.uptime.observed_at_s > now + FACT_SKEW_S:
                defects.append(
                    f"peer uptime was observed at {peer.uptime.observed_at_s}, "
                    f"after the snapshot time {now}"
                )
    if isinstance(peer.centrality, CentralityKnown):
        _int_field(
            defects, "peer centrality (ppm)", peer.centrality.normalized_ppm, 0, 1_000_000
        )
        if now is not None and _is_int(peer.centrality.observed_at_s):
            if peer.centrality.observed_at_s < 0:
                defects.append(f"peer centrality was computed at "
                               f"{peer.centrality.observed_at_s}, before 1970")
            elif peer.centrality.observed_at_s > now + FACT_SKEW_S:
                defects.append(
                    f"peer centrality was computed at {peer.centrality.observed_at_s}, "
                    f"after the snapshot time {now}"
                )
    last = snapshot.last_change
    if isinstance(last, LastChangeAt) and now is not None:
        if not _is_int(last.at_s):
            defects.append(f"last policy change time is {last.at_s!r}, not an integer")
        elif last.at_s > now:
            defects.append(
                f"last policy change is dated {last.at_s}, after the snapshot time {now}"
            )
        else:
            _int_field(defects, "last policy change time", last.at_s, 0, now)
    if now is not None:
        _epoch_defects(defects, getattr(snapshot, "price_history", []), now)
        _competitor_defects(defects, getattr(snapshot, "competitors", None), now)
    return defects


MAX_EPOCHS = 10_000
"""More fee levels than a channel could hold in years of daily changes."""


def _epoch_defects(defects: list[str], epochs: object, now: int) -> None:
    """Fee epochs: integer times within [0, now], each starting before it ends and after the
    previous one ended, counts and amounts like the forwarding statistics'."""
    if not isinstance(epochs, list):
        defects.append(f"the price history is a {type(epochs).__name__}, not a list")
        return
    if len(epochs) > MAX_EPOCHS:
        defects.append(f"the price history holds {len(epochs)} epochs, more than {MAX_EPOCHS}")
        return
    prev_end = 0
    for i, e in enumerate(epochs):
        label = f"fee epoch {i + 1}"
        if not isinstance(e, FeeEpoch):
            defects.append(f"{label} is a {type(e).__name__}, not a FeeEpoch")
            return
        before = len(defects)
        _int_field(defects, f"{label} start", e.start_s, 0, now)
        _int_field(defects, f"{label} end", e.end_s, 0, now)
        _int_field(defects, f"{label} fee rate (ppm)", e.fee_rate_ppm, 0, MAX_FEE_RATE_PPM)
        _int_field(defects, f"{label} base fee", e.base_fee_msat, 0, MAX_BASE_FEE_MSAT)
        _int_field(defects, f"{label} inbound fee rate (ppm)", e.inbound_fee_rate_ppm,
                   -MAX_FEE_RATE_PPM, MAX_FEE_RATE_PPM)
        for name in ("forwards_out", "forwards_in", "failed_balance"):
            _int_field(defects, f"{label} {name.replace('_', ' ')}", getattr(e, name), 0, 10**9)
        for name in ("amount_out_msat", "fees_earned_msat"):
            _int_field(defects, f"{label} {name.removesuffix('_msat').replace('_', ' ')} (msat)",
                       getattr(e, name), 0, MAX_CAPACITY_SAT * 1000)
        if len(defects) > before:
            return
        if e.start_s >= e.end_s:
            defects.append(f"{label} starts at {e.start_s}, not before its end {e.end_s}")
            return
        if e.start_s < prev_end:
            defects.append(
                f"{label} starts at {e.start_s}, before the previous epoch ended ({prev_end})"
            )
            return
        prev_end = e.end_s


def _competitor_defects(defects: list[str], c: object, now: int) -> None:
    if not isinstance(c, CompetitorFees):
        return
    _int_field(defects, "competitor fees' time", c.observed_at_s, 0, now + FACT_SKEW_S)
    _int_field(defects, "competitor count", c.count, 1, 10**9)
    ok = all(
        _int_field(defects, f"competitors' {name.replace('_', ' ')}", getattr(c, name), 0,
                   MAX_FEE_RATE_PPM)
        for name in ("p25_fee_rate_ppm", "median_fee_rate_ppm", "p75_fee_rate_ppm")
    )
    if ok and not c.p25_fee_rate_ppm <= c.median_fee_rate_ppm <= c.p75_fee_rate_ppm:
        defects.append(
            f"competitors' fee quartiles {c.p25_fee_rate_ppm}, {c.median_fee_rate_ppm}, "
            f"{c.p75_fee_rate_ppm} ppm are not in order"
        )
