"""Analytics as the admin API takes its window and answers its figures."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load

from ..models import utcnow
from ..services.analytics import DEFAULT_DAYS, MAX_DAYS, Window

EARLIEST = date(2000, 1, 1)


class AnalyticsQuerySchema(Schema):
    """``?since=&until=``: whole UTC days, both included; the last 30 days by default.

    Either end alone is enough: the other is 30 days away (``until`` never after today). A window
    spans at most 366 days, so one request never reads more than a year of a shop's ledger.
    ``until`` may be tomorrow (UTC), for shops ahead of UTC.
    """

    class Meta:
        unknown = EXCLUDE

    since = fields.Date(load_default=None, metadata={"description": "First day (YYYY-MM-DD, UTC), included"})
    until = fields.Date(load_default=None, metadata={"description": "Last day (YYYY-MM-DD, UTC), included"})

    @post_load
    def _window(self, data: dict[str, Any], **_: Any) -> Window:
        today = utcnow().date()
        latest = today + timedelta(days=1)
        since, until = data["since"], data["until"]
        errors: dict[str, list[str]] = {}
        for name, value in (("since", since), ("until", until)):  # checked first: the sums below stay in range
            if value is not None and value < EARLIEST:
                errors[name] = [f"Must not be earlier than {EARLIEST.isoformat()}."]
            elif value is not None and value > latest:
                errors[name] = ["Must not be later than tomorrow."]
        if errors:
            raise ValidationError(errors)
        if until is None:
            until = min(since + timedelta(days=DEFAULT_DAYS - 1), today) if since is not None else today
        if since is None:
            since = until - timedelta(days=DEFAULT_DAYS - 1)
        if since > until:
            raise ValidationError({"since": ["Must not be later than until."]})
        if (until - since).days + 1 > MAX_DAYS:
            raise ValidationError({"since": [f"The window may span at most {MAX_DAYS} days."]})
        return Window(since, until)


def _decimal(description: str, *, places: int | None = None, nullable: bool = False) -> fields.Decimal:
    """A decimal written as a string, and documented as one (apispec would call it a number)."""
    return fields.Decimal(as_string=True, places=places, allow_none=nullable,
                          metadata={"type": "string", "format": "decimal", "description": description})


def _money(description: str = "In the shop's currency", nullable: bool = True) -> fields.Decimal:
    return _decimal(description, places=2, nullable=nullable)


class BuyersSchema(Schema):
    """Orders of members, or of non-members, in the window."""

    orders = fields.Integer()
    revenue = _money(nullable=False)
    buyers = fields.Integer()
    repeat_buyers = fields.Integer()
    average_order_value = _money()
    repeat_purchase_rate = _decimal("Share of buyers with two or more orders (0..1)", nullable=True)


class TierCountSchema(Schema):
    tier_id = fields.Integer(allow_none=True)
    name = fields.String(allow_none=True)
    members = fields.Integer()


class DaySchema(Schema):
    day = fields.Date()
    points_issued = fields.Integer()
    points_redeemed = fields.Integer()
    member_orders = fields.Integer()
    non_member_orders = fields.Integer()
    member_aov = _money()
    non_member_aov = _money()


class AnalyticsSchema(Schema):
    """The figures of one window; definitions in ``services/analytics.py``."""

    since = fields.Date()
    until = fields.Date()
    currency = fields.String()
    members_total = fields.Integer()
    members_enrolled = fields.Integer()
    members_active = fields.Integer()
    points_issued = fields.Integer()
    points_reversed = fields.Integer()
    points_adjusted = fields.Integer()
    points_redeemed = fields.Integer()
    points_expired = fields.Integer()
    points_outstanding = fields.Integer()
    point_value = _decimal("Money per point the liability is valued at", nullable=True)
    point_value_basis = fields.String(metadata={"enum": ["setting", "rewards", "none"]})
    liability = _money()
    redemption_rate = _decimal("Points redeemed ÷ points issued", nullable=True)
    members = fields.Nested(BuyersSchema)
    non_members = fields.Nested(BuyersSchema)
    loyalty_code_orders = fields.Integer()
    loyalty_code_revenue = _money(nullable=False)
    tiers = fields.List(fields.Nested(TierCountSchema))
    days = fields.List(fields.Nested(DaySchema))
