"""The signed review endpoint's body."""
from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from ..services.payloads import MAX_ID
from .members import StrictBoolean


class ReviewId(fields.Field):
    """A review app's id for the review: a positive integer or a short token (``r-123``), kept as text."""

    PATTERN = validate.Regexp(r"^[A-Za-z0-9._:-]{1,100}$")

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise ValidationError("Must be a positive integer or a string of letters, digits, . _ : -")
        if isinstance(value, int):
            if not 0 < value <= MAX_ID:
                raise ValidationError("Must be between 1 and 2**63-1.")
            return str(value)
        self.PATTERN(value)
        return value


class ReviewSchema(Schema):
    """``POST /hooks/reviews/<shop>``: who reviewed, which review, its rating and whether it has photos or video."""

    class Meta:
        unknown = EXCLUDE

    customer_id = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=MAX_ID))
    review_id = ReviewId(required=True)
    rating = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=5))
    has_media = StrictBoolean(load_default=False)
