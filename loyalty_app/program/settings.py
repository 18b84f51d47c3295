"""A shop's program settings as a plain value."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from .orders import REVERSE_ON

ROUNDING_MODES = ("floor", "half_up", "ceil")
TIER_BASES = ("points", "spend")
TIER_WINDOWS = ("lifetime", "calendar_year", "rolling_12_months")
EARN_TRIGGERS = ("orders/paid", "orders/create")


@dataclass(frozen=True)
class ProgramSettings:
    """How a shop's program earns, rounds, matures, expires and ranks."""

    points_per_unit: Decimal = Decimal("1")
    rounding: str = "floor"
    pending_days: int = 0
    expiry_months: int | None = None
    tier_basis: str = "points"
    tier_window: str = "lifetime"
    tier_bonus_counts: bool = False  # whether tier entry bonuses count towards the next tier
    tier_keep_previous_year: bool = False  # calendar-year tiers: status earned last year holds through this one
    earn_on: str = "orders/paid"
    include_test_orders: bool = False
    credit_guest_orders: bool = False
    minimum_order_amount: Decimal = Decimal("0")  # orders whose eligible amount is below it earn nothing
    reverse_on: str = "money_refunded"  # or "items_returned": what a refund reverses
    tier_tags: bool = False  # also tag customers "loyalty-tier:<name>" so merchants can segment
    birthday_source: str = "metafield"  # or "tag": where customers/update finds a birthday
    birthday_metafield: str = "facts.birth_date"
    languages: tuple[str, ...] = field(default=("en",))
    point_value: Decimal | None = None  # money per point, for the liability; None: derived from the rewards
    referral_cap: int = 10  # referrals per referrer within referral_cap_days before new ones are flagged
    referral_cap_days: int = 30
    referral_friend_kind: str = "percentage"  # the referred friend's code: fixed_amount | percentage | free_shipping
    referral_friend_value: Decimal = Decimal("10")

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["points_per_unit"] = str(self.points_per_unit)
        data["minimum_order_amount"] = str(self.minimum_order_amount)
        data["languages"] = list(self.languages)
        data["point_value"] = None if self.point_value is None else str(self.point_value)
        data["referral_friend_value"] = str(self.referral_friend_value)
        return data
