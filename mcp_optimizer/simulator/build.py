"""Build a simulated node from a scenario, and the unlocked core :class:`SimulatedNode` wraps.

Random streams are split from the scenario seed with ``numpy.random.SeedSequence``: one for the
graph, one for our channels, one for the pre-generated history and one for live time, so the
same scenario always gives the same node and the same history.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from . import market as mk
from .errors import ScenarioError
from .graphgen import (
    GraphArrays,
    block_height_at,
    channel_point,
    make_scid,
    random_pubkey,
    real_graph,
    sample_quantiles,
    synthetic_graph,
)
from .model import (
    ForwardColumns,
    MarketTruth,
    SimChannel,
    SimChannelEvent,
    SimGraphEdge,
    SimGraphNode,
    SimHtlcEvent,
    SimPolicy,
)
from .profiles import PROFILES
from .scenario import Scenario
from .store import ColumnStore

VERSION = "0.18.4-beta simulator"
LOCAL_TIME_LOCK_DELTA = 80
RESERVE_FRACTION = 0.01
DAY = 86_400


class _Core:
    """The node's state without locking (SimulatedNode holds the lock)."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.scenario_name = scenario.name
        self.alias = scenario.alias
        self.version = VERSION
        self.allow_positive_inbound = scenario.allow_positive_inbound
        seeds = np.random.SeedSequence(scenario.seed).spawn(5)
        g_rng, c_rng, h_rng, live_rng, exo_rng = (np.random.default_rng(s) for s in seeds)
        self._live_rng = live_rng
        self._exo_rng = exo_rng
        start = scenario.start_s
        self.now_s = start
        self.monitor_start_s = int(start - round(scenario.history_days * DAY))

        g = scenario.graph
        if g.source == "synthetic":
            self.g: GraphArrays = synthetic_graph(g.nodes, g_rng, start)
        else:
            path = Path(g.path)
            if not path.is_absolute():
                path = Path(scenario.base_dir) / path
            self.g = real_graph(path, g.snapshot, g_rng, start)
        n_ch = scenario.channel_count
        if n_ch >= self.g.node_count:
            raise ScenarioError(
                f"scenario {scenario.name}: {n_ch} channels need as many distinct peers but the"
                f" graph has {self.g.node_count} nodes"
            )
        self.identity_pubkey = random_pubkey(c_rng)
        self._other_edges: list[SimGraphEdge] | None = None
        self._build_channels(c_rng)
        self._build_market(c_rng, exo_rng)
        self._fwd = ColumnStore()
        self._fail = ColumnStore()
        result = mk.simulate(
            self.m, self.monitor_start_s, start, h_rng, scenario.market.step_s, exo_rng
        )
        self._store(result)
        # caches for the graph (the part that is not ours changes only where competitors move)
        self._other_nodes: list[SimGraphNode] | None = None
        self._node_index: dict[str, int] | None = None
        self._edge_index: dict[int, int] | None = None
        self._deg = self.g.degrees()
        self._cap_sum = np.bincount(
            np.concatenate([self.g.n1, self.g.n2]),
            weights=np.concatenate([self.g.capacity_sat, self.g.capacity_sat]).astype(float),
            minlength=self.g.node_count,
        )

    # -- construction --------------------------------------------------------------------

    def _build_channels(self, rng: np.random.Generator) -> None:
        sc = self.scenario
        g = self.g
        n = sc.channel_count
        deg = g.degrees().astype(np.float64)
        peers = rng.choice(g.node_count, size=n, replace=False, p=deg / deg.sum())
        ref_all = g.reference_fees()
        present_ppm = np.concatenate([g.ppm[:, 0][g.present[:, 0]], g.ppm[:, 1][g.present[:, 1]]])
        network_median = float(np.median(present_ppm)) if present_ppm.size else 0.0
        ref = ref_all[peers]
        ref = np.where(ref < 0, network_median, ref)
        ref = np.maximum(ref, sc.market.reference_fee_floor_ppm)

        profile_of: list[str] = []
        cap = np.zeros(n, dtype=np.int64)
        ratio = np.zeros(n)
        ppm = np.zeros(n, dtype=np.int64)
        base = np.zeros(n, dtype=np.int64)
        age_s = np.zeros(n, dtype=np.int64)
        initiator = np.zeros(n, dtype=bool)
        out_rate = np.zeros(n)
        in_weight = np.zeros(n)
        mean_on = np.zeros(n)
        mean_off = np.zeros(n)
        i = 0
        for grp in sc.groups:
            prof = PROFILES[grp.profile]
            k = grp.count
            sl = slice(i, i + k)
            profile_of.extend([grp.profile] * k)
            lo, hi = grp.capacity_sat
            cap[sl] = np.rint(np.exp(rng.uniform(math.log(lo), math.log(hi), k))).astype(np.int64)
            ratio[sl] = rng.uniform(grp.balance_ratio[0], grp.balance_ratio[1], k)
            if grp.fee_ppm is None:
                mult = rng.uniform(prof.fee_ratio[0], prof.fee_ratio[1], k)
                ppm[sl] = np.rint(ref[sl] * mult).astype(np.int64)
            else:
                ppm[sl] = rng.integers(grp.fee_ppm[0], grp.fee_ppm[1] + 1, k)
            base[sl] = rng.integers(grp.base_fee_msat[0], grp.base_fee_msat[1] + 1, k)
            age_s[sl] = np.rint(rng.uniform(grp.age_days[0], grp.age_days[1], k) * DAY)
            initiator[sl] = rng.random(k) < prof.initiator_probability
            scale = sc.market.volume_scale
            out_rate[sl] = grp.forwards_per_day * scale / DAY
            factor = grp.forwards_per_day / prof.out_per_day if prof.out_per_day > 0 else 1.0
            in_weight[sl] = prof.in_per_day * factor * scale
            mean_on[sl] = prof.mean_online_s
            mean_off[sl] = prof.mean_offline_s
            i += k

        start = sc.start_s
        opened_at = start - age_s
        height = np.array([block_height_at(int(t)) for t in opened_at], dtype=np.int64)
        out_index = rng.integers(0, 2, n)
        self.chan_ids = make_scid(height, 1_000_000 + np.arange(n), out_index)
        self.channel_points = [
            channel_point(sc.seed, int(s), int(o))
            for s, o in zip(self.chan_ids, out_index, strict=True)
        ]
        self._index_by_point = {p: j for j, p in enumerate(self.channel_points)}
        self._index_by_chan_id = {int(c): j for j, c in enumerate(self.chan_ids)}
        self.peer_node = peers.astype(np.int64)
        self.peer_pubkeys = [g.pubkeys[p] for p in peers]
        self.capacity_sat = cap
        self.initiator = initiator
        self.profiles = profile_of
        self.opened_at_s = opened_at.astype(np.int64)
        self.local_cltv = np.full(n, LOCAL_TIME_LOCK_DELTA, dtype=np.int64)

        # The peer's side of each channel: drawn like any announced policy.
        r_base = np.rint(sample_quantiles(rng, "fee_base_msat", n)).astype(np.int64)
        r_ppm = np.rint(sample_quantiles(rng, "fee_rate_ppm", n)).astype(np.int64)
        r_cltv = np.rint(sample_quantiles(rng, "time_lock_delta", n)).astype(np.int64)
        r_min = np.rint(sample_quantiles(rng, "htlc_min_msat", n)).astype(np.int64)
        r_upd = start - rng.integers(0, 14 * DAY, n)
        self.remote_policies = [
            SimPolicy(
                base_fee_msat=int(r_base[j]),
                fee_rate_ppm=int(r_ppm[j]),
                inbound_base_fee_msat=0,
                inbound_fee_rate_ppm=0,
                time_lock_delta=max(int(r_cltv[j]), 18),
                min_htlc_msat=int(r_min[j]),
                max_htlc_msat=int(cap[j]) * 990,
                disabled=False,
                last_update_s=int(r_upd[j]),
            )
            for j in range(n)
        ]

        cap_msat = cap * 1000
        local = np.rint(ratio * cap).astype(np.int64) * 1000
        p_online = mean_on / (mean_on + mean_off)
        online = rng.random(n) < p_online
        self.m = mk.MarketState(
            local_msat=local,
            remote_msat=cap_msat - local,
            reserve_msat=np.rint(cap * RESERVE_FRACTION).astype(np.int64) * 1000,
            out_rate_per_s=out_rate,
            in_weight=in_weight,
            ref_ppm=ref.astype(np.float64),
            online=online,
            mean_online_s=mean_on,
            mean_offline_s=mean_off,
            opened_at_s=self.opened_at_s,
            uptime_s=np.zeros(n),
            monitor_start_s=self.monitor_start_s,
            base_fee_msat=base,
            fee_rate_ppm=ppm,
            inbound_base_fee_msat=np.zeros(n, dtype=np.int64),
            inbound_fee_rate_ppm=np.zeros(n, dtype=np.int64),
            min_htlc_msat=np.full(n, 1000, dtype=np.int64),
            max_htlc_msat=cap * 990,
            disabled=~online,
            manual=np.zeros(n, dtype=np.int8),
            policy_update_s=np.minimum(start - rng.integers(0, 30 * DAY, n), start).astype(
                np.int64
            ),
            elasticity=sc.market.elasticity,
            median_amount_msat=sc.market.amount_median_sat * 1000,
            amount_sigma=sc.market.amount_sigma,
        )
        self.m.policy_update_s = np.maximum(self.m.policy_update_s, self.opened_at_s)

    def _build_market(self, rng: np.random.Generator, exo: np.random.Generator) -> None:
        """Each channel's competitor slots (the peer's other inbound channels, grouped by fee
        rank, plus a bypass route), then the route-choice market on top (market.init_market)."""
        sc = self.scenario
        g = self.g
        n = len(self.peer_node)
        ms = sc.market
        present_ppm = np.concatenate([g.ppm[:, 0][g.present[:, 0]], g.ppm[:, 1][g.present[:, 1]]])
        present_base = np.concatenate(
            [g.base[:, 0][g.present[:, 0]], g.base[:, 1][g.present[:, 1]]]
        )
        params = mk.MarketParams(
            elasticity=ms.elasticity,
            elasticity_spread=ms.elasticity_spread,
            amount_median_msat=ms.amount_median_sat * 1000,
            amount_sigma=ms.amount_sigma,
            attempt_cost_msat=ms.attempt_cost_sat * 1000,
            attempt_cost_ppm=ms.attempt_cost_ppm,
            sender_memory=ms.sender_memory,
            memory_days=ms.memory_days,
            failure_share=ms.failure_share,
            failure_half_life_s=ms.failure_half_life_s,
            gossip_delay_s=ms.gossip_delay_s,
            fee_limit_ppm=ms.fee_limit_ppm,
            competitor_drift_share=ms.competitor_drift_share,
            competitor_drift_days=ms.competitor_drift_days,
            competitor_react_share=ms.competitor_react_share,
            competitor_react_days=ms.competitor_react_days,
            seasonality_weekly=ms.seasonality_weekly,
            seasonality_daily=ms.seasonality_daily,
            regime_days=ms.regime_days,
            regime_sigma=ms.regime_sigma,
            max_competitors=ms.max_competitors,
            network_median_ppm=float(np.median(present_ppm)) if present_ppm.size else 100.0,
            network_median_base_msat=float(np.median(present_base)) if present_base.size else 0.0,
        )
        k_slots = mk.SLOTS
        ppm = np.zeros((n, k_slots))
        base = np.zeros((n, k_slots))
        mult = np.zeros((n, k_slots))
        cap = np.ones((n, k_slots))
        # the peer's inbound directions: edge e, direction d forwards into target
        target = np.concatenate([g.n2, g.n1])
        edge = np.concatenate([np.arange(g.n1.size), np.arange(g.n1.size)])
        dirs = np.concatenate([np.zeros(g.n1.size, np.int64), np.ones(g.n1.size, np.int64)])
        pres = np.concatenate([g.present[:, 0], g.present[:, 1]])
        slot_of_peer = np.full(g.node_count, -1, dtype=np.int64)
        slot_of_peer[self.peer_node] = np.arange(n)
        mine = pres & (slot_of_peer[target] >= 0)
        t_m, e_m, d_m = target[mine], edge[mine], dirs[mine]
        f_m = g.ppm[e_m, d_m]
        order = np.lexsort((f_m, t_m))
        t_m, e_m, d_m, f_m = t_m[order], e_m[order], d_m[order], f_m[order]
        bounds = np.flatnonzero(np.diff(t_m)) + 1
        starts = np.concatenate([[0], bounds]) if t_m.size else np.zeros(0, np.int64)
        ends = np.concatenate([bounds, [t_m.size]]) if t_m.size else np.zeros(0, np.int64)
        # fee-rank groups of each peer's inbound channels: member rows are contiguous per
        # (channel, slot); gid numbers the groups in row order
        gid = np.zeros(t_m.size, dtype=np.int64)
        g_chan: list[int] = []
        g_slot: list[int] = []
        g_size: list[int] = []
        chan_lo = np.zeros(n, dtype=np.int64)
        chan_hi = np.zeros(n, dtype=np.int64)
        for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
            c = int(slot_of_peer[t_m[a]])
            chan_lo[c], chan_hi[c] = a, b
            k = b - a
            parts = min(k, k_slots - 1)
            size, extra = divmod(k, parts)  # as numpy.array_split: the first groups one longer
            row = a
            for s_i in range(parts):
                m = size + (1 if s_i < extra else 0)
                gid[row : row + m] = len(g_chan)
                g_chan.append(c)
                g_slot.append(s_i)
                g_size.append(m)
                row += m
        if g_chan:
            gc, gs = np.array(g_chan), np.array(g_slot)
            sizes = np.array(g_size, dtype=np.float64)
            n_groups = gc.size
            ppm[gc, gs] = _group_medians(f_m.astype(np.float64), gid, n_groups)
            base[gc, gs] = _group_medians(g.base[e_m, d_m].astype(np.float64), gid, n_groups)
            cap[gc, gs] = _group_medians(g.capacity_sat[e_m].astype(np.float64), gid, n_groups)
            per_chan = np.bincount(gc, weights=sizes, minlength=n)
            scale = np.minimum(1.0, params.max_competitors / np.maximum(per_chan, 1.0))
            mult[gc, gs] = sizes * scale[gc]
            bounds_g = np.concatenate([[0], np.cumsum(sizes.astype(np.int64))])
        else:
            gc = gs = np.zeros(0, dtype=np.int64)
            bounds_g = np.zeros(1, dtype=np.int64)
        slot_lo = np.full((n, k_slots), -1, dtype=np.int64)
        slot_hi = np.full((n, k_slots), -1, dtype=np.int64)
        slot_lo[gc, gs] = bounds_g[:-1]
        slot_hi[gc, gs] = bounds_g[1:]
        # the bypass: a route that avoids the peer, at the network's median price, as strong
        # as a few competitors for a well connected peer and less for a small one
        deg = self._peer_degree = g.degrees()[self.peer_node].astype(np.float64)
        ppm[:, -1] = params.network_median_ppm
        base[:, -1] = params.network_median_base_msat
        mult[:, -1] = 3.0 * deg / (deg + 4.0)
        cap[:, -1] = float(np.median(g.capacity_sat)) if g.capacity_sat.size else 1e6
        draw = rng.random((n, k_slots))
        kind = np.where(
            draw < params.competitor_react_share,
            mk.KIND_REACT,
            np.where(
                draw < params.competitor_react_share + params.competitor_drift_share,
                mk.KIND_DRIFT,
                mk.KIND_STATIC,
            ),
        ).astype(np.int8)
        kind[:, -1] = mk.KIND_BYPASS
        kind[mult == 0] = mk.KIND_STATIC
        start = float(sc.start_s - round(sc.history_days * DAY))
        mean = np.where(
            kind == mk.KIND_DRIFT,
            params.competitor_drift_days * DAY,
            params.competitor_react_days * DAY,
        )
        nxt = start + exo.exponential(1.0, (n, k_slots)) * mean
        nxt[(kind != mk.KIND_DRIFT) & (kind != mk.KIND_REACT)] = np.inf
        comp = mk.Competition(
            ppm=ppm,
            base=base,
            ppm0=ppm.copy(),
            mult=mult,
            cap_sat=cap,
            kind=kind,
            next_event_s=nxt,
            noise_u=rng.random((n, k_slots, mk.SENDERS), dtype=np.float32),
        )
        self._mem_e, self._mem_d = e_m, d_m
        self._slot_lo, self._slot_hi = slot_lo, slot_hi
        self._chan_lo, self._chan_hi = chan_lo, chan_hi
        self._comp_log: list[tuple[int, int, float]] = []
        mk.init_market(self.m, comp, self.capacity_sat, params, rng, exo, int(start))
        self._comp_ref0 = self._competitor_ref()

    def _apply_competitor_moves(self) -> None:
        """Write the competitors' fee moves into the graph the node serves."""
        changes = self.m.slot_changes
        if not changes:
            return
        g = self.g
        touched: set[int] = set()
        moved: dict[int, int] = {}
        for when, c, s_i, old, new in changes:
            lo, hi = int(self._slot_lo[c, s_i]), int(self._slot_hi[c, s_i])
            if lo < 0:
                continue  # the bypass stands for no announced channel
            e, d = self._mem_e[lo:hi], self._mem_d[lo:hi]
            if old > 0:
                g.ppm[e, d] = np.rint(g.ppm[e, d] * (new / old)).astype(np.int64)
            else:
                g.ppm[e, d] = int(round(new))
            g.update_s[e] = when
            touched.update(e.tolist())
            moved[c] = when
        changes.clear()
        if self._other_edges is not None:
            for e in touched:
                self._other_edges[e] = self._other_edge(e)
        if moved:
            chans = np.array(sorted(moved), dtype=np.int64)
            refs = self._competitor_ref(chans)
            self._comp_log.extend(
                (moved[c], c, float(r)) for c, r in zip(chans.tolist(), refs.tolist(), strict=True)
            )

    def _competitor_ref(self, chans: np.ndarray | None = None) -> np.ndarray:
        """The median fee rate of the announced channels into each channel's peer (what the
        graph shows; NaN for a peer without any), for channels ``chans`` (default all)."""
        g = self.g
        idx = np.arange(self._chan_lo.size) if chans is None else np.asarray(chans)
        lo, hi = self._chan_lo[idx], self._chan_hi[idx]
        counts = hi - lo
        out = np.full(idx.size, np.nan)
        if counts.sum() == 0:
            return out
        rows = np.concatenate([np.arange(a, b) for a, b in zip(lo, hi, strict=True)])
        gid = np.repeat(np.arange(idx.size), counts)
        fees = g.ppm[self._mem_e[rows], self._mem_d[rows]].astype(np.float64)
        med = _group_medians(fees, gid, idx.size)
        return np.where(counts > 0, med, np.nan)

    def _store(self, r: mk.WindowResult) -> None:
        ids = self.chan_ids
        if r.fwd_ts_ns.size:
            self._fwd.append(
                ForwardColumns(
                    r.fwd_ts_ns,
                    ids[r.fwd_in],
                    ids[r.fwd_out],
                    r.fwd_amt_in,
                    r.fwd_amt_out,
                    r.fwd_fee,
                )
            )
        if r.fail_ts_ns.size:
            # failures use the forward columns: amt_in unused (0), fee_msat holds the kind
            z = np.zeros_like(r.fail_amt)
            self._fail.append(
                ForwardColumns(
                    r.fail_ts_ns, ids[r.fail_in], ids[r.fail_out], z, r.fail_amt, r.fail_kind
                )
            )
        self._apply_competitor_moves()

    # -- clock -----------------------------------------------------------------------------

    def block_height_at(self, ts_s: int) -> int:
        return block_height_at(ts_s)

    def advance(self, seconds: int, want_events: bool) -> list[SimChannelEvent | SimHtlcEvent]:
        if seconds == 0:
            return []
        t0, t1 = self.now_s, self.now_s + seconds
        r = mk.simulate(self.m, t0, t1, self._live_rng, self.scenario.market.step_s, self._exo_rng)
        self._store(r)
        self.now_s = t1
        if not want_events:
            return []
        ids = self.chan_ids.tolist()
        timed: list[tuple[int, int, object]] = []
        for ts, j, is_online in r.status_changes:
            kind = "active" if is_online else "inactive"
            event = SimChannelEvent(kind, ids[j], self.channel_points[j])
            timed.append((ts * 1_000_000_000, 0, event))
        for ts, ci, co in zip(
            r.fwd_ts_ns.tolist(), r.fwd_in.tolist(), r.fwd_out.tolist(), strict=True
        ):
            timed.append((ts, 1, SimHtlcEvent("forward", ids[ci], ids[co], ts, "")))
            timed.append((ts, 2, SimHtlcEvent("settle", ids[ci], ids[co], ts, "")))
        for ts, ci, co, kind in zip(
            r.fail_ts_ns.tolist(),
            r.fail_in.tolist(),
            r.fail_out.tolist(),
            r.fail_kind.tolist(),
            strict=True,
        ):
            timed.append((ts, 1, _failure_event(ids[ci], ids[co], ts, kind)))
        timed.sort(key=lambda t: (t[0], t[1]))
        return [t[2] for t in timed]  # type: ignore[misc]

    # -- our channels ----------------------------------------------------------------------

    def index_of(self, channel_point: str) -> int:
        try:
            return self._index_by_point[channel_point]
        except KeyError:
            raise KeyError(f"no channel with channel point {channel_point}") from None

    def local_policy(self, j: int) -> SimPolicy:
        m = self.m
        return SimPolicy(
            base_fee_msat=int(m.base_fee_msat[j]),
            fee_rate_ppm=int(m.fee_rate_ppm[j]),
            inbound_base_fee_msat=int(m.inbound_base_fee_msat[j]),
            inbound_fee_rate_ppm=int(m.inbound_fee_rate_ppm[j]),
            time_lock_delta=int(self.local_cltv[j]),
            min_htlc_msat=int(m.min_htlc_msat[j]),
            max_htlc_msat=int(m.max_htlc_msat[j]),
            disabled=bool(m.disabled[j]),
            last_update_s=int(m.policy_update_s[j]),
        )

    def channel(self, j: int) -> SimChannel:
        m = self.m
        now = self.now_s
        opened = int(self.opened_at_s[j])
        lifetime = max(0, now - max(opened, self.monitor_start_s))
        return SimChannel(
            chan_id=int(self.chan_ids[j]),
            channel_point=self.channel_points[j],
            remote_pubkey=self.peer_pubkeys[j],
            capacity_sat=int(self.capacity_sat[j]),
            local_balance_sat=int(m.local_msat[j]) // 1000,
            remote_balance_sat=int(m.remote_msat[j]) // 1000,
            active=bool(m.online[j]) and opened <= now,
            initiator=bool(self.initiator[j]),
            opened_at_s=opened,
            lifetime_s=lifetime,
            uptime_s=min(lifetime, int(m.uptime_s[j])),
            profile=self.profiles[j],
            local_policy=self.local_policy(j),
            remote_policy=self.remote_policies[j],
        )

    def channels(self) -> list[SimChannel]:
        return [self.channel(j) for j in range(len(self.channel_points))]

    def set_local_policy(self, j: int, p: SimPolicy) -> None:
        m = self.m
        if p.fee_rate_ppm != m.fee_rate_ppm[j] or p.base_fee_msat != m.base_fee_msat[j]:
            mk.note_policy_change(m, j, self.now_s)
        m.base_fee_msat[j] = p.base_fee_msat
        m.fee_rate_ppm[j] = p.fee_rate_ppm
        m.inbound_base_fee_msat[j] = p.inbound_base_fee_msat
        m.inbound_fee_rate_ppm[j] = p.inbound_fee_rate_ppm
        self.local_cltv[j] = p.time_lock_delta
        m.min_htlc_msat[j] = p.min_htlc_msat
        m.max_htlc_msat[j] = p.max_htlc_msat
        m.disabled[j] = p.disabled
        m.policy_update_s[j] = self.now_s

    def set_channel_status(self, j: int, action: str) -> list[SimChannelEvent | SimHtlcEvent]:
        m = self.m
        if action == "enable":
            m.manual[j], m.disabled[j] = 1, False
        elif action == "disable":
            m.manual[j], m.disabled[j] = 2, True
        elif action == "auto":
            m.manual[j], m.disabled[j] = 0, not bool(m.online[j])
        else:
            raise ValueError(f"channel status action must be enable, disable or auto: {action!r}")
        m.policy_update_s[j] = self.now_s
        return []

    # -- graph -------------------------------------------------------------------------------

    def _policy(self, e: int, d: int) -> SimPolicy | None:
        g = self.g
        if not g.present[e, d]:
            return None
        return SimPolicy(
            base_fee_msat=int(g.base[e, d]),
            fee_rate_ppm=int(g.ppm[e, d]),
            inbound_base_fee_msat=0,
            inbound_fee_rate_ppm=0,
            time_lock_delta=int(g.cltv[e, d]),
            min_htlc_msat=int(g.hmin[e, d]),
            max_htlc_msat=int(g.hmax[e, d]),
            disabled=False,
            last_update_s=int(g.update_s[e]),
        )

    def _other_edge(self, e: int) -> SimGraphEdge:
        g = self.g
        a, b = int(g.n1[e]), int(g.n2[e])
        pa, pb = g.pubkeys[a], g.pubkeys[b]
        p0, p1 = self._policy(e, 0), self._policy(e, 1)
        if pa > pb:
            pa, pb, p0, p1 = pb, pa, p1, p0
        scid = int(g.scid[e])
        return SimGraphEdge(
            chan_id=scid,
            channel_point=channel_point(self.scenario.seed, scid, int(g.out_index[e])),
            node1_pub=pa,
            node2_pub=pb,
            capacity_sat=int(g.capacity_sat[e]),
            node1_policy=p0,
            node2_policy=p1,
            last_update_s=int(g.update_s[e]),
        )

    def _our_edge(self, j: int) -> SimGraphEdge:
        ours, theirs = self.local_policy(j), self.remote_policies[j]
        a, b = self.identity_pubkey, self.peer_pubkeys[j]
        if a < b:
            n1, n2, p1, p2 = a, b, ours, theirs
        else:
            n1, n2, p1, p2 = b, a, theirs, ours
        return SimGraphEdge(
            chan_id=int(self.chan_ids[j]),
            channel_point=self.channel_points[j],
            node1_pub=n1,
            node2_pub=n2,
            capacity_sat=int(self.capacity_sat[j]),
            node1_policy=p1,
            node2_policy=p2,
            last_update_s=max(ours.last_update_s, theirs.last_update_s),
        )

    def _our_node(self) -> SimGraphNode:
        return SimGraphNode(
            pubkey=self.identity_pubkey,
            alias=self.alias,
            addresses=("127.0.0.1:9735",),
            last_update_s=int(self.scenario.start_s),
        )

    def _nodes(self) -> list[SimGraphNode]:
        if self._other_nodes is None:
            g = self.g
            self._other_nodes = [
                SimGraphNode(
                    pubkey=g.pubkeys[i],
                    alias=g.aliases[i],
                    addresses=g.addresses[i],
                    last_update_s=int(g.node_update_s[i]),
                )
                for i in range(g.node_count)
            ]
        return self._other_nodes

    def _all_other_edges(self) -> list[SimGraphEdge]:
        """Every edge of the graph that is not ours (plain lists: much faster than indexing)."""
        g = self.g
        keys = g.pubkeys
        seed = self.scenario.seed
        present = g.present.tolist()
        cols = [c.tolist() for c in (g.base, g.ppm, g.cltv, g.hmin, g.hmax)]
        update = g.update_s.tolist()
        edges = []
        for e, (a, b, cap, scid, out) in enumerate(
            zip(
                g.n1.tolist(),
                g.n2.tolist(),
                g.capacity_sat.tolist(),
                g.scid.tolist(),
                g.out_index.tolist(),
                strict=True,
            )
        ):
            pols = [
                SimPolicy(
                    base_fee_msat=cols[0][e][d],
                    fee_rate_ppm=cols[1][e][d],
                    inbound_base_fee_msat=0,
                    inbound_fee_rate_ppm=0,
                    time_lock_delta=cols[2][e][d],
                    min_htlc_msat=cols[3][e][d],
                    max_htlc_msat=cols[4][e][d],
                    disabled=False,
                    last_update_s=update[e],
                )
                if present[e][d]
                else None
                for d in (0, 1)
            ]
            pa, pb = keys[a], keys[b]
            if pa > pb:
                pa, pb = pb, pa
                pols.reverse()
            edges.append(
                SimGraphEdge(
                    chan_id=scid,
                    channel_point=channel_point(seed, scid, out),
                    node1_pub=pa,
                    node2_pub=pb,
                    capacity_sat=cap,
                    node1_policy=pols[0],
                    node2_policy=pols[1],
                    last_update_s=update[e],
                )
            )
        return edges

    def graph(self) -> tuple[list[SimGraphNode], list[SimGraphEdge]]:
        if self._other_edges is None:
            self._other_edges = self._all_other_edges()
        nodes = [*self._nodes(), self._our_node()]
        edges = [*self._other_edges, *(self._our_edge(j) for j in range(len(self.chan_ids)))]
        return nodes, edges

    def _node_idx(self) -> dict[str, int]:
        if self._node_index is None:
            self._node_index = {p: i for i, p in enumerate(self.g.pubkeys)}
        return self._node_index

    def graph_node(self, pubkey: str) -> SimGraphNode | None:
        if pubkey == self.identity_pubkey:
            return self._our_node()
        i = self._node_idx().get(pubkey)
        return None if i is None else self._nodes()[i]

    def node_channel_stats(self, pubkey: str) -> tuple[int, int]:
        if pubkey == self.identity_pubkey:
            return len(self.chan_ids), int(self.capacity_sat.sum())
        i = self._node_idx().get(pubkey)
        if i is None:
            return 0, 0
        mine = self.peer_node == i
        return (
            int(self._deg[i]) + int(mine.sum()),
            int(round(self._cap_sum[i])) + int(self.capacity_sat[mine].sum()),
        )

    def edge(self, chan_id: int) -> SimGraphEdge | None:
        j = self._index_by_chan_id.get(chan_id)
        if j is not None:
            return self._our_edge(j)
        if self._edge_index is None:
            self._edge_index = {int(s): e for e, s in enumerate(self.g.scid.tolist())}
        e = self._edge_index.get(chan_id)
        return None if e is None else self._other_edge(e)

    # -- history -------------------------------------------------------------------------------

    def forward_columns(self, start_s: int, end_s: int) -> ForwardColumns:
        return self._fwd.window(start_s, end_s)

    def forward_count(self) -> int:
        return len(self._fwd)

    def failures(self, start_s: int, end_s: int) -> list[SimHtlcEvent]:
        c = self._fail.window(start_s, end_s)
        return [
            _failure_event(ci, co, ts, kind)
            for ts, ci, co, kind in zip(
                c.timestamp_ns.tolist(),
                c.chan_id_in.tolist(),
                c.chan_id_out.tolist(),
                c.fee_msat.tolist(),
                strict=True,
            )
        ]

    # -- ground truth (for reports; not on LND's wire) ---------------------------------------

    def market_truth(self) -> MarketTruth:
        m = self.m
        return MarketTruth(
            chan_id=self.chan_ids.copy(),
            competitor_ref_ppm=self._competitor_ref(),
            competitor_count=m.comp.mult[:, :-1].sum(axis=1),
            peer_elasticity=m.peer_elasticity.copy(),
            noise_ppm=m.sigma_ppm.copy(),
            pool_per_day=m.demand_per_s * DAY,
            demand_level=np.exp(m.out_level),
            avoided_share=m.avoid.copy(),
            remember_us_share=m.mem_us.copy(),
        )

    def competitor_history(self, j: int) -> list[tuple[int, float]]:
        out = [(int(self.monitor_start_s), float(self._comp_ref0[j]))]
        out.extend((t, r) for t, c, r in self._comp_log if c == j)
        return out

    def revenue_curve(self, j: int, fees_ppm: np.ndarray) -> dict[str, np.ndarray]:
        return mk.revenue_curve(self.m, j, np.asarray(fees_ppm, dtype=np.float64))


def _group_medians(values: np.ndarray, gid: np.ndarray, n_groups: int) -> np.ndarray:
    """The median of ``values`` per group ``gid`` (0..n_groups-1); NaN for an empty group."""
    counts = np.bincount(gid, minlength=n_groups)
    out = np.full(n_groups, np.nan)
    if values.size == 0:
        return out
    v = values[np.lexsort((values, gid))]
    first = np.cumsum(counts) - counts
    has = counts > 0
    lo = v[(first + (counts - 1) // 2)[has]]
    hi = v[(first + counts // 2)[has]]
    out[has] = (lo + hi) / 2.0
    return out


def _failure_event(ci: int, co: int, ts: int, kind: int) -> SimHtlcEvent:
    """A link_fail as LND reports it: no balance is INSUFFICIENT_BALANCE on a temporary
    channel failure; a fee below the policy is wire failure FEE_INSUFFICIENT, no detail."""
    if kind == mk.FAIL_FEE:
        return SimHtlcEvent("link_fail", ci, co, ts, "NO_DETAIL", "FEE_INSUFFICIENT")
    return SimHtlcEvent("link_fail", ci, co, ts, "INSUFFICIENT_BALANCE")


def build_core(scenario: Scenario) -> _Core:
    return _Core(scenario)
