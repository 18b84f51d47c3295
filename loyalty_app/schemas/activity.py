"""The Activity page's API: inbox events, their health, and Web Vitals as the admin reports and shows them."""
from __future__ import annotations

from typing import Any

from flask import current_app
from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validate, validates, validates_schema

from ..services.activity import VITAL_NAMES, VITAL_RANGES
from ..services.inbox import EVENT_STATUSES
from ..web.converters import MAX_ID


class EventQuerySchema(Schema):
    """``GET /admin/api/activity/events``: a status, the cursor a previous page answered, a page size."""

    class Meta:
        unknown = EXCLUDE

    status = fields.String(validate=validate.OneOf(EVENT_STATUSES))
    cursor = fields.Integer(strict=False, validate=validate.Range(min=1, max=MAX_ID))
    limit = fields.Integer(strict=False, load_default=50, validate=validate.Range(min=1, max=200))

    @pre_load
    def _drop_empty(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        """``?cursor=&status=`` (a form or a first page) means the parameter is absent, not invalid."""
        return {key: value for key, value in data.items() if value != ""}


class EventSchema(Schema):
    """One inbox event as the merchant sees it: never its body (a customer's data)."""

    id = fields.Integer(required=True)
    topic = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": list(EVENT_STATUSES)})
    attempts = fields.Integer(required=True)
    error = fields.String(allow_none=True, required=True,
                          metadata={"description": "Why the last attempt failed (kept until it is processed)."})
    result = fields.String(allow_none=True, required=True,
                           metadata={"description": "What processing did, or why the event was ignored."})
    order_id = fields.Integer(allow_none=True, required=True)
    customer_id = fields.Integer(allow_none=True, required=True)
    received_at = fields.DateTime(required=True)
    processed_at = fields.DateTime(allow_none=True, required=True)
    next_attempt_at = fields.DateTime(allow_none=True, required=True)


class EventPageSchema(Schema):
    """A page of events, newest first; pass ``next_cursor`` as ``cursor`` for the next (null: the last page)."""

    events = fields.List(fields.Nested(EventSchema), required=True)
    next_cursor = fields.Integer(allow_none=True, required=True)


class QueueHealthSchema(Schema):
    """The job queue every shop shares (Redis): jobs waiting and jobs failed for good."""

    reachable = fields.Boolean(required=True)
    depth = fields.Integer(allow_none=True, required=True)
    failed_jobs = fields.Integer(allow_none=True, required=True)


class HealthSchema(Schema):
    """``GET /admin/api/activity/health``: events by status, the oldest waiting one, the queue (null: no Redis)."""

    counts = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    oldest_unprocessed_at = fields.DateTime(allow_none=True, required=True)
    oldest_unprocessed_age_seconds = fields.Integer(allow_none=True, required=True)
    queue = fields.Nested(QueueHealthSchema, allow_none=True, required=True)


class VitalInputSchema(Schema):
    """One metric as App Bridge reports it (its ``id`` and any other field are ignored)."""

    class Meta:
        unknown = EXCLUDE

    name = fields.String(required=True, validate=validate.OneOf(VITAL_NAMES))
    value = fields.Float(required=True, allow_nan=False)

    @validates_schema
    def _in_range(self, data: dict[str, Any], **_: Any) -> None:
        low, high = VITAL_RANGES[data["name"]]
        if not low <= data["value"] <= high:
            raise ValidationError(f"{data['name']} must be between {low:g} and {high:g}", "value")


class VitalsReportSchema(Schema):
    """``POST /admin/api/vitals``: the admin page that was measured and its metrics (ms; CLS unitless)."""

    class Meta:
        unknown = EXCLUDE

    page = fields.String(required=True, validate=validate.Length(min=1, max=200),
                         metadata={"description": "The admin page's endpoint, e.g. admin.activity."})
    metrics = fields.List(fields.Nested(VitalInputSchema), required=True, validate=validate.Length(min=1, max=20))

    @validates("page")
    def _known_page(self, value: str, **_: Any) -> None:
        """Only the admin's own pages: a caller cannot grow the table with made-up names."""
        if value not in admin_pages():
            raise ValidationError("not a page of this admin")


def admin_pages() -> set[str]:
    """The endpoints of the admin's pages (what ``<body data-page>`` holds), from the app's URL map."""
    return {rule.endpoint for rule in current_app.url_map.iter_rules()
            if rule.endpoint.startswith("admin.") and rule.endpoint not in ("admin.static", "admin.session_token")}


class VitalReadingSchema(Schema):
    """A metric's last value and its Built for Shopify target (null where the program sets none)."""

    name = fields.String(required=True)
    value = fields.Float(required=True)
    reported_at = fields.DateTime(required=True)
    target = fields.Float(allow_none=True, required=True)
    comparison = fields.String(allow_none=True, required=True, metadata={"enum": ["<", "<=", None]})
    passes = fields.Boolean(allow_none=True, required=True)


class PageVitalsSchema(Schema):
    """One admin page's last readings; ``passes`` is false if any targeted metric misses."""

    page = fields.String(required=True)
    metrics = fields.List(fields.Nested(VitalReadingSchema), required=True)
    passes = fields.Boolean(allow_none=True, required=True)
