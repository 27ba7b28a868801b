"""The simulated LND node: the interface the gRPC servicer (``simulator/grpc/``) talks to.

Plain Python, no gRPC. Field names mirror LND's so the servicer maps them one to one. Every
public method takes the node's single internal lock: gRPC server threads read it while a ticker
thread calls :meth:`SimulatedNode.advance`. Listeners registered with
:meth:`SimulatedNode.subscribe` are called *after* the lock is released, in event order, on the
thread that caused the events.

The node is built from a scenario (:mod:`mcp_optimizer.simulator.scenario`), its network graph by
:mod:`mcp_optimizer.simulator.graphgen` and its traffic by :mod:`mcp_optimizer.simulator.market`.
The same scenario (same seed) gives the same node and the same history.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, overload

import numpy as np

from . import closes as _closes
from .errors import ScenarioError

if TYPE_CHECKING:
    from .build import _Core
    from .scenario import Scenario

__all__ = [
    "ScenarioError",
    "SimChannel",
    "SimChannelEvent",
    "SimForward",
    "SimGraphEdge",
    "SimGraphNode",
    "SimHtlcEvent",
    "SimPolicy",
    "SimulatedNode",
    "ForwardColumns",
    "MarketTruth",
]


@dataclass(frozen=True)
class SimPolicy:
    """One direction's routing policy (LND RoutingPolicy)."""

    base_fee_msat: int
    fee_rate_ppm: int
    inbound_base_fee_msat: int
    inbound_fee_rate_ppm: int
    time_lock_delta: int
    min_htlc_msat: int
    max_htlc_msat: int
    disabled: bool
    last_update_s: int


@dataclass(frozen=True)
class SimChannel:
    """One of OUR channels (a copy; change it only through :class:`SimulatedNode`)."""

    chan_id: int
    channel_point: str
    remote_pubkey: str
    capacity_sat: int
    local_balance_sat: int
    remote_balance_sat: int
    active: bool
    initiator: bool
    opened_at_s: int
    lifetime_s: int
    """LND ListChannels ``lifetime``: seconds the channel has been monitored."""
    uptime_s: int
    """LND ListChannels ``uptime``: seconds of ``lifetime`` the peer was online."""
    profile: str
    local_policy: SimPolicy
    remote_policy: SimPolicy


@dataclass(frozen=True)
class SimGraphNode:
    pubkey: str
    alias: str
    addresses: tuple[str, ...]
    last_update_s: int


@dataclass(frozen=True)
class SimGraphEdge:
    """A public channel; ``node1_pub < node2_pub`` (BOLT 7 order); a policy may be absent."""

    chan_id: int
    channel_point: str
    node1_pub: str
    node2_pub: str
    capacity_sat: int
    node1_policy: SimPolicy | None
    node2_policy: SimPolicy | None
    last_update_s: int


@dataclass(frozen=True)
class SimForward:
    """One settled forward (LND ForwardingEvent)."""

    timestamp_ns: int
    chan_id_in: int
    chan_id_out: int
    amt_in_msat: int
    amt_out_msat: int
    fee_msat: int


@dataclass(frozen=True)
class SimHtlcEvent:
    """An HTLC event (Router.SubscribeHtlcEvents).

    ``kind`` is ``"forward"``, ``"settle"``, ``"forward_fail"`` or ``"link_fail"``;
    ``failure_detail`` is an LND FailureDetail name (``"INSUFFICIENT_BALANCE"``, ``"NO_DETAIL"``)
    or ``""``; ``wire_failure`` the lnrpc Failure.FailureCode name of a link_fail
    (``"TEMPORARY_CHANNEL_FAILURE"`` for no balance, ``"FEE_INSUFFICIENT"`` with detail
    ``"NO_DETAIL"`` when the sender offered less than our fee: stale gossip after a raise).
    """

    kind: str
    incoming_chan_id: int
    outgoing_chan_id: int
    timestamp_ns: int
    failure_detail: str
    wire_failure: str = "TEMPORARY_CHANNEL_FAILURE"


@dataclass(frozen=True)
class SimChannelEvent:
    """A channel event (SubscribeChannelEvents): ``"opened"|"closed"|"active"|"inactive"``."""

    kind: str
    chan_id: int
    channel_point: str


@dataclass(frozen=True)
class MarketTruth:
    """The market's hidden state per channel (index order of :meth:`SimulatedNode.channels`),
    for reports and plots: nothing of it is on LND's wire."""

    chan_id: np.ndarray
    competitor_ref_ppm: np.ndarray
    """The competitors' median fee rate into the peer now (they drift and react)."""
    competitor_count: np.ndarray
    """How many comparable alternatives a sender weighs against the channel (bypass aside)."""
    peer_elasticity: np.ndarray
    """The peer's price sensitivity (scenario elasticity times a per-peer log-normal)."""
    noise_ppm: np.ndarray
    """Scale of the senders' route-specific cost noise (ppm): low is elastic."""
    pool_per_day: np.ndarray
    """Attempts per day of every sender that could use the channel (before choosing)."""
    demand_level: np.ndarray
    """The current demand regime's multiplier (mean 1)."""
    avoided_share: np.ndarray
    """Share of the senders avoiding the channel after recent failures."""
    remember_us_share: np.ndarray
    """Share of the senders who last succeeded through the channel."""


@dataclass(frozen=True)
class ForwardColumns:
    """Forwards as parallel numpy int64 columns (a fast path for bulk readers)."""

    timestamp_ns: np.ndarray
    chan_id_in: np.ndarray
    chan_id_out: np.ndarray
    amt_in_msat: np.ndarray
    amt_out_msat: np.ndarray
    fee_msat: np.ndarray

    def __len__(self) -> int:
        return int(self.timestamp_ns.shape[0])


class ForwardView(Sequence[SimForward]):
    """An immutable, lazily materialised sequence of forwards (sorted by time)."""

    __slots__ = ("_cols",)

    def __init__(self, cols: ForwardColumns) -> None:
        self._cols = cols

    @property
    def columns(self) -> ForwardColumns:
        return self._cols

    def __len__(self) -> int:
        return len(self._cols)

    @overload
    def __getitem__(self, index: int) -> SimForward: ...

    @overload
    def __getitem__(self, index: slice) -> ForwardView: ...

    def __getitem__(self, index: int | slice) -> SimForward | ForwardView:
        c = self._cols
        if isinstance(index, slice):
            return ForwardView(
                ForwardColumns(
                    c.timestamp_ns[index],
                    c.chan_id_in[index],
                    c.chan_id_out[index],
                    c.amt_in_msat[index],
                    c.amt_out_msat[index],
                    c.fee_msat[index],
                )
            )
        n = len(c)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError("forward index out of range")
        return SimForward(
            timestamp_ns=int(c.timestamp_ns[index]),
            chan_id_in=int(c.chan_id_in[index]),
            chan_id_out=int(c.chan_id_out[index]),
            amt_in_msat=int(c.amt_in_msat[index]),
            amt_out_msat=int(c.amt_out_msat[index]),
            fee_msat=int(c.fee_msat[index]),
        )

    def __iter__(self):
        c = self._cols
        cols = zip(
            c.timestamp_ns.tolist(),
            c.chan_id_in.tolist(),
            c.chan_id_out.tolist(),
            c.amt_in_msat.tolist(),
            c.amt_out_msat.tolist(),
            c.fee_msat.tolist(),
            strict=True,
        )
        for ts, ci, co, ai, ao, fee in cols:
            yield SimForward(
                timestamp_ns=ts,
                chan_id_in=ci,
                chan_id_out=co,
                amt_in_msat=ai,
                amt_out_msat=ao,
                fee_msat=fee,
            )


Listener = Callable[[SimChannelEvent | SimHtlcEvent], None]


class SimulatedNode:
    """Our simulated LND node inside its network, on a simulated clock.

    Build it with :meth:`from_scenario` (a shipped scenario name or a YAML path) or
    :meth:`from_config` (a validated :class:`~mcp_optimizer.simulator.scenario.Scenario`).
    """

    def __init__(self, core: _Core) -> None:  # use from_scenario / from_config
        self._core = core
        self._lock = threading.RLock()
        self._listeners: dict[int, Listener] = {}
        self._next_listener = 0
        self.identity_pubkey: str = core.identity_pubkey
        self.alias: str = core.alias
        self.version: str = core.version
        self.allow_positive_inbound: bool = core.allow_positive_inbound
        self.scenario_name: str = core.scenario_name

    # -- construction ---------------------------------------------------------------------

    @classmethod
    def from_scenario(cls, name_or_path: str) -> SimulatedNode:
        """Build the node of a shipped scenario (by name) or of a scenario YAML file."""
        from .scenario import load_scenario

        return cls.from_config(load_scenario(name_or_path))

    @classmethod
    def from_config(cls, scenario: Scenario) -> SimulatedNode:
        """Build the node of an already validated scenario, history included."""
        from .build import build_core

        return cls(build_core(scenario))

    # -- clock ----------------------------------------------------------------------------

    def now_s(self) -> int:
        """The simulated clock, Unix seconds."""
        with self._lock:
            return self._core.now_s

    def block_height(self) -> int:
        with self._lock:
            return self._core.block_height_at(self._core.now_s)

    # -- our channels -----------------------------------------------------------------------

    def channels(self) -> list[SimChannel]:
        """Our open channels (a channel being closed is no longer listed, as in LND)."""
        with self._lock:
            closing = _closes.closing_ids(self._core)
            return [c for c in self._core.channels() if c.chan_id not in closing]

    def channel(self, channel_point: str) -> SimChannel:
        """One of our open channels by channel point; KeyError if unknown or closing."""
        with self._lock:
            c = self._core.channel(self._core.index_of(channel_point))
            if c.chan_id in _closes.closing_ids(self._core):
                raise KeyError(channel_point)
            return c

    def close_channel(self, channel_point: str, sat_per_vbyte: int) -> str:
        """Start a cooperative close (see :mod:`.closes`); the closing txid. KeyError if the
        channel is not one of our open channels."""
        c = self.channel(channel_point)
        with self._lock:
            events = self._core.set_channel_status(self._core.index_of(channel_point), "disable")
            txid = _closes.closing_txid(channel_point)
            _closes.closes_of(self._core)[c.chan_id] = _closes.Close(
                chan_id=c.chan_id, channel_point=channel_point, txid=txid,
                started_height=self._core.block_height_at(self._core.now_s),
                sat_per_vbyte=sat_per_vbyte,
            )
        self._emit(events)
        return txid

    def close_settled(self, chan_id: int) -> bool:
        with self._lock:
            return chan_id in _closes.settled_ids(self._core)

    def set_local_policy(self, channel_point: str, policy: SimPolicy) -> None:
        """Apply our side's policy as given (LND's rules are the gRPC layer's job).

        KeyError if the channel point is not one of our channels.
        """
        with self._lock:
            self._core.set_local_policy(self._core.index_of(channel_point), policy)

    def set_channel_status(self, channel_point: str, action: str) -> None:
        """``"enable"``, ``"disable"`` or ``"auto"`` (LND Router.UpdateChanStatus).

        KeyError if the channel is unknown, ValueError if the action is not one of those.
        """
        with self._lock:
            events = self._core.set_channel_status(self._core.index_of(channel_point), action)
        self._emit(events)

    # -- graph --------------------------------------------------------------------------------

    def graph(self) -> tuple[list[SimGraphNode], list[SimGraphEdge]]:
        """The whole public graph, our node and channels included (DescribeGraph)."""
        with self._lock:
            nodes, edges = self._core.graph()
            gone = _closes.settled_ids(self._core)
            return nodes, [e for e in edges if e.chan_id not in gone] if gone else edges

    def graph_node(self, pubkey: str) -> SimGraphNode | None:
        with self._lock:
            return self._core.graph_node(pubkey)

    def node_channel_stats(self, pubkey: str) -> tuple[int, int]:
        """(number of channels, total capacity in sat) of a node; (0, 0) if unknown."""
        with self._lock:
            return self._core.node_channel_stats(pubkey)

    def edge(self, chan_id: int) -> SimGraphEdge | None:
        with self._lock:
            if chan_id in _closes.settled_ids(self._core):
                return None
            return self._core.edge(chan_id)

    # -- history ------------------------------------------------------------------------------

    def forwards(self, start_s: int, end_s: int) -> ForwardView:
        """Settled forwards with ``start_s <= timestamp < end_s`` (seconds), sorted by time."""
        with self._lock:
            return ForwardView(self._core.forward_columns(start_s, end_s))

    def htlc_failures(self, start_s: int, end_s: int) -> list[SimHtlcEvent]:
        """Failed forward attempts (link_fail) with ``start_s <= timestamp < end_s``."""
        with self._lock:
            return self._core.failures(start_s, end_s)

    def forward_count(self) -> int:
        """All settled forwards held (history plus what :meth:`advance` produced)."""
        with self._lock:
            return self._core.forward_count()

    # -- ground truth of the market (for reports; not on LND's wire) -----------------------

    def market_truth(self) -> MarketTruth:
        """The market's hidden per-channel state now (competitors' fees, elasticity...)."""
        with self._lock:
            return self._core.market_truth()

    def competitor_history(self, channel_point: str) -> list[tuple[int, float]]:
        """``(time_s, competitor median fee ppm)`` of a channel: its value at the start of the
        history, then each time its competitors moved. KeyError if the channel is unknown."""
        with self._lock:
            return self._core.competitor_history(self._core.index_of(channel_point))

    def revenue_curve(self, channel_point: str, fees_ppm: Sequence[float]) -> dict:
        """Expected attempts and fee income per day of a channel at each fee rate, in the
        market's current state, the senders' memory settled at each fee, liquidity ignored
        (see ``market.revenue_curve``). KeyError if the channel is unknown."""
        with self._lock:
            return self._core.revenue_curve(self._core.index_of(channel_point), fees_ppm)

    # -- time passing -----------------------------------------------------------------------

    def advance(self, seconds: int) -> None:
        """Run the market model ``seconds`` forward on the simulated clock."""
        if seconds < 0:
            raise ValueError(f"cannot advance the clock by a negative duration ({seconds} s)")
        with self._lock:
            events = self._core.advance(int(seconds), bool(self._listeners))
            height = self._core.block_height_at(self._core.now_s)
            for done in _closes.settle_due(self._core, height):
                events.append(SimChannelEvent("closed", done.chan_id, done.channel_point))
        self._emit(events)

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` with every later channel and HTLC event; returns unsubscribe."""
        with self._lock:
            key = self._next_listener
            self._next_listener += 1
            self._listeners[key] = listener

        def unsubscribe() -> None:
            with self._lock:
                self._listeners.pop(key, None)

        return unsubscribe

    def _emit(self, events: list[SimChannelEvent | SimHtlcEvent]) -> None:
        if not events:
            return
        with self._lock:
            listeners = list(self._listeners.values())
        for listener in listeners:
            for event in events:
                listener(event)
