"""The program every new shop starts with, so the widget works the moment it installs."""
from __future__ import annotations

from decimal import Decimal

DEFAULT_TIERS = (
    {"name": "Bronze", "threshold": Decimal("0"), "multiplier": Decimal("1"), "entry_bonus": 0},
    {"name": "Silver", "threshold": Decimal("500"), "multiplier": Decimal("1.25"), "entry_bonus": 100},
    {"name": "Gold", "threshold": Decimal("1500"), "multiplier": Decimal("1.5"), "entry_bonus": 250},
)

DEFAULT_REWARDS = (
    {"name": "5 off your order", "kind": "fixed_amount", "cost": 500, "value": Decimal("5")},
    {"name": "Free shipping", "kind": "free_shipping", "cost": 750, "value": Decimal("0")},
    {"name": "10% off your order", "kind": "percentage", "cost": 1000, "value": Decimal("10")},
)

DEFAULT_ACTIONS = (
    {"action": "signup", "points": 100, "limit_kind": "once"},
    {"action": "birthday", "points": 200, "limit_kind": "per_year"},
    {"action": "newsletter", "points": 50, "limit_kind": "once"},
    {"action": "product_review", "points": 25, "limit_kind": "per_period", "limit_count": 5, "period_days": 365},
    {"action": "social_follow", "points": 25, "limit_kind": "once"},
    {"action": "referral", "points": 250, "limit_kind": "per_period", "limit_count": 10, "period_days": 365},
)
