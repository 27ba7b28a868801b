"""Summarise the real Lightning graph snapshot into the simulator's distribution table.

Reads ``<dir>/<snapshot>.channels.csv.gz`` (default dir ``../shared/data/ln-graph`` relative to
the repository root) and writes ``mcp_optimizer/simulator/data/ln_distributions.json``: quantiles
of node degree, channel capacity and each announced policy field, plus how often a direction has
no policy. The synthetic graph generator samples from that table.

Usage: .venv/bin/python scripts/gen_sim_distributions.py [DIR] [SNAPSHOT]
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "mcp_optimizer" / "simulator" / "data" / "ln_distributions.json"

# A quantile grid dense in the tail (degree and capacity are heavy-tailed).
GRID = np.concatenate([np.linspace(0.0, 0.99, 991), np.linspace(0.99, 1.0, 101)[1:]])


def quantiles(values: np.ndarray) -> list[float]:
    q = np.quantile(values.astype(np.float64), GRID, method="linear")
    return [float(round(v, 6)) for v in q]


def main(argv: list[str]) -> int:
    data_dir = Path(argv[1]) if len(argv) > 1 else ROOT.parent / "shared" / "data" / "ln-graph"
    snapshot = argv[2] if len(argv) > 2 else "ln-2026-02-03"
    path = data_dir / f"{snapshot}.channels.csv.gz"
    if not path.is_file():
        print(f"gen_sim_distributions: {path} not found", file=sys.stderr)
        return 2
    with gzip.open(path, "rt") as fh:
        d = np.loadtxt(fh, delimiter=",", skiprows=1, dtype=np.int64)
    # columns: chan_idx,node1,node2,capacity_sat, then per direction (d0 at 4, d1 at 10):
    # disabled, htlc_min_msat, htlc_max_msat, fee_base_msat, fee_ppm, cltv_delta
    n_nodes = int(max(d[:, 1].max(), d[:, 2].max()) + 1)
    degree = np.bincount(np.concatenate([d[:, 1], d[:, 2]]), minlength=n_nodes)
    capacity = d[:, 3]
    # A direction without a policy is stored as disabled with cltv_delta 0.
    absent0 = (d[:, 4] == 1) & (d[:, 9] == 0)
    absent1 = (d[:, 10] == 1) & (d[:, 15] == 0)
    pol = np.concatenate([d[~absent0, 4:10], d[~absent1, 10:16]])
    cap_dir = np.concatenate([capacity[~absent0], capacity[~absent1]])
    max_ratio = pol[:, 2] / (cap_dir * 1000.0)
    table = {
        "source": f"{snapshot} (Lightning mainnet graph snapshot, {n_nodes} nodes, "
        f"{len(d)} channels), summarised by scripts/gen_sim_distributions.py",
        "nodes": n_nodes,
        "channels": int(len(d)),
        "grid": [float(round(g, 6)) for g in GRID],
        "degree": quantiles(degree),
        "capacity_sat": quantiles(capacity),
        "policy_presence": {
            "both": float(np.mean(~absent0 & ~absent1)),
            "node1_only": float(np.mean(~absent0 & absent1)),
            "node2_only": float(np.mean(absent0 & ~absent1)),
            "none": float(np.mean(absent0 & absent1)),
        },
        "disabled_fraction": float(pol[:, 0].mean()),
        "htlc_min_msat": quantiles(pol[:, 1]),
        "htlc_max_ratio": quantiles(np.clip(max_ratio, 0.0, 1.0)),
        "fee_base_msat": quantiles(pol[:, 3]),
        "fee_rate_ppm": quantiles(pol[:, 4]),
        "time_lock_delta": quantiles(pol[:, 5]),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(table, separators=(",", ":")) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)} ({OUT.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
