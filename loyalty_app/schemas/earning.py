"""The admin API's side of birthdays and the review endpoint's secret."""
from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, post_load

from ..program.birthdays import BIRTHDAY_PATTERN, parse_birthday


class MemberBirthdayInputSchema(Schema):
    """``PUT /admin/api/members/<customer_id>/birthday``: ``MM-DD`` (a year before it is ignored), or null to clear."""

    class Meta:
        unknown = RAISE

    birthday = fields.String(required=True, allow_none=True,
                             metadata={"pattern": BIRTHDAY_PATTERN, "example": "05-17"})

    @post_load
    def _parse(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        if data["birthday"] is not None:
            try:
                data["birthday"] = parse_birthday(data["birthday"])
            except ValueError as exc:
                raise ValidationError({"birthday": [f"{exc}; it must be a real date (MM-DD)."]}) from exc
        return data


class MemberBirthdaySchema(Schema):
    """A member's birthday as the admin shows it, with who set it last."""

    customer_id = fields.Integer()
    birthday = fields.String(allow_none=True, metadata={"example": "05-17"})
    birthday_set_by = fields.String(allow_none=True, metadata={"enum": ["shopper", "merchant", None]})
    birthday_set_at = fields.AwareDateTime(allow_none=True)


class ReviewSecretSchema(Schema):
    """Where and how a review app reports reviews: the URL, the header and the secret that signs the body."""

    endpoint = fields.String()
    header = fields.String()
    secret = fields.String()
