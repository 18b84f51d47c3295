"""Shopify Flow action endpoints: ``POST /flow/actions/adjust-points`` ("Adjust points").

Flow signs the raw body with the app's secret (``X-Shopify-Hmac-SHA256``); Shopify's
``shopifyapp`` checks it (current or previous secret) before anything is parsed. The shop is
the signed body's ``shopify_domain`` (and must match the shop header when Flow sends one).
Answers, by what Flow does with them (shopify.dev, Flow action endpoints): 200 done (a replay
of a run id answers the first result); 4xx a failure Flow shows the merchant and does not
retry (bad signature, bad body, unknown shop, a deduction the balance cannot cover); 5xx only
for our own transient faults, which Flow retries with the same run id.
"""
from __future__ import annotations

import json

from flask import Blueprint, Response, current_app, jsonify, request
from marshmallow import ValidationError
from shopify_app import verify_flow_action_req

from webhooks.jobs import schedule_committed_standings

from ..extensions import db
from ..models import Member
from ..schemas.flow import FlowActionSchema
from ..services import flow
from ..services.shops import get_shop
from .admin_auth import shopify_app_config
from .errors import json_error

bp = Blueprint("flow", __name__, url_prefix="/flow")
_schema = FlowActionSchema()
ADJUST_POINTS = "loyalty-adjust-points"


@bp.route("/actions/adjust-points", methods=["POST"])
def adjust_points() -> tuple[Response, int]:
    """Add or take points as a merchant's workflow asks, once per Flow run."""
    try:
        body = request.get_data().decode("utf-8")
    except UnicodeDecodeError:  # Flow sends JSON, always UTF-8; these bytes cannot even be checked
        return json_error("bad_json", "the body is not UTF-8 JSON", 400)
    verified = verify_flow_action_req({"method": request.method, "headers": dict(request.headers), "body": body},
                                      shopify_app_config())  # type: ignore[typeddict-item]
    if not verified.ok:
        return json_error(verified.log.code, "the request is not signed by Shopify", verified.response.status)
    try:
        data = _schema.load(json.loads(body))
    except (ValueError, TypeError):
        return json_error("bad_json", "the body is not a JSON object", 400)
    except ValidationError as exc:
        return json_error("bad_request", json.dumps(exc.messages, sort_keys=True), 400)
    domain = data["shopify_domain"]
    if verified.shop and f"{verified.shop}.myshopify.com" != domain:
        return json_error("shop_mismatch", "the shop header and the body name different shops", 400)
    if data["handle"] not in (None, ADJUST_POINTS):
        return json_error("unknown_action", f"this endpoint runs {ADJUST_POINTS}, not {data['handle']}", 400)
    session = db.session()  # type: ignore[misc]
    shop = get_shop(session, domain)
    if shop is None or not shop.active:
        return json_error("unknown_shop", "this shop has not installed the loyalty app", 404)
    properties = data["properties"]
    try:
        entry, created = flow.adjust_points(session, shop, properties["customer_id"], properties["points"],
                                            properties["reason"], data["action_run_id"])
    except flow.AdjustmentRefused as exc:
        session.rollback()
        return json_error("insufficient_points", str(exc), 422)
    session.commit()
    schedule_committed_standings(current_app._get_current_object(), session,  # type: ignore[attr-defined]
                                 on_request_path=True)
    member = session.get(Member, entry.member_id)
    assert member is not None
    return jsonify(status="adjusted" if created else "replayed", points=entry.amount,
                   balance=member.balance), 200
