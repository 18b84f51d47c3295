"""What a signed-in shopper (or staff member acting for one) can do, whichever surface asks.

The app proxy (``/proxy/*``) and the UI extensions (``/ext/*``) authenticate differently but
answer the same: the view, the codes and a redemption. Callers pass the verified shop and
customer; nothing here reads who the customer is from the request.
"""
from __future__ import annotations

import functools
from typing import Any

from flask import current_app
from marshmallow import ValidationError

from ..connections import client_for
from ..extensions import db
from ..models import Shop, utcnow
from ..rate_limits import redemption_allowed
from ..schemas import RedeemSchema, RedemptionSchema
from ..services import redemptions, storefront
from ..services.members import enrol, find_member
from ..shopify.discounts import create_code, find_code

_redeem_schema = RedeemSchema()
_redemption_schema = RedemptionSchema()

REDEEM_ERROR_STATUS = {"insufficient_points": 409, "unknown_reward": 404, "shopify_failed": 502}


def error_body(reason: str, message: str) -> dict[str, str]:
    """The JSON body of every 4xx/5xx answer: a stable reason and a sentence."""
    return {"error": reason, "message": message}


def redeem_for(shop: Shop, customer_id: int, payload: Any) -> tuple[dict[str, Any], int]:
    """Exchange points for a discount code for this customer; returns (body, status).

    200 with the active code; 202 while Shopify's answer is unknown (ask for the codes again);
    400 on a bad body, 404 for an unknown reward, 409 without enough points, 429 when rate
    limited, 502 when Shopify refused (the points are back). Commits (through the service).
    """
    try:
        data = _redeem_schema.load(payload if isinstance(payload, dict) else {})
    except ValidationError as exc:
        return error_body("bad_request", str(exc.messages)), 400
    if not redemption_allowed(shop.id, customer_id):
        return error_body("rate_limited", "too many redemptions; try again in a minute"), 429
    session = db.session()  # type: ignore[misc]
    member, _ = enrol(session, shop, customer_id)
    session.commit()

    # A person is waiting on this click: short timeouts and one quick retry per call.
    client = functools.partial(client_for, current_app, session, shop, max_retries=1, timeout=(3.0, 8.0))
    try:
        redemption = redemptions.redeem(session, shop, member.id, customer_id, data["reward_id"],
                                        data["idempotency_key"], lambda request: create_code(client(), request),
                                        lambda code: find_code(client(), code))
    except redemptions.RedemptionError as exc:
        session.rollback()
        return error_body(exc.reason, str(exc)), REDEEM_ERROR_STATUS[exc.reason]
    body = _redemption_schema.dump(redemption)
    session.refresh(member)
    body["balance"] = member.balance
    return body, 200 if redemption.state == "active" else 202


def codes_for(shop: Shop, customer_id: int) -> list[dict[str, Any]]:
    """The customer's codes with their state (active, used, expired, released), newest first."""
    session = db.session()  # type: ignore[misc]
    member = find_member(session, shop.id, customer_id)
    if member is None:
        return []
    now = utcnow()  # the same items as /proxy/me's active codes
    return [storefront.code_item(redemption, now) for redemption in redemptions.member_codes(session, member.id)]
