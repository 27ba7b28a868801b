"""What the simulated node serves of its on-chain side, as LND computes it: each channel's
commitment fee and constraints (ListChannels), the funding transactions of the channels it
opened (GetTransactions), and the chain's fee estimate (WalletKit.EstimateFee).

The simulator keeps no wallet or mempool; these values follow LND's defaults and formulas
from each channel's capacity, channel point and the simulated clock, deterministically:

- commitment: an anchor channel with no HTLC in flight weighs 1,124 WU; LND caps the
  commitment fee rate of anchor channels at 10 sat/vB, i.e. 2,500 sat/kw; the fee
  (weight x rate / 1000 = 2,810 sat) is paid by the initiator, whose balance LND reports
  without it;
- constraints (LND's defaults, the same on both sides here): reserve 1% of capacity (the one
  the market model keeps), dust limit 354 sat, CSV delay scaled with capacity from 144 to 2,016
  blocks, at most capacity minus reserve in flight, HTLCs of 1 msat and more, 483 HTLCs;
- funding: a 1-input P2WPKH, P2WSH + change transaction of 153 vB, at a fee rate between 2
  and 30 sat/vB drawn from the channel point (the same every time it is asked);
- fee estimate: a day-by-day base rate between 2 and 40 sat/vB drawn from the simulated day,
  higher for a nearer confirmation target (x (1 + 6 / target)), never below LND's floor of
  253 sat/kw.
"""

from __future__ import annotations

import hashlib

import grpc

from mcp_optimizer.providers.lnd.gen import lightning_pb2 as ln
from mcp_optimizer.providers.lnd.gen import walletkit_pb2 as wk
from mcp_optimizer.providers.lnd.gen import walletkit_pb2_grpc as wk_grpc
from mcp_optimizer.scid import scid_block_height
from mcp_optimizer.simulator.build import RESERVE_FRACTION
from mcp_optimizer.simulator.model import SimChannel, SimulatedNode

ANCHOR_COMMIT_WEIGHT = 1124
COMMIT_FEE_PER_KW = 2500
DUST_LIMIT_SAT = 354
MAX_ACCEPTED_HTLCS = 483
MIN_HTLC_MSAT = 1
MAX_FUNDING_SAT = 16_777_215
"""The largest non-wumbo channel; LND scales the CSV delay up to it."""
FUNDING_VSIZE = 153
FEE_FLOOR_SAT_PER_KW = 253
"""LND's minimum relay fee rate (1 sat/vB minus rounding, as FeePerKwFloor)."""


def _unit(*parts: object) -> float:
    """A number in [0, 1) fixed by ``parts`` (sha256), the same on every call."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def commit_fee_sat() -> int:
    return COMMIT_FEE_PER_KW * ANCHOR_COMMIT_WEIGHT // 1000


def reserve_sat(capacity_sat: int) -> int:
    """The reserve the market model holds back (1% of capacity, ``build.RESERVE_FRACTION``)."""
    return round(capacity_sat * RESERVE_FRACTION)


def csv_delay(capacity_sat: int) -> int:
    return max(144, min(2016, round(2016 * capacity_sat / MAX_FUNDING_SAT)))


def constraints(capacity_sat: int) -> ln.ChannelConstraints:
    reserve = reserve_sat(capacity_sat)
    return ln.ChannelConstraints(
        csv_delay=csv_delay(capacity_sat),
        chan_reserve_sat=reserve,
        dust_limit_sat=DUST_LIMIT_SAT,
        max_pending_amt_msat=(capacity_sat - reserve) * 1000,
        min_htlc_msat=MIN_HTLC_MSAT,
        max_accepted_htlcs=MAX_ACCEPTED_HTLCS,
    )


def onchain_fields(c: SimChannel) -> dict:
    """The ListChannels fields of the channel's on-chain side, balances as LND reports them
    (the initiator's without the commitment fee)."""
    fee = commit_fee_sat()
    local, remote = c.local_balance_sat, c.remote_balance_sat
    if c.initiator:
        local = max(0, local - fee)
    else:
        remote = max(0, remote - fee)
    reserve = reserve_sat(c.capacity_sat)
    return {
        "local_balance": local,
        "remote_balance": remote,
        "commit_fee": fee,
        "commit_weight": ANCHOR_COMMIT_WEIGHT,
        "fee_per_kw": COMMIT_FEE_PER_KW,
        "csv_delay": csv_delay(c.capacity_sat),
        "local_chan_reserve_sat": reserve,
        "remote_chan_reserve_sat": reserve,
        "local_constraints": constraints(c.capacity_sat),
        "remote_constraints": constraints(c.capacity_sat),
    }


def funding_fee_sat(channel_point: str) -> int:
    rate = 2 + int(_unit("funding", channel_point) * 29)  # 2..30 sat/vB
    return FUNDING_VSIZE * rate


def funding_transactions(
    node: SimulatedNode, start_height: int, end_height: int
) -> list[ln.Transaction]:
    """The funding transactions of the channels we opened, mined in ``[start, end]``
    (``end`` 0 or -1: up to the tip, as LND reads it)."""
    tip = node.block_height()
    hi = tip if end_height in (0, -1) else end_height
    lo, hi = (start_height, hi) if start_height <= hi else (hi, start_height)
    out = []
    for c in node.channels():
        if not c.initiator:
            continue
        height = scid_block_height(c.chan_id)
        if not lo <= height <= hi:
            continue
        fee = funding_fee_sat(c.channel_point)
        out.append(ln.Transaction(
            tx_hash=c.channel_point.split(":")[0],
            amount=-(c.capacity_sat + fee),
            num_confirmations=max(0, tip - height + 1),
            block_hash="",
            block_height=height,
            time_stamp=c.opened_at_s,
            total_fees=fee,
            label=f"0:openchannel:shortchanid-{c.chan_id}",
        ))
    out.sort(key=lambda t: (t.block_height, t.tx_hash))
    return out


def fee_estimate_sat_per_kw(now_s: int, conf_target: int) -> int:
    base_vb = 2 + _unit("feerate", now_s // 86400) * 38  # 2..40 sat/vB, one per day
    rate = base_vb * (1 + 6 / conf_target) * 250  # sat/vB -> sat/kw (1 vB = 4 WU)
    return max(FEE_FLOOR_SAT_PER_KW, int(rate))


class WalletKitServicer(wk_grpc.WalletKitServicer):
    """``walletrpc.WalletKit``: EstimateFee only."""

    def __init__(self, node: SimulatedNode, auth) -> None:
        self.node = node
        self.auth = auth

    def EstimateFee(self, request, context):
        self.auth.check(context, "EstimateFee")
        if request.conf_target < 2:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                          "confirmation target must be greater than 1")
        return wk.EstimateFeeResponse(
            sat_per_kw=fee_estimate_sat_per_kw(self.node.now_s(), request.conf_target)
        )
