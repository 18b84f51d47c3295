"""``POST /webhooks``: verify, store, schedule, acknowledge. Nothing else happens in the request.

Checks run in Shopify's recommended order: method (405, by routing), HMAC over the raw body
with the current or previous secret (401, nothing stored), required headers (400). Then the
delivery goes into the inbox once per webhook id and is acknowledged even if Redis is down:
it is already stored, and the sweeper will schedule it.
"""
from __future__ import annotations

import json
import logging

from flask import Blueprint, current_app, jsonify, request

from loyalty_app.extensions import db
from loyalty_app.security import verify_webhook
from loyalty_app.services import inbox

from .jobs import schedule_drain

log = logging.getLogger(__name__)
bp = Blueprint("webhooks", __name__)

REQUIRED_HEADERS = ("X-Shopify-Topic", "X-Shopify-Shop-Domain", "X-Shopify-Webhook-Id")


@bp.post("/webhooks")
def receive():  # type: ignore[no-untyped-def]
    """Store a verified delivery in the inbox and acknowledge it."""
    body = request.get_data(cache=False)
    config = current_app.config
    if not verify_webhook(body, request.headers.get("X-Shopify-Hmac-Sha256"),
                          (config["SHOPIFY_API_SECRET"], config["SHOPIFY_API_SECRET_PREVIOUS"])):
        return jsonify(error="invalid webhook signature"), 401
    missing = [name for name in REQUIRED_HEADERS if not request.headers.get(name)]
    if missing:
        return jsonify(error="missing headers: " + ", ".join(missing)), 400

    headers = request.headers
    delivery = inbox.Delivery(
        topic=headers["X-Shopify-Topic"].strip().lower(), shop_domain=headers["X-Shopify-Shop-Domain"].strip().lower(),
        webhook_id=headers["X-Shopify-Webhook-Id"].strip(), body=body, event_id=headers.get("X-Shopify-Event-Id"),
        triggered_at=headers.get("X-Shopify-Triggered-At"), api_version=headers.get("X-Shopify-API-Version"),
    )
    try:
        json.loads(body)
        malformed = None
    except ValueError as exc:
        malformed = f"body is not valid JSON: {exc}"

    with db.single_statement() as connection:
        stored = inbox.store(connection, delivery)
        if stored is not None and malformed:
            inbox.fail(connection, stored.id, malformed)
    if stored is None:
        return jsonify(status="duplicate"), 200
    log.debug("webhook %s %s %s stored as %s", delivery.webhook_id, delivery.topic, delivery.shop_domain, stored.status)
    if malformed:
        return jsonify(error=malformed, webhook_id=delivery.webhook_id), 400
    if stored.status == "received":
        try:
            schedule_drain(current_app._get_current_object())  # type: ignore[attr-defined]
        except Exception:  # Redis down: the event is stored, the sweeper schedules it later
            log.exception("could not schedule webhook %s; the sweeper will", delivery.webhook_id)
    return jsonify(status=stored.status), 200
