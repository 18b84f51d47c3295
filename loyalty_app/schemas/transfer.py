"""Imports and exports as the admin API takes and shows them."""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

from ..services.imports import MODES


class ImportQuerySchema(Schema):
    """``POST /admin/api/imports?dry_run=&mode=&filename=``: a dry run unless ``dry_run=false`` is said."""

    class Meta:
        unknown = EXCLUDE

    dry_run = fields.Boolean(load_default=True)
    mode = fields.String(load_default="set", validate=validate.OneOf(MODES))
    filename = fields.String(load_default=None, validate=validate.Length(max=255))


class ImportBodySchema(Schema):
    """The file itself (``text/csv``, LoyaltyLion's JSON Lines, or a multipart field ``file``)."""


class ImportSchema(Schema):
    """An applied import as listed."""

    id = fields.Integer()
    actor = fields.String()
    filename = fields.String(allow_none=True)
    format = fields.String()
    row_count = fields.Integer()
    points = fields.Integer()
    created_at = fields.DateTime()
    undone_at = fields.DateTime(allow_none=True)
    undone_by = fields.String(allow_none=True)


class ImportRowSchema(Schema):
    """One row of the file: its member, balance before, change and balance after, or its errors."""

    line = fields.Integer()
    customer_id = fields.Integer(allow_none=True)
    email = fields.String(allow_none=True)
    new_member = fields.Boolean()
    balance = fields.Integer(allow_none=True)
    change = fields.Integer(allow_none=True)
    new_balance = fields.Integer(allow_none=True)
    note = fields.String(allow_none=True)
    errors = fields.List(fields.String())


class ImportPreviewSchema(Schema):
    """What an import did or would do; ``import`` is the applied import (null for a dry run)."""

    dry_run = fields.Boolean()
    format = fields.String()
    mode = fields.String()
    row_count = fields.Integer()
    error_count = fields.Integer()
    points = fields.Integer()
    rows = fields.List(fields.Nested(ImportRowSchema))
    ledger_import = fields.Nested(ImportSchema, allow_none=True, data_key="import")


class ImportEntrySchema(Schema):
    """One ledger entry an import posted."""

    entry_id = fields.Integer()
    line = fields.Integer(allow_none=True)
    customer_id = fields.Integer(allow_none=True)
    before = fields.Integer(allow_none=True)
    change = fields.Integer()
    after = fields.Integer(allow_none=True)
    note = fields.String(allow_none=True)


class ImportDetailSchema(ImportSchema):
    """An import with the entries it posted (rows that changed nothing posted none)."""

    entries = fields.List(fields.Nested(ImportEntrySchema))
