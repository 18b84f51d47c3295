"""API keys as the admin API takes and shows them."""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate


class ApiKeyInputSchema(Schema):
    """``POST /admin/api/keys``: a name the merchant will recognise."""

    class Meta:
        unknown = EXCLUDE

    name = fields.String(required=True, validate=validate.Length(min=1, max=100))


class ApiKeySchema(Schema):
    """A key as listed: never its secret."""

    id = fields.Integer()
    name = fields.String()
    prefix = fields.String()
    created_by = fields.String()
    created_at = fields.DateTime()
    last_used_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)


class NewApiKeySchema(Schema):
    """A key just created: the one answer that carries its secret."""

    key = fields.Nested(ApiKeySchema)
    secret = fields.String()
