"""VIP tiers: which tier a member qualifies for, over which window."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal


@dataclass(frozen=True)
class TierRule:
    """A tier as the rules see it: reached at ``threshold`` points earned or money spent."""

    key: int
    name: str
    threshold: Decimal
    multiplier: Decimal = Decimal("1")
    entry_bonus: int = 0


def window_start(window: str, now: datetime) -> datetime | None:
    """Start of the period whose activity counts towards a tier (None: since the beginning)."""
    if window == "lifetime":
        return None
    if window == "calendar_year":
        return now.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    if window == "rolling_12_months":
        return now - timedelta(days=365)
    raise ValueError(f"unknown tier window {window!r}")


def tier_with_key(tiers: list[TierRule], key: int | None) -> TierRule | None:
    """The tier a member holds (by its stored key), or None."""
    return next((tier for tier in tiers if tier.key == key), None) if key is not None else None


def qualifying_tier(tiers: list[TierRule], value: Decimal) -> TierRule | None:
    """The highest tier whose threshold ``value`` reaches."""
    reached = [tier for tier in tiers if value >= tier.threshold]
    return max(reached, key=lambda tier: tier.threshold, default=None)


def next_tier(tiers: list[TierRule], value: Decimal) -> tuple[TierRule, Decimal] | None:
    """The lowest tier not yet reached and how much is missing, or None at the top."""
    ahead = [tier for tier in tiers if tier.threshold > value]
    if not ahead:
        return None
    tier = min(ahead, key=lambda t: t.threshold)
    return tier, tier.threshold - value


def resolve_tier(
    tiers: list[TierRule], current: TierRule | None, value: Decimal, reevaluating: bool
) -> TierRule | None:
    """The member's tier after new activity.

    Promotion happens at once; demotion only when the window is re-evaluated, so a refund
    or a new calendar year never silently drops a member mid-period.
    """
    qualified = qualifying_tier(tiers, value)
    if reevaluating or current is None:
        return qualified
    if qualified is not None and qualified.threshold > current.threshold:
        return qualified
    return current
