"""Referrals as the admin API lists them and the merchant's review of flagged ones."""
from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, Schema, fields, pre_load, validate

from ..program.referrals import REASONS, STATUSES
from ..web.converters import MAX_ID

OTHER_REASONS = ("refunded_or_cancelled", "no_referral_rule", "referral_limit_reached")
"""Why a referral became void without a fraud rule: the order went back, or the referral rule could not pay."""


class ReferralQuerySchema(Schema):
    """``GET /admin/api/referrals``: a status (``flagged`` is the merchant's queue), a cursor, a page size."""

    class Meta:
        unknown = EXCLUDE

    status = fields.String(validate=validate.OneOf(STATUSES))
    cursor = fields.Integer(strict=False, validate=validate.Range(min=1, max=MAX_ID))
    limit = fields.Integer(strict=False, load_default=50, validate=validate.Range(min=1, max=200))

    @pre_load
    def _drop_empty(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        """``?status=`` (the page's "all" filter) means no filter, not an invalid one."""
        return {key: value for key, value in data.items() if value != ""}


class ReferralSchema(Schema):
    """One referred order: who referred, the friend, what the fraud rules found and what became of it."""

    id = fields.Integer(required=True)
    status = fields.String(required=True, metadata={"enum": list(STATUSES)})
    reasons = fields.List(fields.String(metadata={"enum": [*REASONS, *OTHER_REASONS]}), required=True,
                          metadata={"description": "Fraud rules the order matched, and why it became void."})
    order_id = fields.Integer(required=True)
    via = fields.String(required=True, metadata={"enum": ["cart_attribute", "discount_code"]})
    referrer_customer_id = fields.Integer(required=True)
    referrer_email = fields.String(allow_none=True, required=True)
    friend_customer_id = fields.Integer(allow_none=True, required=True)
    friend_email = fields.String(allow_none=True, required=True)
    points = fields.Integer(allow_none=True, required=True, metadata={"description": "Points paid to the referrer."})
    due_at = fields.DateTime(required=True, metadata={"description": "When the pending period ends."})
    created_at = fields.DateTime(required=True)
    decided_by = fields.String(allow_none=True, required=True)
    decided_at = fields.DateTime(allow_none=True, required=True)


class ReferralPageSchema(Schema):
    """A page of referrals, newest first; pass ``next_cursor`` as ``cursor`` for the next (null: the last page)."""

    referrals = fields.List(fields.Nested(ReferralSchema), required=True)
    next_cursor = fields.Integer(allow_none=True, required=True)
