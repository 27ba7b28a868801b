"""Per-channel overrides: exclude a channel from automation, pin its fee, give it bounds.

They are part of the policy (``channels:`` in a policy file or the page's policy, keyed by
short channel id ``BLOCKxTXxOUTPUT`` or LND's integer ``chan_id``)::

    channels:
      835469x1000004x1: {exclude: true, note: "my exchange"}
      835469x1000005x0: {pin: {fee_rate_ppm: 500}}
      835469x1000006x1: {bounds: {min_fee_rate_ppm: 100, max_fee_rate_ppm: 4000}}

The engine stays pure: :func:`evaluate_overridden` is called by
``policies.engine.evaluate_channel`` when the policy holds overrides, and every Decision an
override decided or bounded says so (``Decision.override`` and a reason). The write path's
gates check a change against :func:`policy_for_channel` (the channel's own bounds), so engine
and gates still agree on what may be written.

- ``exclude``: NO_ACTION whatever the engine would do (its would-be decision is named in the
  reasons); the operator's rollbacks still work.
- ``pin``: the fee rate (and, if given, the inbound fee rate) is moved to the pinned value, one
  largest step per change, and kept there; the bounds are widened to hold the pin.
- ``bounds``: the channel's own bounds replace the policy's for the fields given.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import msgspec

from mcp_optimizer.messages import ChannelSnapshot, Decision, DecisionKind
from mcp_optimizer.scid import scid_text

from .defects import MAX_BASE_FEE_MSAT, MAX_FEE_RATE_PPM
from .yaml_safe import quote

if TYPE_CHECKING:  # pragma: no cover
    from .config import Policy

MAX_OVERRIDES = 10_000
"""Most channels a policy may override (a node has a few thousand channels at most)."""
MAX_NOTE = 200
"""Longest note kept with an override."""

_SCID = re.compile(r"(\d+)x(\d+)x(\d+)")


class _Part(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    pass


class FeePin(_Part):
    """A fee the channel is held at."""

    fee_rate_ppm: int
    """The outgoing fee rate to hold."""
    inbound_fee_rate_ppm: int | None = None
    """The inbound fee rate to hold (negative: a discount); None leaves it to the engine's
    bounds."""


class ChannelBounds(_Part):
    """The channel's own bounds; a field left out keeps the policy's."""

    min_fee_rate_ppm: int | None = None
    max_fee_rate_ppm: int | None = None
    min_base_fee_msat: int | None = None
    max_base_fee_msat: int | None = None
    min_inbound_fee_rate_ppm: int | None = None
    max_inbound_fee_rate_ppm: int | None = None


class ChannelOverride(_Part):
    """What the operator decided for one channel."""

    exclude: bool = False
    """True: the channel is left out of automation (always NO_ACTION)."""
    pin: FeePin | None = None
    """A fee to hold the channel at."""
    bounds: ChannelBounds | None = None
    """The channel's own bounds."""
    note: str = ""
    """The operator's words (shown with every decision the override made)."""


class OverrideError(ValueError):
    """An override that cannot be used; one line naming the key, the value and the rule."""


def parse_chan_key(key: object) -> int | None:
    """A ``channels:`` key (short channel id text or integer chan_id) -> chan_id, or None."""
    if isinstance(key, bool):
        return None
    if isinstance(key, int):
        return key if 0 < key < 2**64 else None
    if not isinstance(key, str):
        return None
    t = key.strip()
    if t.isdigit():
        v = int(t)
        return v if 0 < v < 2**64 else None
    m = _SCID.fullmatch(t)
    if m:
        block, tx, out = (int(g) for g in m.groups())
        if block < 2**24 and tx < 2**24 and out < 2**16:
            return (block << 40) | (tx << 16) | out
    return None


_RANGES = {
    "fee_rate_ppm": (0, MAX_FEE_RATE_PPM),
    "inbound_fee_rate_ppm": (-MAX_FEE_RATE_PPM, MAX_FEE_RATE_PPM),
    "min_fee_rate_ppm": (0, MAX_FEE_RATE_PPM),
    "max_fee_rate_ppm": (0, MAX_FEE_RATE_PPM),
    "min_base_fee_msat": (0, MAX_BASE_FEE_MSAT),
    "max_base_fee_msat": (0, MAX_BASE_FEE_MSAT),
    "min_inbound_fee_rate_ppm": (-MAX_FEE_RATE_PPM, MAX_FEE_RATE_PPM),
    "max_inbound_fee_rate_ppm": (-MAX_FEE_RATE_PPM, MAX_FEE_RATE_PPM),
}


def _convert_one(raw: Any, where: str, origin: str) -> ChannelOverride:
    if not isinstance(raw, Mapping):
        raise OverrideError(
            f"{origin}: key `{where}` has value {quote(raw)}, expected a mapping with keys "
            "exclude, pin, bounds, note"
        )
    try:
        ov = msgspec.convert(raw, ChannelOverride)
    except msgspec.ValidationError as exc:
        text = str(exc)
        m = re.search(r" - at `\$\.?([^`]*)`$", text)
        sub = m.group(1) if m else ""
        expected = re.sub(r" - at `[^`]*`$", "", text)
        node: Any = raw
        for part in sub.split(".") if sub else []:
            node = node.get(part, "<absent>") if isinstance(node, Mapping) else "<absent>"
        key = f"{where}.{sub}" if sub else where
        value = f" has value {quote(node)}" if sub else ""
        raise OverrideError(
            f"{origin}: key `{key}`{value}: {expected[0].lower()}{expected[1:]}"
        ) from None
    problems: list[str] = []
    for part_name in ("pin", "bounds"):
        part = getattr(ov, part_name)
        if part is None:
            continue
        for field in part.__struct_fields__:
            value = getattr(part, field)
            if value is None:
                continue
            lo, hi = _RANGES[field]
            if not lo <= value <= hi:
                problems.append(
                    f"key `{where}.{part_name}.{field}` has value {value!r}, expected "
                    f"{lo} to {hi}"
                )
    b = ov.bounds
    if b is not None:
        for low, high in (("min_fee_rate_ppm", "max_fee_rate_ppm"),
                          ("min_base_fee_msat", "max_base_fee_msat"),
                          ("min_inbound_fee_rate_ppm", "max_inbound_fee_rate_ppm")):
            lo_v, hi_v = getattr(b, low), getattr(b, high)
            if lo_v is not None and hi_v is not None and lo_v > hi_v:
                problems.append(
                    f"key `{where}.bounds.{low}` has value {lo_v!r}, expected at most "
                    f"`{where}.bounds.{high}` ({hi_v!r})"
                )
    if ov.exclude and (ov.pin is not None or ov.bounds is not None):
        problems.append(
            f"key `{where}.exclude` is true together with "
            f"{'pin' if ov.pin is not None else 'bounds'}, expected one of them: an excluded "
            "channel is never changed"
        )
    if ov.pin is not None and ov.bounds is not None:
        problems.append(
            f"key `{where}.pin` is given together with bounds, expected one of them: a pinned "
            "fee needs no bounds"
        )
    if not ov.exclude and ov.pin is None and ov.bounds is None:
        problems.append(
            f"key `{where}` sets nothing, expected exclude: true, a pin or bounds"
        )
    if len(ov.note) > MAX_NOTE:
        problems.append(f"key `{where}.note` is {len(ov.note)} characters, expected at most "
                        f"{MAX_NOTE}")
    if problems:
        raise OverrideError(f"{origin}: " + "; ".join(problems))
    return ov


def parse_channels(raw: Any, origin: str) -> dict[int, ChannelOverride]:
    """The ``channels:`` section -> overrides by chan_id; :class:`OverrideError` otherwise."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise OverrideError(
            f"{origin}: key `channels` has value {quote(raw)}, expected a mapping of short "
            "channel ids (BLOCKxTXxOUTPUT) to overrides"
        )
    if len(raw) > MAX_OVERRIDES:
        raise OverrideError(
            f"{origin}: key `channels` has {len(raw)} entries, expected at most {MAX_OVERRIDES}"
        )
    out: dict[int, ChannelOverride] = {}
    for key, value in raw.items():
        chan_id = parse_chan_key(key)
        if chan_id is None:
            raise OverrideError(
                f"{origin}: key `channels.{key}` is not a channel id, expected "
                "BLOCKxTXxOUTPUT (e.g. 835469x1000004x1) or LND's integer chan_id"
            )
        if chan_id in out:
            raise OverrideError(
                f"{origin}: key `channels.{key}` names channel {scid_text(chan_id)} a second "
                "time, expected each channel once"
            )
        out[chan_id] = _convert_one(value, f"channels.{key}", origin)
    return out


def merge_channels(base: Mapping[str, Any] | None, over: Mapping[str, Any]) -> dict[Any, Any]:
    """Lay the ``channels:`` of a later layer over an earlier one's: a channel named again is
    replaced whole (the later layer's override is the channel's)."""
    merged: dict[Any, Any] = {}
    ids: dict[int, Any] = {}
    for layer in (base or {}, over):
        if not isinstance(layer, Mapping):
            return dict(over) if isinstance(over, Mapping) else over  # type: ignore[return-value]
        for key, value in layer.items():
            cid = parse_chan_key(key)
            if cid is not None and cid in ids:
                merged.pop(ids[cid], None)
            if cid is not None:
                ids[cid] = key
            merged[key] = value
    return merged


def check_against(policy: Policy, origin: str) -> None:
    """Each channel's bounds, merged with the policy's, must hold min <= max."""
    problems: list[str] = []
    for chan_id, ov in policy.channels.items():
        if ov.bounds is None:
            continue
        local = policy_for_channel(policy, chan_id).bounds
        for low, high in (("min_fee_rate_ppm", "max_fee_rate_ppm"),
                          ("min_base_fee_msat", "max_base_fee_msat"),
                          ("min_inbound_fee_rate_ppm", "max_inbound_fee_rate_ppm")):
            if getattr(local, low) > getattr(local, high):
                problems.append(
                    f"key `channels.{scid_text(chan_id)}.bounds`: {low} "
                    f"{getattr(local, low)} is above {high} {getattr(local, high)} once laid "
                    "over the policy's bounds, expected min at most max"
                )
    if problems:
        raise OverrideError(f"{origin}: " + "; ".join(problems))


def policy_for_channel(policy: Policy, chan_id: int) -> Policy:
    """The policy one channel is decided and gated with: its bounds laid over the policy's
    (for a pin: the policy's, widened to hold the pinned fee). The policy itself otherwise."""
    ov = policy.channels.get(chan_id) if policy.channels else None
    if ov is None or ov.exclude:
        return policy
    b = policy.bounds
    values: dict[str, int] = {}
    if ov.bounds is not None:
        for field in ov.bounds.__struct_fields__:
            v = getattr(ov.bounds, field)
            if v is not None:
                values[field] = v
    if ov.pin is not None:
        p = ov.pin
        values["min_fee_rate_ppm"] = min(b.min_fee_rate_ppm, p.fee_rate_ppm)
        values["max_fee_rate_ppm"] = max(b.max_fee_rate_ppm, p.fee_rate_ppm)
        if p.inbound_fee_rate_ppm is not None:
            values["min_inbound_fee_rate_ppm"] = min(b.min_inbound_fee_rate_ppm,
                                                     p.inbound_fee_rate_ppm)
            values["max_inbound_fee_rate_ppm"] = max(b.max_inbound_fee_rate_ppm,
                                                     p.inbound_fee_rate_ppm)
    if not values:
        return policy
    return msgspec.structs.replace(policy, bounds=msgspec.structs.replace(b, **values))


def describe(ov: ChannelOverride) -> str:
    """The override in words."""
    if ov.exclude:
        what = "excluded from automation"
    elif ov.pin is not None:
        what = f"fee pinned at {ov.pin.fee_rate_ppm} ppm"
        if ov.pin.inbound_fee_rate_ppm is not None:
            what += f", inbound {ov.pin.inbound_fee_rate_ppm} ppm"
    else:
        assert ov.bounds is not None
        parts = [f"{f} {getattr(ov.bounds, f)}" for f in ov.bounds.__struct_fields__
                 if getattr(ov.bounds, f) is not None]
        what = "own bounds: " + ", ".join(parts)
    return what + (f" ({ov.note})" if ov.note else "")


def _defective(d: Decision) -> bool:
    return d.kind is DecisionKind.NO_ACTION and bool(d.reasons) and d.reasons[0].startswith(
        "snapshot rejected")


def evaluate_overridden(
    snapshot: ChannelSnapshot,
    policy: Policy,
    evaluate: Callable[[ChannelSnapshot, Policy], Decision],
) -> Decision:
    """``evaluate`` (the engine without overrides) with the channel's override applied."""
    try:
        chan_id = snapshot.channel.chan_id
    except AttributeError:
        return evaluate(snapshot, policy)
    ov = policy.channels.get(chan_id)
    if ov is None:
        return evaluate(snapshot, policy)
    local = policy_for_channel(policy, chan_id)
    d = evaluate(snapshot, local)
    if _defective(d):
        return d  # a defective snapshot is never acted on, override or not
    what = describe(ov)
    if ov.exclude:
        would = (
            "it would otherwise have made no change" if d.kind is DecisionKind.NO_ACTION
            else f"it would otherwise have proposed {d.kind.value}: fee rate "
                 f"{d.current_policy.fee_rate_ppm} -> {d.proposed_policy.fee_rate_ppm} ppm"
        )
        return msgspec.structs.replace(
            d, kind=DecisionKind.NO_ACTION, proposed_policy=d.current_policy,
            reasons=[f"per-channel override: {what}; no change ({would})"],
            executable=True, override=what,
        )
    if ov.pin is not None:
        return _pinned(snapshot, local, ov, what, d)
    return msgspec.structs.replace(
        d, reasons=[*d.reasons, f"per-channel override: {what}"], override=what,
    )


def _pinned(snapshot: ChannelSnapshot, local: Policy, ov: ChannelOverride, what: str,
            d: Decision) -> Decision:
    from .changes import shape

    assert ov.pin is not None
    ch = snapshot.channel
    old = ch.our_policy
    pin = ov.pin
    at_pin = old.fee_rate_ppm == pin.fee_rate_ppm and (
        pin.inbound_fee_rate_ppm is None or old.inbound_fee_rate_ppm == pin.inbound_fee_rate_ppm
    )
    base = dict(proposed_policy=old, kind=DecisionKind.NO_ACTION, executable=True,
                override=what)
    if at_pin:
        return msgspec.structs.replace(
            d, reasons=[f"per-channel override: {what}; the channel is there, no change"], **base
        )
    if not ch.active:
        return msgspec.structs.replace(
            d, reasons=[f"per-channel override: {what}; the peer's link is down, the fee is "
                        "moved once it is back"], **base)
    shaped = shape(old, fee_rate_ppm=pin.fee_rate_ppm,
                   inbound_fee_rate_ppm=pin.inbound_fee_rate_ppm, policy=local)
    if shaped.policy is None:
        return msgspec.structs.replace(
            d, reasons=[f"per-channel override: {what}; no change may be made within the "
                        f"policy's limits", *shaped.notes], **base)
    new = shaped.policy
    kind = (DecisionKind.INCREASE_FEES if new.fee_rate_ppm > old.fee_rate_ppm
            or (new.fee_rate_ppm == old.fee_rate_ppm
                and new.inbound_fee_rate_ppm > old.inbound_fee_rate_ppm)
            else DecisionKind.LOWER_FEES)
    reasons = [f"per-channel override: {what}; moving the fee there", *shaped.notes,
               f"fee rate {old.fee_rate_ppm} -> {new.fee_rate_ppm} ppm"]
    return msgspec.structs.replace(
        d, kind=kind, proposed_policy=new, reasons=reasons, executable=True,
        override=what,
    )
