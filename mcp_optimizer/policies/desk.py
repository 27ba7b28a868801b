"""The running service's policy: which one the next cycle uses, and how the web page changes it.

:class:`PolicyDesk` holds the effective policy (:mod:`.layers`). A change of the page's layer
is checked exactly as the loader checks a file (the same one-line errors), journaled with its
old and new layer and who asked (``policy_changes``), written to ``<data dir>/policy.page.yml``
in the same transaction (journaled and written, or neither), then handed to the parts that
use the policy (decider, cycle runner, write path's gates) for the next cycle. A change can be
undone: the layer it replaced is saved again, journaled as undoing it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loguru import logger

from mcp_optimizer.messages import ChannelSnapshot, Decision
from mcp_optimizer.messages.policy import PolicyChangeRecord, PolicyKeyChange

from .config import Policy, PolicyError
from .layers import (
    PAGE_ORIGIN,
    Effective,
    edit_layer,
    key_changes,
    load_layers,
    page_path,
    page_text,
    parse_page_text,
)

if TYPE_CHECKING:  # pragma: no cover
    from mcp_optimizer.journal import Journal

MAX_REASON = 500


class PolicyRefused(ValueError):
    """A policy change that was not made; one line (names the key when one is at fault)."""

    def __init__(self, message: str, key: str = "") -> None:
        super().__init__(message)
        self.key = key


class PolicyDesk:
    def __init__(
        self,
        journal: Journal,
        effective: Effective,
        data_dir: Path,
        environ: Mapping[str, str],
        *,
        decide: Callable[[ChannelSnapshot, Policy], Decision] | None = None,
    ) -> None:
        self.journal = journal
        self._effective = effective
        self.data_dir = data_dir
        self.environ = dict(environ)
        self._lock = threading.Lock()
        self._listeners: list[Callable[[Policy], None]] = []
        self.snapshots: Callable[[], list[ChannelSnapshot]] = list
        """The latest cycle's snapshots (set by the service: the cycle runner's)."""
        if decide is None:
            from .engine import evaluate_channel as decide
        self.decide = decide

    # ------------------------------------------------------------------------------- reading
    def current(self) -> Policy:
        """The policy the next cycle uses."""
        return self._effective.policy

    def effective(self) -> Effective:
        return self._effective

    def on_change(self, listener: Callable[[Policy], None]) -> None:
        """Call ``listener(policy)`` after every change (the parts that hold the policy)."""
        self._listeners.append(listener)

    def check(self, set_keys: Mapping[str, Any], unset: list[str]) -> Effective:
        """The effective policy the edit would give; :class:`PolicyRefused` otherwise."""
        cur = self._effective
        try:
            layer = edit_layer(cur.page, set_keys, unset, cur.env_keys)
            return load_layers(cur.file_path, layer, self.environ)
        except PolicyError as exc:
            raise PolicyRefused(str(exc), _key_of(str(exc), set_keys, unset)) from None

    def preview(
        self, set_keys: Mapping[str, Any], unset: list[str]
    ) -> list[tuple[Decision, Decision]]:
        """``(decision now, decision with the edit)`` for each of the latest snapshots."""
        new = self.check(set_keys, unset).policy
        old = self.current()
        return [(self.decide(s, old), self.decide(s, new)) for s in self.snapshots()]

    def what_next(self) -> list[Decision]:
        """What the current policy decides on the latest snapshots (the next cycle's view)."""
        policy = self.current()
        return [self.decide(s, policy) for s in self.snapshots()]

    # ------------------------------------------------------------------------------- writing
    def save(self, set_keys: Mapping[str, Any], unset: list[str], by: str,
             reason: str = "") -> PolicyChangeRecord:
        """Check, journal, write and apply an edit of the page's layer."""
        if len(reason) > MAX_REASON:
            raise PolicyRefused(
                f"reason is {len(reason)} characters, expected at most {MAX_REASON}")
        with self._lock:
            new = self.check(set_keys, unset)
            return self._commit(new, by, reason, undoes=0)

    def undo(self, policy_change_id: int, by: str, reason: str = "") -> PolicyChangeRecord:
        """Put back the page's layer a change replaced (journaled as undoing it)."""
        with self._lock:
            try:
                target = self.journal.policy_change(policy_change_id)
            except KeyError:
                raise PolicyRefused(f"no policy change {policy_change_id} in the journal") from None
            cur = self._effective
            if page_text(cur.page) != target.new_layer:
                raise PolicyRefused(
                    f"policy change {policy_change_id} is not the page's current layer (later "
                    "changes were saved): undo those first, newest first"
                )
            try:
                layer = parse_page_text(target.old_layer)
                new = load_layers(cur.file_path, layer, self.environ)
            except PolicyError as exc:
                raise PolicyRefused(
                    f"policy change {policy_change_id} cannot be undone: the layer before it "
                    f"no longer loads ({exc})"
                ) from None
            return self._commit(new, by, reason or f"undo of policy change {policy_change_id}",
                                undoes=policy_change_id)

    def _commit(self, new: Effective, by: str, reason: str, undoes: int) -> PolicyChangeRecord:
        old = self._effective
        changes = key_changes(old.page, new.page)
        if not changes:
            raise PolicyRefused("the edit changes nothing in the page's policy")
        old_text, new_text = page_text(old.page), page_text(new.page)
        path = page_path(self.data_dir)
        tmp = path.with_name(path.name + ".tmp")

        def write() -> None:
            if not new_text:
                path.unlink(missing_ok=True)
                return
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(new_text)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)

        try:
            record = self.journal.record_policy_change(
                by=by, reason=reason, old_layer=old_text, new_layer=new_text,
                keys=[PolicyKeyChange(key=k, old=a, new=b) for k, a, b in changes],
                undoes=undoes, then=write,
            )
        except OSError as exc:
            raise PolicyRefused(
                f"cannot write {path} ({exc.strerror or exc}); nothing was changed"
            ) from None
        self._effective = new
        for listener in self._listeners:
            listener(new.policy)
        logger.log(
            "ACTION" if "ACTION" in _levels() else "WARNING",
            "policy change {} by {}{}: {} ({}); applies from the next cycle",
            record.policy_change_id, by,
            f" undoing policy change {undoes}" if undoes else "",
            "; ".join(f"{k}: {a or '(unset)'} -> {b or '(unset)'}" for k, a, b in changes),
            reason or "no reason given",
        )
        return record


def _levels() -> set[str]:
    try:
        logger.level("ACTION")
        return {"ACTION"}
    except ValueError:
        return set()


def _key_of(message: str, set_keys: Mapping[str, Any], unset: list[str]) -> str:
    from .layers import error_key

    key = error_key(message)
    if key in set_keys or key in unset:
        return key
    for k in set_keys:  # a nested key named by the loader (channels.X.pin.fee_rate_ppm)
        if key.startswith(k + ".") or k.startswith(key + "."):
            return k
    if key.startswith("channels."):
        head = ".".join(key.split(".")[:2])
        for k in set_keys:
            if k.split(".")[:2] == head.split("."):
                return k
    return key


__all__ = ["PAGE_ORIGIN", "PolicyDesk", "PolicyRefused"]
