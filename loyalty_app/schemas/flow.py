"""The body Shopify Flow posts to an action's ``runtime_url`` (shopify.dev, Flow action endpoints)."""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from ..security import is_valid_shop_domain

MAX_ID = 2**63 - 1
MAX_ADJUSTMENT = 1_000_000
"""The largest number of points one Flow run may add or take (a typo guard, far above any real reward)."""
_CUSTOMER_GID = re.compile(r"^gid://shopify/Customer/(\d{1,19})$")


class CustomerId(fields.Field):
    """The ``customer_reference`` property: the numeric id, as a number or a string (a Customer GID too)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool):
            raise ValidationError("Not a customer id.")
        if isinstance(value, str):
            match = _CUSTOMER_GID.match(value)
            value = match.group(1) if match else value
            if not value.isdigit() or len(value) > 19:
                raise ValidationError("Not a customer id.")
            value = int(value)
        if not isinstance(value, int) or not 0 < value <= MAX_ID:
            raise ValidationError("Not a customer id.")
        return value


class WholePoints(fields.Field):
    """A ``number_decimal`` property that must hold a whole, non-zero number of points within the guard."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ValidationError("Points must be a number.")
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation as exc:
            raise ValidationError("Points must be a number.") from exc
        if not number.is_finite() or number != number.to_integral_value():
            raise ValidationError("Points must be a whole number.")
        points = int(number)
        if points == 0 or abs(points) > MAX_ADJUSTMENT:
            raise ValidationError(f"Points must be between -{MAX_ADJUSTMENT} and {MAX_ADJUSTMENT}, and not 0.")
        return points


def _shop_domain(value: str) -> None:
    if not is_valid_shop_domain(value):
        raise ValidationError("Not a myshopify.com domain.")


class AdjustPointsProperties(Schema):
    """The merchant's fields of the "Adjust points" action (extensions/flow-adjust-points)."""

    class Meta:
        unknown = EXCLUDE

    customer_id = CustomerId(required=True)
    points = WholePoints(required=True)
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=255))


class FlowActionSchema(Schema):
    """One action run: the shop, Flow's run id (our idempotency key) and the properties."""

    class Meta:
        unknown = EXCLUDE

    shopify_domain = fields.String(required=True, validate=_shop_domain)
    action_run_id = fields.String(required=True, validate=[validate.Length(min=1, max=100),
                                                          validate.Regexp(r"^[\x21-\x7e]+$")])
    handle = fields.String(load_default=None)
    properties = fields.Nested(AdjustPointsProperties, required=True)
