"""Read the shared mainnet graph snapshot (``../shared/data/ln-graph/``) into a ChannelGraph.

The snapshot (see its README) has two gzipped CSV files: ``<name>.nodes.csv.gz``
(``idx,pubkey,alias``) and ``<name>.channels.csv.gz`` (``chan_idx,node1,node2,capacity_sat``
then, per direction ``d0`` = node1 -> node2 and ``d1`` = node2 -> node1: ``_disabled,
_htlc_min_msat,_htlc_max_msat,_fee_base_msat,_fee_ppm,_cltv_delta``).

What the snapshot does not carry, and how this loader says so:

* A direction without a usable update is written as disabled with zero fees and a zero CLTV
  delta (no real update has a zero CLTV delta). Such a direction becomes ``PolicyUnknown``;
  a disabled direction with a real CLTV delta would stay a disabled ``ChannelPolicy``.
* Node addresses, update times and short channel ids are absent: ``address_count`` is 0
  ("none known") for every node, ``last_update_s`` and ``taken_at_s`` are the snapshot's
  date (from the file name), and ``chan_id`` is the row's ``chan_idx``.
* Inbound fees are absent: 0.
"""

from __future__ import annotations

import calendar
import csv
import gzip
import re
import time
from pathlib import Path

from mcp_optimizer.messages import ChannelGraph, ChannelPolicy, GraphEdge, GraphNode, PolicyUnknown

SNAPSHOT_NAME = "ln-2026-02-03"
UNKNOWN_REASON = "no usable channel_update in the gossip snapshot"

_CHANNEL_COLUMNS = ["chan_idx", "node1", "node2", "capacity_sat"] + [
    f"{d}_{f}"
    for d in ("d0", "d1")
    for f in (
        "disabled",
        "htlc_min_msat",
        "htlc_max_msat",
        "fee_base_msat",
        "fee_ppm",
        "cltv_delta",
    )
]


class SnapshotError(ValueError):
    """The snapshot files are missing or malformed (the message says which and where)."""


def default_snapshot_dir(project_root: Path) -> Path:
    """Where the shared data lives relative to the project root."""
    return project_root.parent / "shared" / "data" / "ln-graph"


def _date_s(name: str) -> int:
    match = re.search(r"(\d{4})-(\d{2})-(\d{2})", name)
    if match is None:
        raise SnapshotError(f"snapshot name {name!r} carries no YYYY-MM-DD date")
    return calendar.timegm(time.strptime(match.group(0), "%Y-%m-%d"))


def _policy(row: dict[str, str], d: str, at_s: int) -> ChannelPolicy | PolicyUnknown:
    disabled = row[f"{d}_disabled"] == "1"
    cltv = int(row[f"{d}_cltv_delta"])
    if disabled and cltv == 0:
        return PolicyUnknown(reason=UNKNOWN_REASON)
    return ChannelPolicy(
        base_fee_msat=int(row[f"{d}_fee_base_msat"]),
        fee_rate_ppm=int(row[f"{d}_fee_ppm"]),
        inbound_base_fee_msat=0,
        inbound_fee_rate_ppm=0,
        time_lock_delta=cltv,
        min_htlc_msat=int(row[f"{d}_htlc_min_msat"]),
        max_htlc_msat=int(row[f"{d}_htlc_max_msat"]),
        disabled=disabled,
        last_update_s=at_s,
    )


def load_snapshot(directory: Path, name: str = SNAPSHOT_NAME) -> ChannelGraph:
    """Load ``<directory>/<name>.{nodes,channels}.csv.gz`` as a ChannelGraph (see module)."""
    nodes_path = directory / f"{name}.nodes.csv.gz"
    channels_path = directory / f"{name}.channels.csv.gz"
    for path in (nodes_path, channels_path):
        if not path.is_file():
            raise SnapshotError(f"graph snapshot file not found: {path}")
    at_s = _date_s(name)

    pubkeys: dict[str, str] = {}
    nodes: list[GraphNode] = []
    with gzip.open(nodes_path, "rt", encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames != ["idx", "pubkey", "alias"]:
            raise SnapshotError(f"{nodes_path}: unexpected columns {reader.fieldnames}")
        for row in reader:
            pubkeys[row["idx"]] = row["pubkey"]
            nodes.append(
                GraphNode(
                    pubkey=row["pubkey"], alias=row["alias"], address_count=0, last_update_s=at_s
                )
            )

    edges: list[GraphEdge] = []
    with gzip.open(channels_path, "rt", encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames != _CHANNEL_COLUMNS:
            raise SnapshotError(f"{channels_path}: unexpected columns {reader.fieldnames}")
        for line, row in enumerate(reader, start=2):
            try:
                key1, key2 = pubkeys[row["node1"]], pubkeys[row["node2"]]
                p1, p2 = _policy(row, "d0", at_s), _policy(row, "d1", at_s)
                capacity = int(row["capacity_sat"])
                chan_id = int(row["chan_idx"])
            except (KeyError, ValueError) as exc:
                raise SnapshotError(f"{channels_path}, line {line}: bad row ({exc})") from None
            if key2 < key1:  # BOLT 7: node1 is the smaller key
                key1, key2, p1, p2 = key2, key1, p2, p1
            edges.append(
                GraphEdge(
                    chan_id=chan_id,
                    node1_pubkey=key1,
                    node2_pubkey=key2,
                    capacity_sat=capacity,
                    node1_policy=p1,
                    node2_policy=p2,
                )
            )
    return ChannelGraph(taken_at_s=at_s, nodes=nodes, edges=edges)
