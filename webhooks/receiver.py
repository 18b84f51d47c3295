"""``POST /webhooks``: verify, store, schedule, acknowledge. Nothing else happens in the request.

Checks run in Shopify's recommended order: method (405, by routing), HMAC over the raw body
with the current or previous secret (401, nothing stored), required headers (400). Then the
delivery goes into the inbox once per webhook id and is acknowledged even if Redis is down:
it is already stored, and the sweeper will schedule it.

Concurrent deliveries to one process share a write (see ``group_commit``): one multi-row
INSERT, one commit and one drain schedule per batch. The body is not parsed here: a body
that is not JSON is stored, acknowledged and failed by the drain with a readable error,
because answering 4xx would only make Shopify send the same bytes eight more times.
"""
from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from functools import partial

from flask import Blueprint, current_app, jsonify, request
from flask.blueprints import BlueprintSetupState
from sqlalchemy.exc import DisconnectionError
from werkzeug.exceptions import RequestEntityTooLarge

from loyalty_app.extensions import db
from loyalty_app.security import is_valid_shop_domain, verify_webhook
from loyalty_app.services import inbox

from .group_commit import GroupCommit
from .jobs import DrainScheduler

log = logging.getLogger(__name__)
bp = Blueprint("webhooks", __name__)

REQUIRED_HEADERS = ("X-Shopify-Topic", "X-Shopify-Shop-Domain", "X-Shopify-Webhook-Id")
_TOPIC = re.compile(r"[a-z_]+(?:/[a-z_]+)+")
_VISIBLE = re.compile(r"[\x21-\x7e]+")
_HEADER_LIMITS = {"X-Shopify-Webhook-Id": 100, "X-Shopify-Event-Id": 100, "X-Shopify-Triggered-At": 40,
                  "X-Shopify-API-Version": 20}
"""The longest value each stored header may have (its column's size); Shopify's are far shorter."""
INTAKE = "webhook_intake"
ACKNOWLEDGEMENTS = {status: json.dumps({"status": status}) for status in ("received", "ignored", "duplicate")}
"""Acknowledgement bodies, encoded once: every webhook gets one while Shopify waits."""


def _add_intake(state: BlueprintSetupState) -> None:
    drains = DrainScheduler(state.app)
    state.app.extensions[INTAKE] = GroupCommit(store, after_write=partial(schedule, drains))


bp.record_once(_add_intake)


def store(deliveries: Sequence[inbox.Delivery]) -> list[inbox.Stored | None]:
    """Store a batch of deliveries in one statement, committed before anyone is acknowledged.

    A pooled connection the database ended while it sat idle is tried once more on a new one
    (else every delivery that met a dead connection would get a 500): the insert is keyed on the
    webhook id, so a write that committed before its answer was lost is only found again.
    """
    try:
        with db.single_statement() as connection:
            return inbox.store_many(connection, db.engine.dialect, deliveries)  # type: ignore[union-attr]
    except DisconnectionError:
        log.warning("the database ended a pooled connection; writing %d webhook(s) on a new one", len(deliveries))
    with db.single_statement() as connection:
        return inbox.store_many(connection, db.engine.dialect, deliveries)  # type: ignore[union-attr]


def schedule(drains: DrainScheduler, stored: Sequence[inbox.Stored | None]) -> None:
    """Make sure a drain will run for a stored batch; if Redis is down, the sweeper will."""
    if any(event is not None and event.status == "received" for event in stored):
        try:
            drains.ensure()
        except Exception:  # the events are stored: the sweeper schedules them later
            log.exception("could not schedule %d stored webhook(s); the sweeper will", len(stored))


def header_problem(headers: Mapping[str, str]) -> str | None:
    """Why the (present) headers cannot be stored as they are, or None: checked before the database sees them."""
    topic = headers["X-Shopify-Topic"].strip().lower()
    if len(topic) > 100 or not _TOPIC.fullmatch(topic):
        return "X-Shopify-Topic is not a webhook topic"
    domain = headers["X-Shopify-Shop-Domain"].strip().lower()
    if len(domain) > 255 or not is_valid_shop_domain(domain):
        return "X-Shopify-Shop-Domain is not a myshopify.com domain"
    for name, limit in _HEADER_LIMITS.items():
        value = headers.get(name)
        if value is not None and (len(value.strip()) > limit or not _VISIBLE.fullmatch(value.strip())):
            return f"{name} must be 1 to {limit} visible characters"
    return None


@bp.post("/webhooks")
def receive():  # type: ignore[no-untyped-def]
    """Store a verified delivery in the inbox and acknowledge it."""
    config = current_app.config
    request.max_content_length = config["WEBHOOK_MAX_BYTES"]  # a larger declared body is refused unread
    try:
        body = request.get_data(cache=False)
    except RequestEntityTooLarge:
        return jsonify(error=f"body over {config['WEBHOOK_MAX_BYTES']} bytes"), 413
    if not verify_webhook(body, request.headers.get("X-Shopify-Hmac-Sha256"),
                          (config["SHOPIFY_API_SECRET"], config["SHOPIFY_API_SECRET_PREVIOUS"])):
        return jsonify(error="invalid webhook signature"), 401
    missing = [name for name in REQUIRED_HEADERS if not request.headers.get(name)]
    if missing:
        return jsonify(error="missing headers: " + ", ".join(missing)), 400
    headers = request.headers
    problem = header_problem(headers)
    if problem is None and b"\x00" in body:
        problem = "body contains a NUL byte, which JSON never does"
    if problem is not None:
        return jsonify(error=problem), 400

    delivery = inbox.Delivery(
        topic=headers["X-Shopify-Topic"].strip().lower(), shop_domain=headers["X-Shopify-Shop-Domain"].strip().lower(),
        webhook_id=headers["X-Shopify-Webhook-Id"].strip(), body=body, event_id=headers.get("X-Shopify-Event-Id"),
        triggered_at=headers.get("X-Shopify-Triggered-At"), api_version=headers.get("X-Shopify-API-Version"),
    )
    stored = current_app.extensions[INTAKE].submit(delivery)
    status = "duplicate" if stored is None else stored.status
    return current_app.response_class(ACKNOWLEDGEMENTS[status], mimetype="application/json")
