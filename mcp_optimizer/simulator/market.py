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
  ``in_weight``; an attempt whose incoming peer is offline, or whose peer does not hold the
  amount on its side, never reaches us (the payer routes elsewhere);
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


def simulate(st: MarketState, t0: int, t1: int, rng: np.random.Generator, step_s: int) -> (
    WindowResult
):
    """Run the market from ``t0`` to ``t1`` (seconds), mutating ``st``; return what happened."""
    n = st.size
    if t1 <= t0 or n == 0:
        return _empty()
    n_steps = -(-(t1 - t0) // step_s)
    starts = t0 + np.arange(n_steps, dtype=np.int64) * step_s
    ends = np.minimum(starts + step_s, t1)
    dts = (ends - starts).astype(np.float64)

    # Peer uptime: Markov chain step by step.
    online = np.empty((n_steps, n), dtype=bool)
    state = st.online.copy()
    changes: list[tuple[int, int, bool]] = []
    p_off_base = st.mean_online_s
    p_on_base = st.mean_offline_s
    for k in range(n_steps):
        dt = dts[k]
        u = rng.random(n)
        p_off = -np.expm1(-dt / p_off_base)
        p_on = -np.expm1(-dt / p_on_base)
        flip = np.where(state, u < p_off, u < p_on)
        if flip.any():
            state = state ^ flip
            ts = int(starts[k])
            changes.extend((ts, int(i), bool(state[i])) for i in np.flatnonzero(flip))
        online[k] = state
    st.online = state
    opened = st.opened_at_s[None, :] <= starts[:, None]
    up = online & opened
    monitored = np.maximum(starts, st.monitor_start_s)
    st.uptime_s = st.uptime_s + (
        up * np.clip(ends - monitored, 0, None)[:, None].astype(np.float64)
    ).sum(axis=0)

    # Automatic status: our side is disabled while the peer is offline.
    auto = st.manual == 0
    if changes:
        for ts, i, is_online in changes:
            if auto[i]:
                st.disabled[i] = not is_online
                st.policy_update_s[i] = ts
    # Out-carrying channels per step: online, opened, not disabled by hand or policy.
    # (automatic channels follow their peer; the others carry unless our policy is disabled)
    forced_off = ~auto & st.disabled
    carry = up & ~forced_off[None, :] if forced_off.any() else up
    rate = st.out_rate_per_s * demand_share(st)
    lam = carry * (dts[:, None] * rate[None, :])
    counts = rng.poisson(lam)
    total = int(counts.sum())
    if total == 0:
        return _empty(changes)
    flat = np.repeat(np.arange(n_steps * n, dtype=np.int64), counts.ravel())
    step_idx = flat // n
    out_ch = flat % n

    # Incoming side.
    cdf = np.cumsum(st.in_weight, dtype=np.float64)
    if cdf[-1] <= 0:
        return _empty(changes)
    in_ch = np.searchsorted(cdf, rng.random(total) * cdf[-1], side="right")
    in_ch = np.minimum(in_ch, n - 1)
    ts_ns = (
        (starts[step_idx].astype(np.float64) + rng.random(total) * dts[step_idx]) * 1e9
    ).astype(np.int64)
    amount = np.exp(
        np.log(st.median_amount_msat) + st.amount_sigma * rng.standard_normal(total)
    )
    keep = (in_ch != out_ch) & up[step_idx, in_ch]
    in_ch, out_ch, ts_ns, amount = in_ch[keep], out_ch[keep], ts_ns[keep], amount[keep]
    amt_out = np.clip(
        amount.astype(np.int64), st.min_htlc_msat[out_ch], st.max_htlc_msat[out_ch]
    )
    amt_out = np.maximum(amt_out, 1)
    fee_out = st.base_fee_msat[out_ch] + (amt_out * st.fee_rate_ppm[out_ch]) // 1_000_000
    fee_in = st.inbound_base_fee_msat[in_ch] + (
        (amt_out + fee_out) * st.inbound_fee_rate_ppm[in_ch]
    ) // 1_000_000
    fee = np.maximum(fee_out + fee_in, 0)
    amt_in = amt_out + fee
    order = np.argsort(ts_ns, kind="stable")
    in_ch, out_ch, ts_ns = in_ch[order], out_ch[order], ts_ns[order]
    amt_out, amt_in, fee = amt_out[order], amt_in[order], fee[order]

    status = _play(st, in_ch, out_ch, amt_in, amt_out)
    ok = status == 1
    failed = status == 2
    return WindowResult(
        fwd_ts_ns=ts_ns[ok],
        fwd_in=in_ch[ok],
        fwd_out=out_ch[ok],
        fwd_amt_in=amt_in[ok],
        fwd_amt_out=amt_out[ok],
        fwd_fee=fee[ok],
        fail_ts_ns=ts_ns[failed],
        fail_in=in_ch[failed],
        fail_out=out_ch[failed],
        fail_amt=amt_out[failed],
        status_changes=changes,
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
