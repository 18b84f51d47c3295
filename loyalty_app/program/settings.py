"""A shop's program settings as a plain value."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

ROUNDING_MODES = ("floor", "half_up", "ceil")
TIER_BASES = ("points", "spend")
TIER_WINDOWS = ("lifetime", "calendar_year", "rolling_12_months")
EARN_TRIGGERS = ("orders/paid", "orders/create")
EARNING_MODES = ("points", "cashback")


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
    flow_triggers: bool = False  # send Shopify Flow triggers (each costs an Admin API call)
    flow_window_minutes: int = 5  # at most one "points earned" / "tier changed" trigger per member per window
    expiry_reminder_days: tuple[int, ...] = field(default=(30, 7))  # "points expiring" reminders, days before
    earning_mode: str = "points"  # or "cashback": orders pay a share of their eligible amount as store credit
    cashback_percent: Decimal = Decimal("0")  # cashback mode: percent of the eligible amount paid back
    store_credit_notify: bool = True  # Shopify emails the customer when we issue store credit
    store_credit_expiry_days: int | None = None  # store credit we issue expires after this many days; None: never
    referral_cap: int = 10  # referrals per referrer within referral_cap_days before new ones are flagged
    referral_cap_days: int = 30
    referral_friend_kind: str = "percentage"  # the referred friend's code: fixed_amount | percentage | free_shipping
    referral_friend_value: Decimal = Decimal("10")

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["points_per_unit"] = str(self.points_per_unit)
        data["minimum_order_amount"] = str(self.minimum_order_amount)
        data["languages"] = list(self.languages)
        data["expiry_reminder_days"] = list(self.expiry_reminder_days)
        data["point_value"] = None if self.point_value is None else str(self.point_value)
        data["cashback_percent"] = str(self.cashback_percent)
        data["referral_friend_value"] = str(self.referral_friend_value)
        return data
