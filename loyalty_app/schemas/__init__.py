"""Marshmallow schemas for everything that crosses a boundary: settings, API input and output."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load, validate, validates_schema

from ..program.birthdays import BIRTHDAY_PATTERN, parse_birthday
from ..program.orders import REVERSE_ON
from ..program.settings import EARN_TRIGGERS, EARNING_MODES, ROUNDING_MODES, TIER_BASES, TIER_WINDOWS, ProgramSettings


def _at_most_two_places(value: Decimal) -> None:
    """A percentage with more places than a merchant can mean (and the cent maths keeps) is refused, not rounded."""
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        raise ValidationError("Use at most 2 decimal places.")


class ProgramSettingsSchema(Schema):
    """A shop's program settings, as stored in ``shops.settings`` and edited by the merchant."""

    class Meta:
        unknown = EXCLUDE

    # Points per unit of the shop's currency: 1,000 covers the most generous program in any currency.
    points_per_unit = fields.Decimal(load_default="1", validate=validate.Range(min=0, max=1000), as_string=True)
    rounding = fields.String(load_default="floor", validate=validate.OneOf(ROUNDING_MODES))
    pending_days = fields.Integer(load_default=0, validate=validate.Range(min=0, max=365))
    expiry_months = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=120))
    tier_basis = fields.String(load_default="points", validate=validate.OneOf(TIER_BASES))
    tier_window = fields.String(load_default="lifetime", validate=validate.OneOf(TIER_WINDOWS))
    tier_bonus_counts = fields.Boolean(load_default=False)
    tier_keep_previous_year = fields.Boolean(load_default=False)
    earn_on = fields.String(load_default="orders/paid", validate=validate.OneOf(EARN_TRIGGERS))
    include_test_orders = fields.Boolean(load_default=False)
    credit_guest_orders = fields.Boolean(load_default=False)
    minimum_order_amount = fields.Decimal(load_default="0", validate=validate.Range(min=0, max=10**9), as_string=True,
                                          allow_nan=False)
    reverse_on = fields.String(load_default="money_refunded", validate=validate.OneOf(REVERSE_ON))
    tier_tags = fields.Boolean(load_default=False)
    birthday_source = fields.String(load_default="metafield", validate=validate.OneOf(("metafield", "tag")))
    birthday_metafield = fields.String(load_default="facts.birth_date")
    languages = fields.List(fields.String(validate=validate.Length(min=2, max=5)), load_default=lambda: ["en"])
    # Money per point, for the outstanding liability in analytics; unset, it is derived from the rewards.
    point_value = fields.Decimal(load_default=None, allow_none=True, as_string=True, allow_nan=False,
                                 validate=validate.Range(min=0, max=10**6, min_inclusive=False))
    flow_triggers = fields.Boolean(load_default=False)
    flow_window_minutes = fields.Integer(load_default=5, validate=validate.Range(min=1, max=1440))
    expiry_reminder_days = fields.List(fields.Integer(validate=validate.Range(min=1, max=365)),
                                       load_default=lambda: [30, 7], validate=validate.Length(max=5))
    earning_mode = fields.String(load_default="points", validate=validate.OneOf(EARNING_MODES))
    cashback_percent = fields.Decimal(load_default="0", as_string=True, allow_nan=False,
                                      validate=[validate.Range(min=0, max=100), _at_most_two_places])
    store_credit_notify = fields.Boolean(load_default=True)
    store_credit_expiry_days = fields.Integer(load_default=None, allow_none=True, strict=True,
                                              validate=validate.Range(min=1, max=3650))
    # Referrals: a referrer with this many referrals within the period has the next ones flagged for review.
    referral_cap = fields.Integer(load_default=10, validate=validate.Range(min=1, max=10_000))
    referral_cap_days = fields.Integer(load_default=30, validate=validate.Range(min=1, max=365))
    referral_friend_kind = fields.String(load_default="percentage",
                                         validate=validate.OneOf(("fixed_amount", "percentage", "free_shipping")))
    referral_friend_value = fields.Decimal(load_default="10", as_string=True, allow_nan=False,
                                           validate=validate.Range(min=0, max=10**6))

    @validates_schema
    def _friend_percentage(self, data: dict[str, Any], **_: Any) -> None:
        """A referred friend's percentage discount is at most 100 % (judged on whole settings, not a partial change)."""
        if "referral_friend_kind" in data and "referral_friend_value" in data \
                and data["referral_friend_kind"] == "percentage" and Decimal(str(data["referral_friend_value"])) > 100:
            raise ValidationError({"referral_friend_value": ["A percentage is at most 100."]})

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> ProgramSettings:
        data["languages"] = tuple(data["languages"])
        data["expiry_reminder_days"] = tuple(sorted(set(data["expiry_reminder_days"]), reverse=True))
        return ProgramSettings(**data)


class BalanceSchema(Schema):
    """A member's balances as ``loyalty balance`` prints them."""

    balance = fields.Integer()
    pending = fields.Integer()
    lifetime = fields.Integer()
    tier = fields.String(allow_none=True)


class RedeemSchema(Schema):
    """``POST /proxy/redeem``: which reward, and the widget's key for this click (replays share it)."""

    class Meta:
        unknown = EXCLUDE

    reward_id = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=2**63 - 1))
    idempotency_key = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_-]{8,100}$"))


class BirthdayInputSchema(Schema):
    """``POST /proxy/birthday`` and the admin's ``PUT …/birthday``: ``MM-DD`` (a year before it is ignored)."""

    class Meta:
        unknown = EXCLUDE

    birthday = fields.String(required=True, metadata={"pattern": BIRTHDAY_PATTERN, "example": "05-17"})

    @post_load
    def _parse(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        try:
            data["birthday"] = parse_birthday(data["birthday"])
        except ValueError as exc:
            raise ValidationError({"birthday": [f"{exc}; it must be a real date (MM-DD)"]}) from exc
        return data


class ActionClickSchema(Schema):
    """``POST /proxy/actions/<action>``: the widget's key for this click (replays share it)."""

    class Meta:
        unknown = EXCLUDE

    idempotency_key = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_-]{8,100}$"))


class RedemptionSchema(Schema):
    """A redemption as the shopper sees it."""

    id = fields.Integer()
    code = fields.String()
    cost = fields.Integer()
    state = fields.String()
    reward_id = fields.Integer(allow_none=True)
    expires_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    apply_url = fields.Method("_apply_url")

    def _apply_url(self, redemption) -> str:  # type: ignore[no-untyped-def]
        return f"/discount/{redemption.code}?redirect=/cart"
