"""Facts the local graph provider derives from the public channel graph (besides centrality)."""

from __future__ import annotations

from .base import TaggedMessage


class CompetitorFees(TaggedMessage):
    """What the other nodes with a channel to a peer charge to forward into that peer.

    Each channel into the peer whose competitor-side policy is known and enabled counts once
    (a competitor with k channels to the peer counts k times). Quartiles use linear
    interpolation between the two nearest values, rounded to the nearest integer.
    """

    peer_pubkey: str
    """The peer the fees lead into."""
    observed_at_s: int
    """When the graph they come from was read (Unix seconds)."""
    count: int
    """Policies summarised (at least 1)."""
    ignored_count: int
    """Channels into the peer left out because their competitor side is disabled or unknown."""
    p25_fee_rate_ppm: int
    """First quartile of the proportional fees."""
    median_fee_rate_ppm: int
    """Median proportional fee."""
    p75_fee_rate_ppm: int
    """Third quartile of the proportional fees."""
    p25_base_fee_msat: int
    """First quartile of the base fees."""
    median_base_fee_msat: int
    """Median base fee."""
    p75_base_fee_msat: int
    """Third quartile of the base fees."""


class CompetitorFeesUnknown(TaggedMessage):
    """No competitor fee into the peer is known (no other channel, or none usable)."""

    peer_pubkey: str
    """The peer concerned."""
    observed_at_s: int
    """When the graph was read (Unix seconds)."""
    ignored_count: int
    """Channels into the peer left out because their competitor side is disabled or unknown."""
    reason: str
    """Why nothing is known."""


CompetitorFeeSummary = CompetitorFees | CompetitorFeesUnknown
