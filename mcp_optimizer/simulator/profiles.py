"""Behaviour profiles: how a channel of our node behaves in the market model.

A profile gives a channel its traffic (payments wanting to leave through it, and its weight as
the way payments come in), its peer's uptime, its age and the defaults of a scenario group's
ranges. docs/simulator.md explains each number.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    out_per_day: float
    """Forward attempts per day that want to leave through the channel, at the reference fee."""
    in_per_day: float
    """Relative weight of the channel as the incoming side of forwards (same unit as out)."""
    mean_online_s: float
    """Mean length of a peer's online spell (exponential)."""
    mean_offline_s: float
    """Mean length of a peer's offline spell (exponential)."""
    capacity_sat: tuple[int, int]
    """Default range of the channel's capacity."""
    balance_ratio: tuple[float, float]
    """Default range of the local share of the balance at the start of the history."""
    fee_ratio: tuple[float, float]
    """Default range of our fee rate as a multiple of the reference (competitor) fee."""
    base_fee_msat: tuple[int, int]
    """Default range of our base fee."""
    age_days: tuple[float, float]
    """Default range of the channel's age at the scenario start."""
    initiator_probability: float
    """Probability that we opened the channel."""


DAY = 86_400.0

PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile(
            name="star",
            description="high volume both ways, well connected peer",
            out_per_day=400.0,
            in_per_day=400.0,
            mean_online_s=30 * DAY,
            mean_offline_s=3_600.0,
            capacity_sat=(5_000_000, 20_000_000),
            balance_ratio=(0.4, 0.6),
            fee_ratio=(0.8, 1.2),
            base_fee_msat=(0, 1_000),
            age_days=(180.0, 720.0),
            initiator_probability=0.7,
        ),
        Profile(
            name="balanced",
            description="moderate volume, as much in as out",
            out_per_day=60.0,
            in_per_day=60.0,
            mean_online_s=20 * DAY,
            mean_offline_s=3_600.0,
            capacity_sat=(1_000_000, 10_000_000),
            balance_ratio=(0.4, 0.6),
            fee_ratio=(0.8, 1.2),
            base_fee_msat=(0, 1_000),
            age_days=(60.0, 720.0),
            initiator_probability=0.6,
        ),
        Profile(
            name="saturated",
            description="outbound drained: demand out, almost nothing comes back, forwards fail",
            out_per_day=150.0,
            in_per_day=1.0,
            mean_online_s=20 * DAY,
            mean_offline_s=3_600.0,
            capacity_sat=(1_000_000, 5_000_000),
            balance_ratio=(0.0, 0.03),
            fee_ratio=(0.8, 1.2),
            base_fee_msat=(0, 1_000),
            age_days=(60.0, 720.0),
            initiator_probability=0.6,
        ),
        Profile(
            name="inactive",
            description="almost no forwards either way",
            out_per_day=0.03,
            in_per_day=0.03,
            mean_online_s=20 * DAY,
            mean_offline_s=3_600.0,
            capacity_sat=(500_000, 5_000_000),
            balance_ratio=(0.2, 0.8),
            fee_ratio=(0.8, 1.2),
            base_fee_msat=(0, 1_000),
            age_days=(90.0, 720.0),
            initiator_probability=0.6,
        ),
        Profile(
            name="abused",
            description="drained one way at a fee far below the competitors' into the same peer",
            out_per_day=300.0,
            in_per_day=6.0,
            mean_online_s=20 * DAY,
            mean_offline_s=3_600.0,
            capacity_sat=(2_000_000, 10_000_000),
            balance_ratio=(0.5, 0.8),
            fee_ratio=(0.02, 0.1),
            base_fee_msat=(0, 0),
            age_days=(60.0, 720.0),
            initiator_probability=0.8,
        ),
        Profile(
            name="flapping",
            description="peer often offline (about half of the time, in spells of hours)",
            out_per_day=60.0,
            in_per_day=60.0,
            mean_online_s=3 * 3_600.0,
            mean_offline_s=3 * 3_600.0,
            capacity_sat=(1_000_000, 5_000_000),
            balance_ratio=(0.4, 0.6),
            fee_ratio=(0.8, 1.2),
            base_fee_msat=(0, 1_000),
            age_days=(60.0, 720.0),
            initiator_probability=0.5,
        ),
        Profile(
            name="new",
            description="opened days ago by us, nearly all balance still local",
            out_per_day=40.0,
            in_per_day=40.0,
            mean_online_s=20 * DAY,
            mean_offline_s=3_600.0,
            capacity_sat=(1_000_000, 5_000_000),
            balance_ratio=(0.95, 1.0),
            fee_ratio=(0.8, 1.2),
            base_fee_msat=(0, 1_000),
            age_days=(1.0, 7.0),
            initiator_probability=1.0,
        ),
    )
}


def profile(name: str) -> Profile:
    """The profile ``name``; KeyError if there is none."""
    return PROFILES[name]
