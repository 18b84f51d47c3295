"""VIP tiers: which tier a member qualifies for, over which window."""
from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import NamedTuple


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


def previous_calendar_year(now: datetime) -> tuple[datetime, datetime]:
    """Start and end (exclusive) of the calendar year before ``now``'s."""
    this_year = now.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    return this_year.replace(year=this_year.year - 1), this_year


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


def kept_tier(tiers: list[TierRule], value: Decimal, previous_value: Decimal | None) -> TierRule | None:
    """The best of the tier ``value`` qualifies for and the one ``previous_value`` did.

    With calendar-year tiers kept for a year, status earned last year holds through this one:
    ``previous_value`` is last calendar year's activity (None: nothing is kept).
    """
    candidates = [qualifying_tier(tiers, value)]
    if previous_value is not None:
        candidates.append(qualifying_tier(tiers, previous_value))
    return max((tier for tier in candidates if tier is not None), key=lambda tier: tier.threshold, default=None)


def resolve_tier(
    tiers: list[TierRule], current: TierRule | None, value: Decimal, reevaluating: bool,
    previous_value: Decimal | None = None,
) -> TierRule | None:
    """The member's tier after new activity.

    Promotion happens at once; demotion only when the tier is re-evaluated (the daily upkeep,
    or a refund or cancellation that took points back), never silently mid-period.
    ``previous_value``: last calendar year's activity when the shop keeps status a year.
    """
    qualified = kept_tier(tiers, value, previous_value)
    if reevaluating or current is None:
        return qualified
    if qualified is not None and qualified.threshold > current.threshold:
        return qualified
    return current


class Standing(NamedTuple):
    """A member's tier and tier progress, as one set-based query reads them for a whole shop.

    A named tuple, not a dataclass: a shop's ranking builds one per member, 100,000 at a time.
    """

    member_id: int
    tier_key: int | None
    value: Decimal | int
    previous_value: Decimal | int | None = None


def ranker(tiers: list[TierRule]) -> Callable[[Decimal | int, Decimal | int | None], TierRule | None]:
    """``kept_tier`` for many members at once: each lookup is a binary search over the thresholds.

    Among tiers of equal threshold the first in ``tiers`` wins, as ``qualifying_tier``'s ``max`` picks it.
    """
    first_at: dict[Decimal, TierRule] = {}
    for tier in tiers:
        first_at.setdefault(tier.threshold, tier)
    thresholds = sorted(first_at)
    ordered = [first_at[threshold] for threshold in thresholds]

    def qualifying(value: Decimal | int) -> int:
        return bisect_right(thresholds, value) - 1

    def rank(value: Decimal | int, previous_value: Decimal | int | None = None) -> TierRule | None:
        index = qualifying(value) if previous_value is None else max(qualifying(value), qualifying(previous_value))
        return ordered[index] if index >= 0 else None

    return rank


@dataclass
class RankingComparison:
    """How a tier list ranks the members against the tiers they hold now.

    ``counts``: tier key → [members in it now, members in it after]; ``moves``: (from, to, "up"|"down") → members.
    """

    members: int = 0
    up: int = 0
    down: int = 0
    same: int = 0
    counts: dict[int | None, list[int]] = field(default_factory=dict)
    moves: dict[tuple[int | None, int | None, str], int] = field(default_factory=dict)


def compare_rankings(current: list[TierRule], proposed: list[TierRule], standings: list[Standing]) -> RankingComparison:
    """Rank every member under ``proposed`` (as a re-evaluation would: demotion allowed) and compare.

    A tier kept in the proposal has the same key in both lists. A move is up or down by the
    thresholds: the tier a member leaves is measured at its proposed threshold when it is kept,
    else at its current one; no tier ranks below every tier.
    """
    held_at = {tier.key: tier.threshold for tier in current}
    held_at.update({tier.key: tier.threshold for tier in proposed})
    rank = ranker(proposed)
    result = RankingComparison(counts={tier.key: [0, 0] for tier in [*current, *proposed]})
    for standing in standings:
        target = rank(standing.value, standing.previous_value)
        after = target.key if target else None
        before = standing.tier_key if standing.tier_key in held_at else None
        result.members += 1
        result.counts.setdefault(before, [0, 0])[0] += 1
        result.counts.setdefault(after, [0, 0])[1] += 1
        if after == before:
            result.same += 1
            continue
        direction = "up" if before is None or (after is not None and held_at[after] > held_at[before]) else "down"
        result.moves[before, after, direction] = result.moves.get((before, after, direction), 0) + 1
        if direction == "up":
            result.up += 1
        else:
            result.down += 1
    return result


def progress_percent(tiers: list[TierRule], value: Decimal) -> int:
    """How far ``value`` has come from the current tier's threshold (0 without one) to the next tier's, in
    whole percent (100 at the top)."""
    upcoming = next_tier(tiers, value)
    if upcoming is None:
        return 100
    current = qualifying_tier(tiers, value)
    start = current.threshold if current else Decimal("0")
    span = upcoming[0].threshold - start
    return max(0, min(99, int((value - start) * 100 / span)))
