"""Members as the admin API takes and shows them: search, the member page, the ledger, adjustments, exclusion."""
from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load, validate, validates

from ..services.member_admin import MAX_ADJUSTMENT, RECENT

PAGE_DEFAULT = 50
PAGE_MAX = 200


class DecimalText(fields.String):
    """A Decimal written plainly (``400``, ``1.25``): exact, never a float, never exponent notation."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else format(Decimal(value).normalize(), "f")


class StrictBoolean(fields.Boolean):
    """JSON ``true`` or ``false`` only: ``"no"`` or ``0`` for a yes/no question is a client bug worth a 422."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class Cursor(fields.String):
    """An opaque page cursor (today the last id of the previous page); anything else is a 422."""

    PATTERN = re.compile(r"^[1-9][0-9]{0,17}$")  # 18 digits: far beyond any id we will hand out, within BIGINT

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(metadata={"pattern": self.PATTERN.pattern, **kwargs.pop("metadata", {})}, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        text = super()._deserialize(value, attr, data, **kwargs)
        if not self.PATTERN.match(text):
            raise ValidationError("Not a cursor this API gave out.")
        return int(text)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else str(value)


class PageQuerySchema(Schema):
    """``?cursor=&limit=``: where the page starts (the previous page's ``next_cursor``) and how long it is."""

    class Meta:
        unknown = EXCLUDE

    cursor = Cursor(load_default=None)
    limit = fields.Integer(load_default=PAGE_DEFAULT, validate=validate.Range(min=1, max=PAGE_MAX))


class MemberSearchQuerySchema(PageQuerySchema):
    """``GET /admin/api/members?query=``: words that each start the email, first or last name, or a customer id."""

    query = fields.String(load_default="", validate=validate.Length(max=200))


class MemberRowSchema(Schema):
    """A member as listed (the member page adds the rest)."""

    customer_id = fields.Integer()
    email = fields.String(allow_none=True)
    first_name = fields.String(allow_none=True)
    last_name = fields.String(allow_none=True)
    balance = fields.Integer(metadata={"description": "Points available to redeem now."})
    pending = fields.Integer(metadata={"description": "Points earned that are not yet available."})
    lifetime = fields.Integer(metadata={"description": "Points earned in all, net of reversals."})
    tier = fields.String(allow_none=True, metadata={"description": "The name of the member's tier."})
    excluded = fields.Boolean(metadata={"description": "Excluded members earn nothing on orders."})
    enrolled_at = fields.DateTime()
    last_activity_at = fields.DateTime(allow_none=True)


class MemberPageSchema(Schema):
    """A page of members, newest enrolment first."""

    members = fields.List(fields.Nested(MemberRowSchema), attribute="items")
    next_cursor = Cursor(allow_none=True, metadata={"description": "Pass as ?cursor= for the next page; "
                                                                   "null on the last page."})


class MemberTierSchema(Schema):
    """A tier as the member page names it."""

    id = fields.Integer(attribute="key")
    name = fields.String()
    threshold = DecimalText()
    multiplier = DecimalText()


class TierStandingSchema(Schema):
    """The member's tier, their progress over the shop's tier window, and what the next tier needs."""

    basis = fields.String(metadata={"description": "What counts: points earned, or money spent (spend)."})
    progress = DecimalText()
    current = fields.Nested(MemberTierSchema, allow_none=True)
    next = fields.Nested(MemberTierSchema, allow_none=True)
    remaining = DecimalText(allow_none=True, metadata={"description": "How much more the next tier needs."})


class MemberCodeSchema(Schema):
    """A discount code the member redeemed: reserved, active, used, expired or released."""

    code = fields.String()
    state = fields.String()
    cost = fields.Integer()
    reward = fields.String(allow_none=True)
    created_at = fields.DateTime()
    expires_at = fields.DateTime(allow_none=True)
    used_at = fields.DateTime(allow_none=True)
    order_id = fields.Integer(allow_none=True)


class MemberOrderSchema(Schema):
    """One of the member's orders as the program saw it (amounts in the shop's currency)."""

    order_id = fields.Integer()
    placed_at = fields.DateTime(allow_none=True)
    total_amount = DecimalText(allow_none=True)
    eligible_amount = DecimalText(allow_none=True)
    refunded_amount = DecimalText(metadata={"description": "The eligible amount refunded since."})
    points_earned = fields.Integer(allow_none=True, metadata={"description": "Null until the order earns."})
    points_reversed = fields.Integer()
    cancelled = fields.Boolean()


class MemberStoreCreditSchema(Schema):
    """Store credit issued to the member in Shopify (a reward, cashback) or taken back (cashback on a refund)."""

    kind = fields.String(metadata={"description": "reward | cashback | cashback_reversal"})
    amount = DecimalText()
    currency = fields.String()
    state = fields.String(metadata={"description": "pending | sending | sent | failed"})
    order_id = fields.Integer(allow_none=True)
    transaction_id = fields.String(allow_none=True, metadata={"description": "Shopify's transaction, once sent."})
    error = fields.String(allow_none=True)
    created_at = fields.DateTime()


class MemberDetailSchema(MemberRowSchema):
    """``GET /admin/api/members/<customer_id>``: balances, tier and progress, the latest codes and orders."""

    birthday = fields.Date(allow_none=True)
    standing = fields.Nested(TierStandingSchema)
    codes = fields.List(fields.Nested(MemberCodeSchema), metadata={"description": f"The {RECENT} most recent."})
    orders = fields.List(fields.Nested(MemberOrderSchema), metadata={"description": f"The {RECENT} most recent."})
    store_credit = fields.List(fields.Nested(MemberStoreCreditSchema),
                               metadata={"description": f"The {RECENT} most recent store credit movements."})


class MemberLedgerEntrySchema(Schema):
    """One ledger entry: what moved, why, by whom, and under which program version."""

    id = fields.Integer()
    kind = fields.String(metadata={"description": "earn, action, bonus, reversal, redeem, release, expire "
                                                  "or adjust."})
    amount = fields.Integer()
    state = fields.String(metadata={"description": "pending or available."})
    available_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    note = fields.String(allow_none=True)
    actor = fields.String(metadata={"description": "system, shopper, staff:<user id> or api-key:<id>."})
    source = fields.String(metadata={"description": "What produced it: order:<id>, tier:<id>, action:<name>, "
                                                    "reward:<id>, admin, …"})
    program_version = fields.Method("_program_version", allow_none=True,
                                    metadata={"type": "integer", "nullable": True})
    detail = fields.Dict(allow_none=True, metadata={"description": "How the amount was worked out."})

    def _program_version(self, entry: Any) -> int | None:
        version = (entry.detail or {}).get("program_version")
        return version if isinstance(version, int) else None


class MemberLedgerPageSchema(Schema):
    """A page of the member's ledger, newest first."""

    entries = fields.List(fields.Nested(MemberLedgerEntrySchema), attribute="items")
    next_cursor = Cursor(allow_none=True)


class AdjustmentInputSchema(Schema):
    """``POST /admin/api/members/<customer_id>/adjustments``: points to add (or take, negative) and why."""

    class Meta:
        unknown = EXCLUDE

    points = fields.Integer(required=True, strict=True,
                            validate=validate.Range(min=-MAX_ADJUSTMENT, max=MAX_ADJUSTMENT),
                            metadata={"not": {"enum": [0]}, "description": "Negative to take points away."})
    # Some text that is not only spaces, and no NUL (PostgreSQL cannot store it): one pattern, so OpenAPI says it too.
    reason = fields.String(required=True, validate=[
        validate.Length(min=1, max=500),
        validate.Regexp(r"^[^\x00]*[^\x00\s][^\x00]*$", error="Say why, in words: the reason is kept with the entry.")])
    idempotency_key = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_-]{8,100}$"),
                                    metadata={"description": "One per intended adjustment (the page makes one "
                                                             "per form): a replay returns the first entry."})

    @validates("points")
    def _not_zero(self, value: int, **_: Any) -> None:
        if value == 0:
            raise ValidationError("An adjustment must add or take at least one point.")

    @post_load
    def _strip(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        data["reason"] = data["reason"].strip()
        return data


class AdjustmentSchema(Schema):
    """The adjustment's entry, the member's balances after it, and whether this was a replay."""

    entry = fields.Nested(MemberLedgerEntrySchema)
    member = fields.Nested(MemberRowSchema)
    replayed = fields.Boolean(metadata={"description": "True when the key was seen before: nothing changed."})


class ExcludedInputSchema(Schema):
    """``PUT /admin/api/members/<customer_id>/excluded``."""

    class Meta:
        unknown = EXCLUDE

    excluded = StrictBoolean(required=True)
