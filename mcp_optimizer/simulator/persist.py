"""The embedded simulator's node kept in the data directory, so that a restarted service finds
the same node: the same channels (ids), the fees it set, the balances and the history.

``<data dir>/simulator/node.state`` holds a small header (format, scenario, simulated time of
the save) and the node's state. It is written atomically (temporary file, fsync, rename) when
the service stops and every few minutes while it runs, so a killed service loses at most those
minutes of simulated traffic (and the journal then sees the node's older fees as a change made
by someone else, which is what they are). The file belongs to the operator's data directory
and is read only from there; a file of another scenario, or one that cannot be read, stops the
start with one line and is left untouched.
"""

from __future__ import annotations

import os
import pickle
import threading
from pathlib import Path

from .errors import ScenarioError
from .model import SimulatedNode

STATE_FILE = "node.state"
FORMAT = 2
"""Bumped whenever the node's state changes shape (2: the route-choice market, closes): an older
file is refused with one line instead of being read into the wrong shape."""
SAVE_EVERY_S = 300.0
"""Seconds between saves while the service runs (wall clock)."""


def state_path(sim_dir: Path) -> Path:
    return Path(sim_dir) / STATE_FILE


def save(node: SimulatedNode, path: Path) -> None:
    """Write the node's state to ``path`` atomically."""
    with node._lock:  # the node's own lock: no advance or policy update half-way
        payload = pickle.dumps(node._core, protocol=pickle.HIGHEST_PROTOCOL)
        header = {"format": FORMAT, "scenario": node.scenario_name, "now_s": node._core.now_s}
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(header, fh, protocol=pickle.HIGHEST_PROTOCOL)
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)


def load(path: Path, scenario_name: str) -> SimulatedNode | None:
    """The node saved at ``path``, or None when there is none. Raises :class:`ScenarioError`
    (one line) for a file of another scenario or one that cannot be read."""
    if not path.exists():
        return None
    try:
        with path.open("rb") as fh:
            header = pickle.load(fh)
            if not isinstance(header, dict) or "format" not in header:
                raise ValueError("unknown format")
            if header["format"] != FORMAT:
                raise ScenarioError(
                    f"the simulated node kept in {path} was written by another version "
                    f"(format {header['format']}, this one reads {FORMAT}); it was left "
                    "untouched: move it away to start a new simulated node"
                )
            if header.get("scenario") != scenario_name:
                raise ScenarioError(
                    f"the simulated node kept in {path} is of scenario "
                    f"{header.get('scenario')!r}, not {scenario_name!r}: set "
                    f"MCP_SIM_SCENARIO={header.get('scenario')} or use another data dir"
                )
            core = pickle.load(fh)
    except ScenarioError:
        raise
    except Exception as exc:  # noqa: BLE001 - any damage is the same one line
        raise ScenarioError(
            f"the simulated node kept in {path} cannot be read ({type(exc).__name__}); it was "
            "left untouched: move it away to start a new simulated node"
        ) from None
    return SimulatedNode(core)


class AutoSaver:
    """Saves the node every ``every_s`` seconds on a thread of its own, and once at stop."""

    def __init__(self, node: SimulatedNode, path: Path, every_s: float = SAVE_EVERY_S,
                 on_error=lambda exc: None) -> None:
        self.node = node
        self.path = path
        self.every_s = every_s
        self.on_error = on_error
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sim-saver", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            self._save()

    def _save(self) -> None:
        try:
            save(self.node, self.path)
        except Exception as exc:  # noqa: BLE001 - reported; the service goes on
            self.on_error(exc)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self._save()
