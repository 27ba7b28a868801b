"""The market model: payments choosing routes through (or around) our channels.

docs/simulator.md explains every part and parameter with its reasoning; in short:

* **Route choice.** Forward attempts that could leave through our channel ``c`` (to peer
  ``P``) form a demand pool of rate ``D_c``. Each sender compares our channel with the
  alternatives: the peer's other inbound channels from the graph (grouped into at most
  ``SLOTS`` competitor *slots* by fee rank, a slot standing for the ``mult`` channels of its
  group) and a bypass route that avoids ``P``. Like LND's pathfinding it weighs each
  alternative's fee (rate + base at the payment's amount) against its success probability
  (a priori 0.6 times LND's capacity factor; 0.95 for a route the sender already used
  successfully; ~0 shortly after it failed) through the attempt cost
  ``attempt_cost_sat + amt * attempt_cost_ppm``, plus the sender's own, route-specific
  upstream cost (a logistic noise of scale ``sigma_c``: where the sender sits in the graph).
  The sender takes the cheapest and gives up when the fee exceeds its fee limit. Our share
  ``P_c(fee)`` is the probability that we are cheapest: it falls from near 1 to 0 as our fee
  rises through the competitors', so ``fee * P_c(fee)`` has a finite maximum that depends on
  that channel's competition.
* **Memory.** A share ``sender_memory`` of senders remember the route they last used; the
  population's memory follows the choices with a time constant ``memory_days``. A forward
  that fails on our channel makes a share ``failure_share`` of the pool avoid it, decaying with
  LND's penalty half-life ``failure_half_life_s``.
* **Demand drift.** Weekly and daily seasonality, and regime changes (the pool's level and the
  channel's incoming weight jump at Poisson times, log-normally).
* **Competitors move.** Some competitor slots drift (a mean-reverting random walk of their fee
  at Poisson times), some react to our fee (move half-way towards it). Their new fees are
  written back to the graph the node serves.
* **Stale gossip.** For ``gossip_delay_s`` (exponentially) after a fee change part of the
  senders still know the old fee: after a raise their forwards fail ``FEE_INSUFFICIENT``.
* **Liquidity.** Each attempt enters through one of our other channels (incoming weight times
  the inbound-fee response); attempts are played in time order against the balances: the
  incoming side gains ``amt_in``, the outgoing side loses ``amt_out``, or the forward fails
  ``INSUFFICIENT_BALANCE``. Balances are conserved per channel.

Time advances in steps of at most ``step_s``; the slow state (memory, avoidance, competitors,
regimes) is updated at the end of each block of steps of at most ``BLOCK_S`` seconds.
Everything random comes from the two ``numpy.random.Generator``s passed in (``rng`` for
traffic and uptime, ``exo`` for what does not depend on our actions: competitor and regime
event times): the same generator states, inputs and calls give the same output.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from statistics import NormalDist

import numpy as np
from numba import njit

MSAT_PER_SAT = 1000
DAY = 86_400.0
WEEK = 7 * DAY
BLOCK_S = 3600
"""Longest interval between updates of the slow state (memory, avoidance, competitors)."""

SLOTS = 8
"""Competitor slots per channel (the peer's inbound channels grouped by fee rank)."""
SENDERS = 48
"""Sender samples per channel and amount class (Monte Carlo over the competitors' noise)."""
CLASSES = 4
"""Amount classes: the quartiles of the amount distribution."""

APRIORI_P = 0.6
"""LND's apriori hop probability (routerrpc.apriori.hopprob)."""
SUCCESS_P = 0.95
"""LND's probability for a pair that succeeded before (prevSuccessProbability)."""
CAP_FRACTION = 0.9999
"""LND's DefaultCapacityFraction (capacity factor cut-off)."""
CAP_SMEARING = 0.025
"""LND's capacitySmearingFraction."""
MIN_CAP_FACTOR = 0.5
"""LND's minCapacityFactor."""

KIND_STATIC, KIND_DRIFT, KIND_REACT, KIND_BYPASS = 0, 1, 2, 3
FAIL_BALANCE, FAIL_FEE = 1, 2
"""Failure kinds of :class:`WindowResult`: INSUFFICIENT_BALANCE, FEE_INSUFFICIENT."""

# Class midpoints (quantiles 1/8, 3/8, 5/8, 7/8 of a standard normal) and an inverse-CDF
# table to draw amounts inside a class.
_ND = NormalDist()
CLASS_Z = np.array([_ND.inv_cdf((j + 0.5) / CLASSES) for j in range(CLASSES)])
_U_GRID = np.linspace(1e-6, 1 - 1e-6, 4097)
_Z_GRID = np.array([_ND.inv_cdf(float(u)) for u in _U_GRID])


@dataclass(frozen=True)
class MarketParams:
    """Scalar parameters of the market, all given by the scenario (its ``market:``, where the
    defaults and their reasoning live: ``scenario.MarketSpec``, docs/simulator.md)."""

    elasticity: float
    elasticity_spread: float
    amount_median_msat: float
    amount_sigma: float
    attempt_cost_msat: float
    attempt_cost_ppm: float
    sender_memory: float
    memory_days: float
    failure_share: float
    failure_half_life_s: float
    gossip_delay_s: float
    fee_limit_ppm: tuple[float, float]
    competitor_drift_share: float
    competitor_drift_days: float
    competitor_react_share: float
    competitor_react_days: float
    seasonality_weekly: float
    seasonality_daily: float
    regime_days: float
    regime_sigma: float
    max_competitors: float
    network_median_ppm: float
    network_median_base_msat: float


@dataclass
class Competition:
    """Each channel's alternatives: ``SLOTS`` competitor slots (the last one the bypass)."""

    ppm: np.ndarray
    """(n, SLOTS) current fee rate of each slot (float ppm)."""
    base: np.ndarray
    """(n, SLOTS) base fee (msat)."""
    ppm0: np.ndarray
    """(n, SLOTS) the slot's fee at the start (drift reverts to it; reactions are bounded by
    a factor 4 around it)."""
    mult: np.ndarray
    """(n, SLOTS) how many channels the slot stands for (0: empty slot)."""
    cap_sat: np.ndarray
    """(n, SLOTS) median capacity of the slot's channels."""
    kind: np.ndarray
    """(n, SLOTS) KIND_STATIC, KIND_DRIFT, KIND_REACT or KIND_BYPASS."""
    next_event_s: np.ndarray
    """(n, SLOTS) time of the slot's next fee change (inf: never)."""
    noise_u: np.ndarray
    """(n, SLOTS, SENDERS) float32 uniforms: each sender's upstream-cost draw per slot."""


@dataclass
class MarketState:
    """The mutable state of our channels, one entry per channel (index = channel number)."""

    local_msat: np.ndarray
    remote_msat: np.ndarray
    reserve_msat: np.ndarray
    out_rate_per_s: np.ndarray
    """Attempts per second the channel gets at the reference fee (the scenario's volume)."""
    in_weight: np.ndarray
    ref_ppm: np.ndarray
    """The competitors' median fee into the peer at the start (the reference fee)."""
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
    # the route-choice market (filled by :func:`init_market`)
    params: MarketParams | None = None
    capacity_sat: np.ndarray | None = None
    comp: Competition | None = None
    sigma_ppm: np.ndarray | None = None
    """Per channel: scale of the senders' upstream-cost noise (ppm)."""
    peer_elasticity: np.ndarray | None = None
    demand_per_s: np.ndarray | None = None
    """D_c: the pool's attempt rate (every sender that could use the channel)."""
    thresholds: np.ndarray | None = None
    """(n, CLASSES, SENDERS) float32: the cheapest alternative's cost minus our costs other
    than our fee, per sender sample (ppm of the class amount)."""
    choice: np.ndarray | None = None
    """(n, 3, CLASSES) P(a sender picks us) at our current fee, for senders who remember us,
    who remember a competitor, who remember nothing."""
    choice_fee: np.ndarray | None = None
    """(n, 2) the (ppm, base) ``choice`` was computed for."""
    prev_choice: np.ndarray | None = None
    """(n, 3, CLASSES) the same at the fee before the last change (stale senders)."""
    prev_fee_rate_ppm: np.ndarray | None = None
    prev_base_fee_msat: np.ndarray | None = None
    fee_change_s: np.ndarray | None = None
    """When our fee last changed (stale gossip decays from there)."""
    mem_us: np.ndarray | None = None
    """Share of the pool remembering a success through us."""
    mem_other: np.ndarray | None = None
    """Share of the pool remembering a success through a competitor."""
    avoid: np.ndarray | None = None
    """Share of the pool avoiding the channel after recent failures."""
    out_level: np.ndarray | None = None
    in_level: np.ndarray | None = None
    next_regime_s: np.ndarray | None = None
    phase_week: np.ndarray | None = None
    phase_day: np.ndarray | None = None
    dirty_thresholds: np.ndarray | None = None
    slot_changes: list[tuple[int, int, int, float, float]] = field(default_factory=list)
    """(time_s, channel, slot, old ppm, new ppm) of each competitor move not yet written to
    the graph (the node's builder drains it)."""

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
    fail_kind: np.ndarray | None = None
    """FAIL_BALANCE or FAIL_FEE per failure (None: all FAIL_BALANCE)."""


# -- pure pieces ------------------------------------------------------------------------------


def class_amounts_msat(params: MarketParams) -> np.ndarray:
    """The representative amount of each class (msat)."""
    return params.amount_median_msat * np.exp(params.amount_sigma * CLASS_Z)


def capacity_factor(amt_msat: np.ndarray, cap_sat: np.ndarray) -> np.ndarray:
    """LND's apriori capacity factor (routing/probability_apriori.go)."""
    cap = np.maximum(cap_sat * 1000.0, 1.0)
    with np.errstate(over="ignore"):
        den = 1.0 + np.exp(-(amt_msat - CAP_FRACTION * cap) / (CAP_SMEARING * cap))
    f = 1.0 - (1.0 - MIN_CAP_FACTOR) / den
    return np.where(amt_msat > cap, 1e-3, f)


def penalty_ppm(params: MarketParams, amt_msat: np.ndarray) -> np.ndarray:
    """LND's attempt cost as ppm of the amount: (attempt cost + amt * cost ppm) / amt."""
    return params.attempt_cost_msat * 1e6 / amt_msat + params.attempt_cost_ppm


def memory_bonus_ppm(params: MarketParams) -> np.ndarray:
    """What a remembered success is worth to a sender, per class (ppm): the attempt cost
    divided by 0.6 instead of 0.95."""
    a = class_amounts_msat(params)
    return penalty_ppm(params, a) * (1.0 / APRIORI_P - 1.0 / SUCCESS_P)


def thresholds(st: MarketState, idx: np.ndarray) -> np.ndarray:
    """(len(idx), CLASSES, SENDERS): per sender sample, the cost of the cheapest alternative
    minus our non-fee costs, in ppm of the class amount (``inf``: no alternative)."""
    p = st.params
    c = st.comp
    a = class_amounts_msat(p)  # (J,)
    pen = penalty_ppm(p, a)  # (J,)
    mult = c.mult[idx]  # (i, K)
    u = c.noise_u[idx].astype(np.float64)  # (i, K, S)
    sig = st.sigma_ppm[idx]
    with np.errstate(divide="ignore", invalid="ignore"):
        # the cheapest of ``mult`` iid logistic draws: inverse CDF of the minimum
        m = np.where(mult > 0, mult, 1.0)[:, :, None]
        q = 1.0 - np.power(1.0 - u, 1.0 / m)
        q = np.clip(q, 1e-9, 1 - 1e-9)
        noise = sig[:, None, None] * np.log(q / (1.0 - q))
    noise = np.where((mult > 0)[:, :, None], noise, np.inf)
    ours_p = APRIORI_P * capacity_factor(a[None, :], st.capacity_sat[idx][:, None])  # (i, J)
    theirs_p = APRIORI_P * capacity_factor(a[None, None, :], c.cap_sat[idx][:, :, None])
    fixed = (
        c.ppm[idx][:, :, None]
        + c.base[idx][:, :, None] * 1e6 / a[None, None, :]
        + pen[None, None, :] * (1.0 / theirs_p - 1.0 / ours_p[:, None, :])
    )  # (i, K, J)
    cost = fixed[:, :, :, None] + noise[:, :, None, :]  # (i, K, J, S)
    return cost.min(axis=1).astype(np.float32)


def choice_at(st: MarketState, idx: np.ndarray, ppm: np.ndarray, base: np.ndarray) -> np.ndarray:
    """(len(idx), 3, CLASSES): P(a sender picks us) at fee (ppm, base) for channels ``idx``,
    for senders remembering us, remembering a competitor, remembering nothing."""
    p = st.params
    a = class_amounts_msat(p)
    fee_j = ppm[:, None] + base[:, None] * 1e6 / a[None, :]  # (i, J)
    sig = st.sigma_ppm[idx][:, None, None]
    w = st.thresholds[idx].astype(np.float64)  # (i, J, S)
    bonus = memory_bonus_ppm(p)[None, :, None]
    x = w - fee_j[:, :, None]
    out = np.empty((idx.size, 3, CLASSES))
    with np.errstate(invalid="ignore"):
        for k, shift in enumerate((bonus, -bonus, 0.0)):
            z = (x + shift) / sig
            out[:, k, :] = np.nan_to_num(0.5 * (1.0 + np.tanh(0.5 * z)), nan=1.0).mean(axis=2)
    lo, hi = p.fee_limit_ppm
    total = np.maximum(fee_j + 2 * p.network_median_ppm, 1.0)
    allowed = 1.0 - np.clip(np.log(total / lo) / math.log(hi / lo), 0.0, 1.0)
    return out * allowed[:, None, :]


def mix(choice: np.ndarray, mem_us: np.ndarray, mem_other: np.ndarray) -> np.ndarray:
    """(n, CLASSES): P(pick us) over the pool's memory states."""
    none = 1.0 - mem_us - mem_other
    return (
        mem_us[:, None] * choice[:, 0]
        + mem_other[:, None] * choice[:, 1]
        + none[:, None] * choice[:, 2]
    )


def steady_memory(st: MarketState, choice: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The pool's memory shares in equilibrium with ``choice`` (fixed point, 30 rounds)."""
    mem = st.params.sender_memory
    n = choice.shape[0]
    h = np.full(n, mem * 0.5)
    g = np.full(n, mem * 0.5)
    for _ in range(30):
        pi = mix(choice, h, g).mean(axis=1)
        h, g = mem * pi, mem * (1.0 - pi)
    return h, g


def revenue_curve(
    st: MarketState, chan: int, fees_ppm: np.ndarray, *, base_fee_msat: float | None = None
) -> dict[str, np.ndarray]:
    """Expected attempts and fee income per day of channel ``chan`` at each fee rate in
    ``fees_ppm``, in the market's current state (competitors, demand level, seasonality
    averaged out), with the senders' memory in equilibrium with each fee and no liquidity
    limit (every attempt settles). Pure: ``st`` is not changed.

    Returns ``{"fee_ppm", "attempts_per_day", "revenue_msat_per_day"}``. A yardstick for
    reports, not the truth of a run: liquidity, failures, the peer's downtime, avoidance and the
    memory's lag are not in it.
    """
    fees = np.asarray(fees_ppm, dtype=np.float64)
    base = float(st.base_fee_msat[chan]) if base_fee_msat is None else float(base_fee_msat)
    idx = np.full(fees.size, chan, dtype=np.int64)
    ch = choice_at(st, idx, fees, np.full(fees.size, base))
    h, g = steady_memory(st, ch)
    share = mix(ch, h, g)  # (F, J)
    level = math.exp(float(st.out_level[chan]))
    rate = float(st.demand_per_s[chan]) * DAY * level
    a = class_amounts_msat(st.params)
    attempts = rate * share.mean(axis=1)
    fee_msat = base + a[None, :] * fees[:, None] / 1e6  # (F, J)
    revenue = rate * (share * fee_msat).mean(axis=1)
    return {"fee_ppm": fees, "attempts_per_day": attempts, "revenue_msat_per_day": revenue}


# -- set-up -----------------------------------------------------------------------------------


def init_market(
    st: MarketState,
    comp: Competition,
    capacity_sat: np.ndarray,
    params: MarketParams,
    rng: np.random.Generator,
    exo: np.random.Generator,
    start_s: int,
) -> None:
    """Fill the route-choice part of ``st``: per-peer elasticity, noise scale, thresholds,
    the pool's demand (calibrated so that at the reference fee the channel gets its
    scenario volume), the memory in equilibrium with the current fee, regimes, phases."""
    n = st.size
    st.params = params
    st.comp = comp
    st.capacity_sat = capacity_sat.astype(np.float64)
    spread = params.elasticity_spread
    st.peer_elasticity = params.elasticity * np.exp(spread * rng.standard_normal(n))
    level = 0.5 * (np.maximum(st.ref_ppm, 1.0) + params.network_median_ppm)
    with np.errstate(divide="ignore"):
        st.sigma_ppm = np.where(
            st.peer_elasticity > 0, level / np.maximum(st.peer_elasticity, 1e-9), 1e12
        )
    st.sigma_ppm = np.minimum(st.sigma_ppm, 1e12)
    idx = np.arange(n)
    st.thresholds = thresholds(st, idx)
    base = st.base_fee_msat.astype(np.float64)
    at_ref = choice_at(st, idx, st.ref_ppm.astype(np.float64), base)
    h, g = steady_memory(st, at_ref)
    pi_ref = mix(at_ref, h, g).mean(axis=1)
    # the pool is at most twice what parity with every alternative would give the channel
    # (1 + their number): in a market where the competitors' median is far above the
    # cheapest ones, the channel then gets less than its volume at the reference fee
    # rather than a pool hundreds of times its volume
    alternatives = 1.0 + comp.mult.sum(axis=1)
    st.demand_per_s = st.out_rate_per_s / np.maximum(pi_ref, 0.5 / alternatives)
    _refresh_choice(st, idx)
    st.mem_us, st.mem_other = steady_memory(st, st.choice)
    st.prev_choice = st.choice.copy()
    st.prev_fee_rate_ppm = st.fee_rate_ppm.copy()
    st.prev_base_fee_msat = st.base_fee_msat.copy()
    st.fee_change_s = np.full(n, -1e18)
    st.avoid = np.zeros(n)
    # log multipliers of the demand regime: the history starts at the normal level (1); later
    # regimes are log-normal with mean 1 (see _regimes)
    st.out_level = np.zeros(n)
    st.in_level = np.zeros(n)
    st.next_regime_s = _next_times(exo, np.full(n, float(start_s)), params.regime_days * DAY)
    st.phase_week = 0.25 + 0.05 * rng.standard_normal(n)
    st.phase_day = 0.8 + 0.04 * rng.standard_normal(n)
    st.dirty_thresholds = np.zeros(n, dtype=bool)


def _next_times(exo: np.random.Generator, now: np.ndarray, mean_s: float) -> np.ndarray:
    if not math.isfinite(mean_s) or mean_s <= 0:
        return np.full(now.shape, np.inf)
    return now + exo.exponential(mean_s, now.shape)


def _refresh_choice(st: MarketState, idx: np.ndarray) -> None:
    ppm = st.fee_rate_ppm[idx].astype(np.float64)
    base = st.base_fee_msat[idx].astype(np.float64)
    ch = choice_at(st, idx, ppm, base)
    if st.choice is None:
        st.choice = ch
        st.choice_fee = np.stack([ppm, base], axis=1)
        return
    st.choice[idx] = ch
    st.choice_fee[idx, 0] = ppm
    st.choice_fee[idx, 1] = base


def note_policy_change(st: MarketState, j: int, now_s: int) -> None:
    """Call before our policy of channel ``j`` changes: keeps the old fee for stale senders."""
    if st.choice is None:
        return
    st.prev_fee_rate_ppm[j] = st.fee_rate_ppm[j]
    st.prev_base_fee_msat[j] = st.base_fee_msat[j]
    st.prev_choice[j] = st.choice[j]
    st.fee_change_s[j] = now_s


def sync_choice(st: MarketState) -> None:
    """Recompute the choice tables of channels whose fee or competitors changed."""
    fee = np.stack([st.fee_rate_ppm.astype(np.float64), st.base_fee_msat.astype(np.float64)], 1)
    dirty = np.any(fee != st.choice_fee, axis=1) | st.dirty_thresholds
    if not dirty.any():
        return
    idx = np.flatnonzero(dirty)
    redo = idx[st.dirty_thresholds[idx]]
    if redo.size:
        st.thresholds[redo] = thresholds(st, redo)
        st.dirty_thresholds[redo] = False
    _refresh_choice(st, idx)


def inbound_share(st: MarketState) -> np.ndarray:
    """Each channel's incoming-weight multiplier from its inbound fee (a discount attracts).

    The inbound fee is priced on top of the reference fee into the peer: at no inbound fee the
    multiplier is 1, at a discount equal to the reference fee 2, and a surcharge lowers it.
    """
    fee_eff = st.inbound_fee_rate_ppm + st.inbound_base_fee_msat * 1e6 / st.median_amount_msat
    ratio = np.maximum(st.ref_ppm + fee_eff, 0.0) / st.ref_ppm
    e = max(st.elasticity, 0.0)
    return 2.0 / (1.0 + np.power(ratio, e))


# -- time passing ---------------------------------------------------------------------------


def simulate(
    st: MarketState,
    t0: int,
    t1: int,
    rng: np.random.Generator,
    step_s: int,
    exo: np.random.Generator | None = None,
) -> WindowResult:
    """Run the market from ``t0`` to ``t1`` (seconds), mutating ``st``; return what happened."""
    n = st.size
    if t1 <= t0 or n == 0:
        return _empty()
    exo = rng if exo is None else exo
    sync_choice(st)
    block = max(1, BLOCK_S // step_s)
    n_steps = -(-(t1 - t0) // step_s)
    starts = t0 + np.arange(n_steps, dtype=np.int64) * step_s
    ends = np.minimum(starts + step_s, t1)
    dts = (ends - starts).astype(np.float64)
    monitored = np.clip(ends - np.maximum(starts, st.monitor_start_s), 0, None)
    changes: list[tuple[int, int, bool]] = []
    parts: list[tuple[np.ndarray, ...]] = []
    for b0 in range(0, n_steps, block):
        b1 = min(n_steps, b0 + block)
        parts.append(_run_block(st, rng, exo, starts[b0:b1], dts[b0:b1], monitored[b0:b1], changes))
    cat = [np.concatenate([p[f] for p in parts]) for f in range(len(parts[0]))]
    ts, ci, co, ai, ao, fee, status = cat
    ok = status == 1
    bad = status >= 2
    return WindowResult(
        fwd_ts_ns=ts[ok],
        fwd_in=ci[ok],
        fwd_out=co[ok],
        fwd_amt_in=ai[ok],
        fwd_amt_out=ao[ok],
        fwd_fee=fee[ok],
        fail_ts_ns=ts[bad],
        fail_in=ci[bad],
        fail_out=co[bad],
        fail_amt=ao[bad],
        status_changes=changes,
        fail_kind=np.where(status[bad] == 3, FAIL_FEE, FAIL_BALANCE).astype(np.int64),
    )


_E = np.zeros(0, dtype=np.int64)


def _run_block(
    st: MarketState,
    rng: np.random.Generator,
    exo: np.random.Generator,
    starts: np.ndarray,
    dts: np.ndarray,
    monitored: np.ndarray,
    changes: list[tuple[int, int, bool]],
) -> tuple[np.ndarray, ...]:
    """One block of steps: uptime, attempts, settlement, then the slow state's update."""
    p = st.params
    n = st.size
    nb = starts.size
    # Peer uptime: a Markov chain, step by step. up[k, c]: peer online and channel open.
    up = np.empty((nb, n), dtype=bool)
    state = st.online
    auto = st.manual == 0
    u_all = rng.random((nb, n))
    leave_on = u_all < -np.expm1(-dts[:, None] / st.mean_online_s[None, :])
    leave_off = u_all < -np.expm1(-dts[:, None] / st.mean_offline_s[None, :])
    for k in range(nb):
        flip = np.where(state, leave_on[k], leave_off[k])
        if flip.any():
            state = state ^ flip
            ts = int(starts[k])
            for i in np.flatnonzero(flip).tolist():
                on = bool(state[i])
                changes.append((ts, i, on))
                if auto[i]:
                    st.disabled[i] = not on
                    st.policy_update_s[i] = ts
        up[k] = state & (st.opened_at_s <= starts[k])
        st.uptime_s += up[k] * float(monitored[k])
    st.online = state
    t_mid = starts.astype(np.float64) + 0.5 * dts  # (nb,)

    # Demand per step, channel and class.
    season = (
        1.0
        + p.seasonality_weekly
        * np.cos(2 * np.pi * (t_mid[:, None] / WEEK - st.phase_week[None, :]))
        + p.seasonality_daily * np.cos(2 * np.pi * (t_mid[:, None] / DAY - st.phase_day[None, :]))
    )
    season = np.maximum(season, 0.0)
    level = st.demand_per_s * np.exp(st.out_level) * (1.0 - st.avoid)
    carry = ~((~auto) & st.disabled)
    open_ = up & carry[None, :]
    # each amount class holds 1/CLASSES of the pool's attempts
    scale = dts[:, None] * season * open_ * (level / CLASSES)[None, :]  # (nb, n)
    mixed_new = mix(st.choice, st.mem_us, st.mem_other)  # (n, J)
    gossip = max(p.gossip_delay_s, 1e-9)
    any_stale = float(st.fee_change_s.max()) > float(starts[0]) - 12.0 * gossip
    cells = nb * n * CLASSES
    if any_stale:
        age = t_mid[:, None] - st.fee_change_s[None, :]
        stale = np.where(age >= 0, np.exp(-np.maximum(age, 0) / gossip), 0.0)
        lam_new = (scale * (1.0 - stale))[:, :, None] * mixed_new[None, :, :]
        mixed_old = mix(st.prev_choice, st.mem_us, st.mem_other)
        lam_old = (scale * stale)[:, :, None] * mixed_old[None, :, :]
        flat_new = np.repeat(np.arange(cells, dtype=np.int64), rng.poisson(lam_new).ravel())
        flat_old = np.repeat(np.arange(cells, dtype=np.int64), rng.poisson(lam_old).ravel())
        flat = np.concatenate([flat_new, flat_old])
        is_old = np.concatenate(
            [np.zeros(flat_new.size, dtype=bool), np.ones(flat_old.size, dtype=bool)]
        )
    else:
        lam_new = scale[:, :, None] * mixed_new[None, :, :]
        flat = np.repeat(np.arange(cells, dtype=np.int64), rng.poisson(lam_new).ravel())
        is_old = np.zeros(flat.size, dtype=bool)
    total = int(flat.size)

    in_w = st.in_weight * np.exp(st.in_level) * inbound_share(st)
    cdf = np.cumsum(in_w, dtype=np.float64)
    failures = np.zeros(n, dtype=np.int64)
    if total and cdf[-1] > 0:
        step = flat // (n * CLASSES)
        rem = flat % (n * CLASSES)
        out_ch = rem // CLASSES
        cls = rem % CLASSES
        draws = rng.random((3, total))
        in_ch = np.searchsorted(cdf, draws[0] * cdf[-1], side="right")
        in_ch = np.minimum(in_ch, n - 1)
        ts_ns = ((starts[step].astype(np.float64) + draws[1] * dts[step]) * 1e9).astype(np.int64)
        u = (cls + draws[2]) / CLASSES
        z = np.interp(u, _U_GRID, _Z_GRID)
        amount = np.exp(np.log(st.median_amount_msat) + st.amount_sigma * z)
        keep = (in_ch != out_ch) & up[step, in_ch]
        in_ch, out_ch, ts_ns, amount, is_old = (
            in_ch[keep],
            out_ch[keep],
            ts_ns[keep],
            amount[keep],
            is_old[keep],
        )
        amt_out = np.clip(
            amount.astype(np.int64), st.min_htlc_msat[out_ch], st.max_htlc_msat[out_ch]
        )
        amt_out = np.maximum(amt_out, 1)
        fee_new = st.base_fee_msat[out_ch] + (amt_out * st.fee_rate_ppm[out_ch]) // 1_000_000
        fee_old = (
            st.prev_base_fee_msat[out_ch] + (amt_out * st.prev_fee_rate_ppm[out_ch]) // 1_000_000
        )
        fee_out = np.where(is_old, np.maximum(fee_old, fee_new), fee_new)
        short = is_old & (fee_old < fee_new)  # offered the old, lower fee: FEE_INSUFFICIENT
        fee_in = (
            st.inbound_base_fee_msat[in_ch]
            + ((amt_out + fee_out) * st.inbound_fee_rate_ppm[in_ch]) // 1_000_000
        )
        fee = np.maximum(fee_out + fee_in, 0)
        amt_in = amt_out + fee
        order = np.argsort(ts_ns, kind="stable")
        in_ch, out_ch, ts_ns = in_ch[order], out_ch[order], ts_ns[order]
        amt_out, amt_in, fee, short = amt_out[order], amt_in[order], fee[order], short[order]
        status = play(
            in_ch, out_ch, amt_in, amt_out, short, st.local_msat, st.remote_msat, st.reserve_msat
        )
        failures = np.bincount(out_ch[status == 2], minlength=n)
        result = (ts_ns, in_ch, out_ch, amt_in, amt_out, fee, status.astype(np.int64))
    else:
        result = (_E, _E, _E, _E, _E, _E, _E)

    # Slow state at the block's end.
    t_end = float(starts[-1] + dts[-1])
    span = float(dts.sum())
    # memory follows the pool's current choice (what it picks while it can reach us)
    pi = mixed_new.mean(axis=1) * open_.mean(axis=0)
    mem = p.sender_memory
    relax = -math.expm1(-span / max(p.memory_days * DAY, 1e-9))
    st.mem_us += (mem * pi - st.mem_us) * relax
    st.mem_other += (mem * (1.0 - pi) - st.mem_other) * relax
    # failures: a share of the pool avoids the channel, decaying with LND's half-life
    decay = 0.5 ** (span / max(p.failure_half_life_s, 1e-9))
    st.avoid = 1.0 - (1.0 - st.avoid * decay) * np.power(1.0 - p.failure_share, failures)
    _regimes(st, exo, t_end)
    _competitors(st, exo, t_end)
    return result


def _regimes(st: MarketState, exo: np.random.Generator, t_end: float) -> None:
    p = st.params
    due = st.next_regime_s <= t_end
    if not due.any():
        return
    idx = np.flatnonzero(due)
    shift = 0.5 * p.regime_sigma**2  # log-normal levels of mean 1
    st.out_level[idx] = p.regime_sigma * exo.standard_normal(idx.size) - shift
    st.in_level[idx] = p.regime_sigma * exo.standard_normal(idx.size) - shift
    st.next_regime_s[idx] = _next_times(exo, st.next_regime_s[idx], p.regime_days * DAY)


def _competitors(st: MarketState, exo: np.random.Generator, t_end: float) -> None:
    c = st.comp
    p = st.params
    due = c.next_event_s <= t_end
    if not due.any():
        return
    rows, cols = np.nonzero(due)
    kinds = c.kind[rows, cols]
    old = c.ppm[rows, cols].copy()
    f0 = np.maximum(c.ppm0[rows, cols], 1.0)
    cur = np.maximum(old, 1.0)
    drift = kinds == KIND_DRIFT
    react = kinds == KIND_REACT
    eps = exo.standard_normal(rows.size)
    new = old.copy()
    # drift: mean-reverting random walk of the log fee around the slot's starting fee
    lg = np.log(f0) + 0.7 * (np.log(cur) - np.log(f0)) + 0.3 * eps
    new[drift] = np.exp(lg[drift])
    # reaction: half-way (in log) towards our current fee, within a factor 4 of the start
    ours = np.maximum(st.fee_rate_ppm[rows].astype(np.float64), 1.0)
    toward = np.exp(0.5 * (np.log(cur) + np.log(ours)))
    new[react] = np.clip(toward, f0 / 4, f0 * 4)[react]
    new = np.where(c.ppm0[rows, cols] <= 0, np.where(new < 1.0, 0.0, new), new)
    new = np.rint(new)
    c.ppm[rows, cols] = new
    mean = np.where(drift, p.competitor_drift_days, p.competitor_react_days) * DAY
    c.next_event_s[rows, cols] = c.next_event_s[rows, cols] + exo.exponential(1.0, rows.size) * mean
    moved = new != old
    if not moved.any():
        return
    rows_m, cols_m = rows[moved], cols[moved]
    when = int(t_end)
    for r, s, a, b in zip(
        rows_m.tolist(), cols_m.tolist(), old[moved].tolist(), new[moved].tolist(), strict=True
    ):
        st.slot_changes.append((when, r, s, a, b))
    st.dirty_thresholds[np.unique(rows_m)] = True
    sync_choice(st)


def _compiled(fn):
    """``njit(cache=True)``, or without the disk cache where numba finds no writable place."""
    try:
        return njit(nogil=True, cache=True)(fn)
    except RuntimeError:  # numba: "cannot cache function ...: no locator available"
        return njit(nogil=True)(fn)


@_compiled
def play(in_ch, out_ch, amt_in, amt_out, short, local, remote, reserve):  # pragma: no cover
    """Play attempts in time order against the balances (mutated in place). Per attempt:
    0 never came (the incoming peer lacks the amount: the payer routes elsewhere), 1 settled,
    2 failed INSUFFICIENT_BALANCE, 3 failed FEE_INSUFFICIENT (offered a stale, lower fee)."""
    m = in_ch.shape[0]
    status = np.zeros(m, np.uint8)
    for i in range(m):
        ci = in_ch[i]
        co = out_ch[i]
        if remote[ci] - amt_in[i] < reserve[ci]:
            continue
        if short[i]:
            status[i] = 3
        elif local[co] - amt_out[i] < reserve[co]:
            status[i] = 2
        else:
            remote[ci] -= amt_in[i]
            local[ci] += amt_in[i]
            local[co] -= amt_out[i]
            remote[co] += amt_out[i]
            status[i] = 1
    return status


def _empty(changes: list[tuple[int, int, bool]] | None = None) -> WindowResult:
    z = np.zeros(0, dtype=np.int64)
    return WindowResult(z, z, z, z, z, z, z, z, z, z, changes or [], z)
