"""LND's rules for UpdateChannelPolicy and ForwardingHistory, as pure functions.

Mirrors LND's rpcserver.go (v0.18 series) so that a client that works against the simulator
meets the same refusals against a real node:

* ``fee_rate`` and ``fee_rate_ppm`` both non-zero: refused with INVALID_ARGUMENT
  ("cannot set both FeeRate and FeeRatePpm at the same time").
* ``fee_rate`` below 1e-6: refused; otherwise converted to ppm with rounding.
* ``time_lock_delta`` below 18 (LND's ``routing.MinCLTVDelta``) or above 65535: refused.
  LND returns these as plain errors, which gRPC reports with status UNKNOWN.
* a positive inbound base fee or rate: refused unless the node accepts positive inbound
  fees (LND's ``accept-positive-inbound-fees``), also with status UNKNOWN.
* the full outbound policy (base fee, rate, time lock delta) is written on every call;
  ``max_htlc_msat`` 0 leaves it unchanged; ``min_htlc_msat`` only applies when
  ``min_htlc_msat_specified``; an absent ``inbound_fee`` keeps the previous inbound fee.
* per channel, a max HTLC above the capacity or a min HTLC above the max HTLC is a failed
  update (UPDATE_FAILURE_INVALID_PARAMETER), not an RPC error, as in LND's local channel
  manager.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import grpc
import numpy as np

from mcp_optimizer.simulator.model import SimPolicy

MIN_TIME_LOCK_DELTA = 18
"""LND's routing.MinCLTVDelta."""
MAX_TIME_LOCK_DELTA = 65535
"""LND's routing.MaxCLTVDelta (math.MaxUint16)."""
MIN_FEE_RATE = 1e-6
FEE_BASE = 1_000_000

DEFAULT_MAX_EVENTS = 100
"""ForwardingHistory's page size when num_max_events is 0."""
MAX_EVENTS = 50_000
"""Largest ForwardingHistory page served (LND's documented 50k per response)."""


class RuleError(Exception):
    """A request LND would refuse: the gRPC status code and LND's message."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class PolicyUpdate:
    """The validated content of a PolicyUpdateRequest, scope aside."""

    base_fee_msat: int
    fee_rate_ppm: int
    time_lock_delta: int
    max_htlc_msat: int
    """0: leave unchanged."""
    min_htlc_msat: int
    min_htlc_msat_specified: bool
    inbound: tuple[int, int] | None
    """(base_fee_msat, fee_rate_ppm), or None to keep the previous inbound fee."""


def validate_policy_update(
    *,
    base_fee_msat: int,
    fee_rate: float,
    fee_rate_ppm: int,
    time_lock_delta: int,
    max_htlc_msat: int,
    min_htlc_msat: int,
    min_htlc_msat_specified: bool,
    inbound: tuple[int, int] | None,
    allow_positive_inbound: bool,
) -> PolicyUpdate:
    """Check a request as LND does, in LND's order; raise RuleError on the first refusal."""
    if fee_rate != 0 and fee_rate_ppm != 0:
        raise RuleError(
            grpc.StatusCode.INVALID_ARGUMENT,
            "cannot set both FeeRate and FeeRatePpm at the same time",
        )
    if fee_rate != 0:
        if fee_rate < MIN_FEE_RATE:
            raise RuleError(
                grpc.StatusCode.UNKNOWN,
                f"fee rate of {fee_rate} is too small, min fee rate is {MIN_FEE_RATE}",
            )
        rate_fixed = int(round(fee_rate * FEE_BASE))
    else:
        rate_fixed = fee_rate_ppm
    if time_lock_delta < MIN_TIME_LOCK_DELTA:
        raise RuleError(
            grpc.StatusCode.UNKNOWN,
            f"time lock delta of {time_lock_delta} is too small, "
            f"minimum supported is {MIN_TIME_LOCK_DELTA}",
        )
    if time_lock_delta > MAX_TIME_LOCK_DELTA:
        raise RuleError(
            grpc.StatusCode.UNKNOWN,
            f"time lock delta of {time_lock_delta} is too big, "
            f"maximum supported is {MAX_TIME_LOCK_DELTA}",
        )
    if inbound is not None and not allow_positive_inbound:
        if inbound[0] > 0:
            raise RuleError(
                grpc.StatusCode.UNKNOWN,
                f"positive values for inbound base fee msat are not supported: {inbound[0]}",
            )
        if inbound[1] > 0:
            raise RuleError(
                grpc.StatusCode.UNKNOWN,
                f"positive values for inbound fee rate ppm are not supported: {inbound[1]}",
            )
    if base_fee_msat < 0:
        # LND would reinterpret a negative int64 as a huge unsigned fee; refuse instead.
        raise RuleError(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"base fee of {base_fee_msat} msat is negative",
        )
    return PolicyUpdate(
        base_fee_msat=base_fee_msat,
        fee_rate_ppm=rate_fixed,
        time_lock_delta=time_lock_delta,
        max_htlc_msat=max_htlc_msat,
        min_htlc_msat=min_htlc_msat,
        min_htlc_msat_specified=min_htlc_msat_specified,
        inbound=inbound,
    )


def apply_policy_update(
    current: SimPolicy, update: PolicyUpdate, *, capacity_sat: int, now_s: int
) -> SimPolicy:
    """The channel's new local policy; ValueError (a failed update) if invalid for it."""
    max_htlc = update.max_htlc_msat if update.max_htlc_msat != 0 else current.max_htlc_msat
    min_htlc = update.min_htlc_msat if update.min_htlc_msat_specified else current.min_htlc_msat
    if max_htlc > capacity_sat * 1000:
        raise ValueError(
            f"max_htlc_msat {max_htlc} is above the channel capacity of {capacity_sat * 1000} msat"
        )
    if min_htlc > max_htlc:
        raise ValueError(f"min_htlc_msat {min_htlc} is above max_htlc_msat {max_htlc}")
    inbound_base, inbound_rate = (
        update.inbound
        if update.inbound is not None
        else (current.inbound_base_fee_msat, current.inbound_fee_rate_ppm)
    )
    return dataclasses.replace(
        current,
        base_fee_msat=update.base_fee_msat,
        fee_rate_ppm=update.fee_rate_ppm,
        time_lock_delta=update.time_lock_delta,
        max_htlc_msat=max_htlc,
        min_htlc_msat=min_htlc,
        inbound_base_fee_msat=inbound_base,
        inbound_fee_rate_ppm=inbound_rate,
        last_update_s=max(now_s, current.last_update_s + 1),
    )


def page_forwards(
    timestamps_ns: np.ndarray,
    *,
    index_offset: int,
    num_max_events: int,
) -> tuple[int, int, int]:
    """(first, count, last_offset_index) of a page over time-filtered, sorted timestamps.

    ``timestamps_ns`` holds the forwards inside the request's time filter, in order. As in
    LND's forwarding log, ``index_offset`` records of the filtered list are skipped, at most
    ``num_max_events`` (0 means 100, capped at 50,000) follow, and the returned offset is the
    input offset plus the number returned; past the end the page is empty.
    """
    limit = num_max_events if num_max_events != 0 else DEFAULT_MAX_EVENTS
    limit = min(limit, MAX_EVENTS)
    total = int(timestamps_ns.shape[0])
    first = min(index_offset, total)
    count = max(0, min(limit, total - first))
    return first, count, index_offset + count
