"""The market model: payment demand through our channels, on the simulated clock.

Time runs in steps of at most ``step_s`` seconds. In each step, for every channel ``c`` of ours:

* its peer's link is up or down: a two-state Markov chain with exponential spells of mean
  ``mean_online_s`` / ``mean_offline_s`` (the profile's);
* if the peer is online, the channel has been opened and our side is not disabled, forward
  attempts that want to *leave* through ``c`` arrive as a Poisson process of rate
  ``out_rate * share(fee)``, where ``share = 2 / (1 + (fee_eff / ref) ** elasticity)``,
  ``fee_eff = fee_rate_ppm + base_fee_msat * 1e6 / median_amount_msat`` is our outgoing fee in
  ppm and ``ref`` the median fee the peer's other neighbours charge to forward into that peer
  (the alternative routes); at the reference fee the share is 1, at a zero fee 2, and it falls
  towards 0 as our fee rises above the alternatives;
* each attempt enters through another channel, drawn with probability proportional to its
  ``in_weight`` times ``inbound_share`` (an inbound discount attracts incoming flow); an
  attempt whose incoming peer is offline, or whose peer does not hold the amount on its side,
  never reaches us (the payer routes elsewhere);
* the amount is log-normal (``median_amount_msat``, ``amount_sigma``), clipped to the outgoing
  policy's htlc bounds; the fee is ``base + amt * ppm / 1e6`` of the outgoing channel's policy
  plus the incoming channel's inbound fee (inbound base + ppm on the outgoing amount plus
  outgoing fee; LND 0.18 semantics), never below zero;
* attempts are then played in time order: if the outgoing channel's local balance minus its
  reserve cannot carry the amount, the forward fails (a link_fail, INSUFFICIENT_BALANCE);
  otherwise the incoming channel gains ``amt_in`` locally and the outgoing channel loses
  ``amt_out``: liquidity moves between our channels.

Everything random comes from the ``numpy.random.Generator`` passed in; the same generator state
and inputs give the same output.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MSAT_PER_SAT = 1000


@dataclass
class MarketState:
    """The mutable state of our channels, one entry per channel (index = channel number)."""

    local_msat: np.ndarray
    remote_msat: np.ndarray
    reserve_msat: np.ndarray
    out_rate_per_s: np.ndarray
    in_weight: np.ndarray
    ref_ppm: np.ndarray
    online: np.ndarray
    mean_online_s: np.ndarray
    mean_offline_s: np.ndarray
    opened_at_s: np.ndarray
    uptime_s: np.ndarray
    """Seconds the peer was online since monitoring began (float64)."""
    monitor_start_s: int
    # our side's policy
    base_fee_msat: np.ndarray
    fee_rate_ppm: np.ndarray
    inbound_base_fee_msat: np.ndarray
    inbound_fee_rate_ppm: np.ndarray
    min_htlc_msat: np.ndarray
    max_htlc_msat: np.ndarray
    disabled: np.ndarray
    manual: np.ndarray
    """0: automatic (disabled while the peer is offline), 1: forced enabled, 2: forced off."""
    policy_update_s: np.ndarray
    # market parameters
    elasticity: float
    median_amount_msat: float
    amount_sigma: float

    @property
    def size(self) -> int:
        return int(self.local_msat.shape[0])


@dataclass(frozen=True)
class WindowResult:
    """What a window of simulated time produced (channel numbers, not chan ids)."""

    fwd_ts_ns: np.ndarray
    fwd_in: np.ndarray
    fwd_out: np.ndarray
    fwd_amt_in: np.ndarray
    fwd_amt_out: np.ndarray
    fwd_fee: np.ndarray
    fail_ts_ns: np.ndarray
    fail_in: np.ndarray
    fail_out: np.ndarray
    fail_amt: np.ndarray
    status_changes: list[tuple[int, int, bool]]
    """(time_s, channel number, online) for each peer that went online or offline."""


def demand_share(st: MarketState) -> np.ndarray:
    """Each channel's demand multiplier from its fee against the reference fee."""
    fee_eff = st.fee_rate_ppm + st.base_fee_msat * 1e6 / st.median_amount_msat
    ratio = fee_eff / st.ref_ppm
    return 2.0 / (1.0 + np.power(ratio, st.elasticity))


def inbound_share(st: MarketState) -> np.ndarray:
    """Each channel's incoming-weight multiplier from its inbound fee (a discount attracts).

    The inbound fee is priced on top of the reference fee into the peer: at no inbound fee the
    multiplier is 1, at a discount equal to the reference fee 2, and a surcharge lowers it.
    """
    fee_eff = st.inbound_fee_rate_ppm + st.inbound_base_fee_msat * 1e6 / st.median_amount_msat
    ratio = np.maximum(st.ref_ppm + fee_eff, 0.0) / st.ref_ppm
    return 2.0 / (1.0 + np.power(ratio, st.elasticity))


BLOCK_CELLS = 1 << 20
"""Steps x channels handled at once (bounds memory on big nodes)."""


def simulate(
    st: MarketState, t0: int, t1: int, rng: np.random.Generator, step_s: int
) -> WindowResult:
    """Run the market from ``t0`` to ``t1`` (seconds), mutating ``st``; return what happened."""
    n = st.size
    if t1 <= t0 or n == 0:
        return _empty()
    n_steps = -(-(t1 - t0) // step_s)
    starts = t0 + np.arange(n_steps, dtype=np.int64) * step_s
    ends = np.minimum(starts + step_s, t1)
    dts = (ends - starts).astype(np.float64)
    monitored = np.clip(ends - np.maximum(starts, st.monitor_start_s), 0, None)

    # Peer uptime: a Markov chain, step by step. up[k, c]: peer online and channel open.
    up = np.empty((n_steps, n), dtype=bool)
    state = st.online.copy()
    changes: list[tuple[int, int, bool]] = []
    uptime = st.uptime_s.copy()
    for k in range(n_steps):
        dt = dts[k]
        u = rng.random(n)
        flip = np.where(
            state, u < -np.expm1(-dt / st.mean_online_s), u < -np.expm1(-dt / st.mean_offline_s)
        )
        if flip.any():
            state = state ^ flip
            ts = int(starts[k])
            changes.extend((ts, int(i), bool(state[i])) for i in np.flatnonzero(flip))
        up[k] = state & (st.opened_at_s <= starts[k])
        uptime += up[k] * float(monitored[k])
    st.online = state
    st.uptime_s = uptime

    # Automatic status: our side is disabled while the peer is offline.
    auto = st.manual == 0
    for ts, i, is_online in changes:
        if auto[i]:
            st.disabled[i] = not is_online
            st.policy_update_s[i] = ts
    # Automatic channels follow their peer; the others carry unless our policy is disabled.
    forced_off = ~auto & st.disabled
    rate = st.out_rate_per_s * demand_share(st)
    rate = np.where(forced_off, 0.0, rate)
    cdf = np.cumsum(st.in_weight * inbound_share(st), dtype=np.float64)
    if cdf[-1] <= 0 or not rate.any():
        return _empty(changes)

    parts: list[tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]] = []
    block = max(1, BLOCK_CELLS // n)
    for b0 in range(0, n_steps, block):
        b1 = min(n_steps, b0 + block)
        parts.append(_block(st, rng, cdf, rate, up, starts, dts, b0, b1))
    ok = [p[0] for p in parts]
    failed = [p[1] for p in parts]
    del parts

    def cat(chunks: list[tuple[np.ndarray, ...]], f: int) -> np.ndarray:
        return np.concatenate([c[f] for c in chunks])

    return WindowResult(
        fwd_ts_ns=cat(ok, 0),
        fwd_in=cat(ok, 1),
        fwd_out=cat(ok, 2),
        fwd_amt_in=cat(ok, 3),
        fwd_amt_out=cat(ok, 4),
        fwd_fee=cat(ok, 5),
        fail_ts_ns=cat(failed, 0),
        fail_in=cat(failed, 1),
        fail_out=cat(failed, 2),
        fail_amt=cat(failed, 3),
        status_changes=changes,
    )


def _block(
    st: MarketState,
    rng: np.random.Generator,
    cdf: np.ndarray,
    rate: np.ndarray,
    up: np.ndarray,
    starts: np.ndarray,
    dts: np.ndarray,
    b0: int,
    b1: int,
) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    """Draw and play the attempts of steps ``b0..b1``: (settled columns, failed columns)."""
    n = st.size
    ub = up[b0:b1]
    lam = ub * (dts[b0:b1, None] * rate[None, :])
    counts = rng.poisson(lam)
    total = int(counts.sum())
    flat = np.repeat(np.arange(counts.size, dtype=np.int64), counts.ravel())
    step_idx = flat // n + b0
    out_ch = flat % n
    in_ch = np.searchsorted(cdf, rng.random(total) * cdf[-1], side="right")
    in_ch = np.minimum(in_ch, n - 1)
    ts_ns = (
        (starts[step_idx].astype(np.float64) + rng.random(total) * dts[step_idx]) * 1e9
    ).astype(np.int64)
    amount = np.exp(np.log(st.median_amount_msat) + st.amount_sigma * rng.standard_normal(total))
    keep = (in_ch != out_ch) & up[step_idx, in_ch]
    in_ch, out_ch, ts_ns, amount = in_ch[keep], out_ch[keep], ts_ns[keep], amount[keep]
    amt_out = np.clip(amount.astype(np.int64), st.min_htlc_msat[out_ch], st.max_htlc_msat[out_ch])
    amt_out = np.maximum(amt_out, 1)
    fee_out = st.base_fee_msat[out_ch] + (amt_out * st.fee_rate_ppm[out_ch]) // 1_000_000
    fee_in = (
        st.inbound_base_fee_msat[in_ch]
        + ((amt_out + fee_out) * st.inbound_fee_rate_ppm[in_ch]) // 1_000_000
    )
    fee = np.maximum(fee_out + fee_in, 0)
    amt_in = amt_out + fee
    order = np.argsort(ts_ns, kind="stable")
    in_ch, out_ch, ts_ns = in_ch[order], out_ch[order], ts_ns[order]
    amt_out, amt_in, fee = amt_out[order], amt_in[order], fee[order]
    status = _play(st, in_ch, out_ch, amt_in, amt_out)
    ok = status == 1
    failed = status == 2
    return (
        (ts_ns[ok], in_ch[ok], out_ch[ok], amt_in[ok], amt_out[ok], fee[ok]),
        (ts_ns[failed], in_ch[failed], out_ch[failed], amt_out[failed]),
    )


def _play(
    st: MarketState,
    in_ch: np.ndarray,
    out_ch: np.ndarray,
    amt_in: np.ndarray,
    amt_out: np.ndarray,
) -> np.ndarray:
    """Play attempts in order against balances. 1 settled, 2 failed (our side), 0 never came."""
    local = st.local_msat.tolist()
    remote = st.remote_msat.tolist()
    reserve = st.reserve_msat.tolist()
    status = bytearray(len(in_ch))
    i = 0
    for ci, co, ai, ao in zip(
        in_ch.tolist(), out_ch.tolist(), amt_in.tolist(), amt_out.tolist(), strict=True
    ):
        if remote[ci] - ai < reserve[ci]:
            pass  # the payer's route through that peer lacks liquidity: it never reaches us
        elif local[co] - ao < reserve[co]:
            status[i] = 2
        else:
            remote[ci] -= ai
            local[ci] += ai
            local[co] -= ao
            remote[co] += ao
            status[i] = 1
        i += 1
    st.local_msat = np.array(local, dtype=np.int64)
    st.remote_msat = np.array(remote, dtype=np.int64)
    return np.frombuffer(bytes(status), dtype=np.uint8)


def _empty(changes: list[tuple[int, int, bool]] | None = None) -> WindowResult:
    z = np.zeros(0, dtype=np.int64)
    return WindowResult(z, z, z, z, z, z, z, z, z, z, changes or [])
