"""The network around our node: a synthetic graph fitted to mainnet, or the real snapshot.

Synthetic graphs come from a configuration model: every node draws a degree from the real
degree distribution, its channel "stubs" are shuffled and paired (self-pairs dropped, parallel
channels kept, as on mainnet), so high-degree nodes attract channels in proportion to their
degree (preferential attachment with the real degree law). Capacities and each direction's
policy fields are drawn from the real empirical distributions, summarised into
``data/ln_distributions.json`` by ``scripts/gen_sim_distributions.py``. Fields are drawn
independently of each other (no correlation between, say, capacity and degree).

A graph is held as numpy columns (:class:`GraphArrays`); records are built only when read.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np

from .errors import ScenarioError

# Policy columns, each an (E, 2) array: direction 0 is node1's policy, 1 is node2's.
POLICY_FIELDS = ("present", "base", "ppm", "cltv", "hmin", "hmax")

# Block height: 880,000 was mined on 2025-01-20 around 05:00 UTC; ten minutes a block.
_HEIGHT_ANCHOR = 880_000
_HEIGHT_ANCHOR_S = 1_737_349_200


def block_height_at(ts_s: int) -> int:
    return _HEIGHT_ANCHOR + (int(ts_s) - _HEIGHT_ANCHOR_S) // 600


def make_scid(height: np.ndarray, tx: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Short channel ids (block << 40 | tx << 16 | output), as LND's uint64 chan_id."""
    return (height.astype(np.int64) << 40) | (tx.astype(np.int64) << 16) | out.astype(np.int64)


@dataclass
class GraphArrays:
    pubkeys: list[str]
    aliases: list[str]
    addresses: list[tuple[str, ...]]
    node_update_s: np.ndarray
    n1: np.ndarray
    n2: np.ndarray
    capacity_sat: np.ndarray
    scid: np.ndarray
    out_index: np.ndarray
    update_s: np.ndarray
    present: np.ndarray
    base: np.ndarray
    ppm: np.ndarray
    cltv: np.ndarray
    hmin: np.ndarray
    hmax: np.ndarray

    @property
    def node_count(self) -> int:
        return len(self.pubkeys)

    def degrees(self) -> np.ndarray:
        return np.bincount(
            np.concatenate([self.n1, self.n2]), minlength=self.node_count
        ).astype(np.int64)

    def reference_fees(self) -> np.ndarray:
        """Per node: median fee rate (ppm) its neighbours charge to forward INTO it; -1 if none.

        For a channel X-P, the fee X announces for that channel is what a payment pays X to be
        forwarded to P: the competitor price of reaching P.
        """
        target = np.concatenate([self.n2, self.n1])
        fee = np.concatenate([self.ppm[:, 0], self.ppm[:, 1]])
        present = np.concatenate([self.present[:, 0], self.present[:, 1]])
        target, fee = target[present], fee[present]
        out = np.full(self.node_count, -1.0)
        if target.size == 0:
            return out
        order = np.lexsort((fee, target))
        target, fee = target[order], fee[order]
        bounds = np.flatnonzero(np.diff(target)) + 1
        starts = np.concatenate([[0], bounds])
        ends = np.concatenate([bounds, [target.size]])
        lo = fee[starts + (ends - starts - 1) // 2]
        hi = fee[starts + (ends - starts) // 2]
        out[target[starts]] = (lo + hi) / 2.0
        return out


@cache
def distributions() -> dict:
    """The shipped summary of the real graph (quantile tables)."""
    text = resources.files("mcp_optimizer.simulator").joinpath("data/ln_distributions.json")
    return json.loads(text.read_text(encoding="utf-8"))


def sample_quantiles(rng: np.random.Generator, name: str, size: int) -> np.ndarray:
    """Draw ``size`` values from the empirical distribution ``name`` (inverse CDF)."""
    table = distributions()
    return np.interp(rng.random(size), table["grid"], table[name])


def _node_keys(rng: np.random.Generator, n: int) -> list[str]:
    body = rng.bytes(32 * n)
    prefix = rng.integers(2, 4, size=n)
    return [f"0{prefix[i]}{body[32 * i : 32 * i + 32].hex()}" for i in range(n)]


def random_pubkey(rng: np.random.Generator) -> str:
    return _node_keys(rng, 1)[0]


def synthetic_graph(n_nodes: int, rng: np.random.Generator, start_s: int) -> GraphArrays:
    """A graph of ``n_nodes`` nodes with mainnet's degree, capacity and fee distributions."""
    deg = np.rint(sample_quantiles(rng, "degree", n_nodes)).astype(np.int64)
    deg = np.clip(deg, 1, max(1, n_nodes - 1))
    stubs = np.repeat(np.arange(n_nodes, dtype=np.int64), deg)
    rng.shuffle(stubs)
    if stubs.size % 2:
        stubs = stubs[:-1]
    pairs = stubs.reshape(-1, 2)
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    n1 = np.minimum(pairs[:, 0], pairs[:, 1])
    n2 = np.maximum(pairs[:, 0], pairs[:, 1])
    e = n1.size
    capacity = np.maximum(np.rint(sample_quantiles(rng, "capacity_sat", e)), 1000).astype(
        np.int64
    )
    pres = distributions()["policy_presence"]
    cat = rng.choice(
        4, size=e, p=[pres["both"], pres["node1_only"], pres["node2_only"], pres["none"]]
    )
    present = np.stack([(cat == 0) | (cat == 1), (cat == 0) | (cat == 2)], axis=1)

    def draw(name: str) -> np.ndarray:
        return np.rint(sample_quantiles(rng, name, 2 * e)).astype(np.int64).reshape(e, 2)

    base, ppm, cltv, hmin = (
        draw("fee_base_msat"),
        draw("fee_rate_ppm"),
        draw("time_lock_delta"),
        draw("htlc_min_msat"),
    )
    ratio = sample_quantiles(rng, "htlc_max_ratio", 2 * e).reshape(e, 2)
    hmax = np.maximum((capacity[:, None] * 1000 * ratio).astype(np.int64), 1000)
    height_now = block_height_at(start_s)
    height = rng.integers(height_now - 6 * 52_560, height_now - 6, size=e)
    out_index = rng.integers(0, 4, size=e)
    scid = make_scid(height, np.arange(e), out_index)
    update_s = start_s - rng.integers(0, 14 * 86_400, size=e)
    pubkeys = _node_keys(rng, n_nodes)
    aliases = [f"sim-node-{i:05d}" for i in range(n_nodes)]
    addresses = [(f"198.51.{(i >> 8) & 255}.{i & 255}:9735",) for i in range(n_nodes)]
    node_update = start_s - rng.integers(0, 14 * 86_400, size=n_nodes)
    return GraphArrays(
        pubkeys=pubkeys,
        aliases=aliases,
        addresses=addresses,
        node_update_s=node_update,
        n1=n1,
        n2=n2,
        capacity_sat=capacity,
        scid=scid,
        out_index=out_index,
        update_s=update_s,
        present=present,
        base=base,
        ppm=ppm,
        cltv=cltv,
        hmin=hmin,
        hmax=hmax,
    )


def find_snapshot(path: Path, snapshot: str) -> tuple[Path, Path]:
    """The (channels, nodes) CSV files of ``snapshot`` in directory ``path``."""
    if not path.is_dir():
        raise ScenarioError(f"real graph directory {path} does not exist")
    if not snapshot:
        names = sorted(p.name[: -len(".channels.csv.gz")] for p in path.glob("*.channels.csv.gz"))
        if not names:
            raise ScenarioError(f"no <snapshot>.channels.csv.gz file in {path}")
        if len(names) > 1:
            raise ScenarioError(
                f"several snapshots in {path} ({', '.join(names)}): name one in graph.snapshot"
            )
        snapshot = names[0]
    channels = path / f"{snapshot}.channels.csv.gz"
    nodes = path / f"{snapshot}.nodes.csv.gz"
    for f in (channels, nodes):
        if not f.is_file():
            raise ScenarioError(f"real graph file {f} does not exist")
    return channels, nodes


CHANNEL_COLUMNS = (
    "chan_idx,node1,node2,capacity_sat,d0_disabled,d0_htlc_min_msat,d0_htlc_max_msat,"
    "d0_fee_base_msat,d0_fee_ppm,d0_cltv_delta,d1_disabled,d1_htlc_min_msat,d1_htlc_max_msat,"
    "d1_fee_base_msat,d1_fee_ppm,d1_cltv_delta"
)


def real_graph(path: Path, snapshot: str, rng: np.random.Generator, start_s: int) -> GraphArrays:
    """Load a real snapshot (the format of ../shared/data/ln-graph)."""
    ch_file, node_file = find_snapshot(path, snapshot)
    try:
        with gzip.open(ch_file, "rt", encoding="utf-8") as fh:
            header = fh.readline().strip()
            if header != CHANNEL_COLUMNS:
                raise ScenarioError(f"{ch_file} does not have the expected columns")
            d = np.loadtxt(fh, delimiter=",", dtype=np.int64, ndmin=2)
        with gzip.open(node_file, "rt", encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh)
            if next(reader, None) != ["idx", "pubkey", "alias"]:
                raise ScenarioError(f"{node_file} does not have the columns idx,pubkey,alias")
            rows = list(reader)
    except (OSError, ValueError, EOFError) as exc:
        raise ScenarioError(f"cannot read the real graph in {path}: {exc}") from None
    n = len(rows)
    pubkeys = [""] * n
    aliases = [""] * n
    for row in rows:
        i = int(row[0])
        pubkeys[i] = row[1]
        aliases[i] = row[2]
    if d.size and int(max(d[:, 1].max(), d[:, 2].max())) >= n:
        raise ScenarioError(f"{ch_file} names a node missing from {node_file}")
    e = d.shape[0]
    n1, n2 = d[:, 1], d[:, 2]
    d0, d1 = d[:, 4:10], d[:, 10:16]
    present = np.stack(
        [~((d0[:, 0] == 1) & (d0[:, 5] == 0)), ~((d1[:, 0] == 1) & (d1[:, 5] == 0))], axis=1
    )

    def col(k: int) -> np.ndarray:
        return np.stack([d0[:, k], d1[:, k]], axis=1)

    height_now = block_height_at(start_s)
    height = rng.integers(height_now - 6 * 52_560, height_now - 6, size=e)
    out_index = rng.integers(0, 4, size=e)
    return GraphArrays(
        pubkeys=pubkeys,
        aliases=aliases,
        addresses=[()] * n,
        node_update_s=start_s - rng.integers(0, 14 * 86_400, size=n),
        n1=n1.copy(),
        n2=n2.copy(),
        capacity_sat=d[:, 3].copy(),
        scid=make_scid(height, np.arange(e), out_index),
        out_index=out_index,
        update_s=start_s - rng.integers(0, 14 * 86_400, size=e),
        present=present,
        base=col(3),
        ppm=col(4),
        cltv=col(5),
        hmin=col(1),
        hmax=col(2),
    )


def channel_point(seed: int, scid: int, out_index: int) -> str:
    """A funding outpoint for a channel (a deterministic stand-in txid)."""
    digest = hashlib.sha256(f"sim-{seed}-{scid}".encode()).hexdigest()
    return f"{digest}:{out_index}"
