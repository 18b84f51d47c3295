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
from sqlalchemy.orm import Session

from webhooks.jobs import schedule_committed_standings

from ..connections import client_for
from ..extensions import db
from ..models import Shop, utcnow
from ..rate_limits import redemption_allowed
from ..schemas import RedeemSchema, RedemptionSchema
from ..services import redemptions, store_credit, storefront
from ..services.members import enrol, find_member
from .errors import error_body

_redeem_schema = RedeemSchema()
_redemption_schema = RedemptionSchema()

REDEEM_ERROR_STATUS = {"insufficient_points": 409, "unknown_reward": 404, "shopify_failed": 502}


def redeem_for(shop: Shop, customer_id: int, payload: Any) -> tuple[dict[str, Any], int]:
    """Exchange points for a discount code or store credit for this customer; returns (body, status).

    200 with the active code, or ``{"kind": "store_credit", "amount", "currency", ...}`` for a store
    credit reward (201 when this request credited it, 200 for a replay); 202 while Shopify's answer
    is unknown (ask for the codes again); 409 ``store_credit_unavailable`` with ``fallback_reward_id``
    where store credit cannot be issued; 400 on a bad body, 404 for an unknown reward, 409 without enough
    points, 429 when rate limited, 502 when Shopify refused (the points are back). Commits (through the service).
    """
    try:
        data = _redeem_schema.load(payload if isinstance(payload, dict) else {})
    except ValidationError as exc:
        return error_body("bad_request", str(exc.messages)), 400
    if not redemption_allowed(shop.id, customer_id):
        return error_body("rate_limited", "too many redemptions; try again in a minute"), 429
    session = db.session()  # type: ignore[misc]
    try:
        return _redeem(session, shop, customer_id, data)
    finally:  # a reservation, its code or credit, or its release may be committed, whatever the answer
        schedule_committed_standings(current_app._get_current_object(), session,  # type: ignore[attr-defined]
                                     on_request_path=True)


def _redeem(session: Session, shop: Shop, customer_id: int, data: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """``redeem_for`` once the body is valid and the shopper within the rate limit (commits)."""
    member, _ = enrol(session, shop, customer_id)
    session.commit()

    # A person is waiting on this click: short timeouts and one quick retry per call. No retry inside the
    # credit client: a store credit mutation has no idempotency key, so only the service may send it again,
    # after it looked for the first one.
    client = functools.partial(client_for, current_app, session, shop, max_retries=1, timeout=(3.0, 8.0))
    credit_client = functools.partial(client_for, current_app, session, shop, max_retries=0, timeout=(3.0, 8.0))
    replay = redemptions.find_redemption(session, shop.id, member.id, data["idempotency_key"]) is not None
    try:
        redemption = store_credit.redeem_reward(session, shop, member.id, customer_id, data["reward_id"],
                                                data["idempotency_key"], client, credit_client)
    except store_credit.StoreCreditUnavailable as exc:
        session.rollback()
        return {**error_body(exc.reason, str(exc)), "fallback_reward_id": exc.fallback_reward_id}, 409
    except redemptions.RedemptionError as exc:
        session.rollback()
        return error_body(exc.reason, str(exc)), REDEEM_ERROR_STATUS[exc.reason]
    session.refresh(member)
    if redemption.kind == "store_credit":
        credited = 200 if replay else 201  # 201: this request issued the credit
        return (store_credit.redemption_view(session, redemption, member.balance),
                credited if redemption.state == "credited" else 202)
    body = _redemption_schema.dump(redemption)
    body["balance"] = member.balance
    return body, 200 if redemption.state == "active" else 202


def view_for(shop: Shop, customer_id: int, locale: str | None = None) -> dict[str, Any]:
    """The customer's standing as every surface shows it (``storefront.member_view``). Commits: a member's
    referral code is stored the first time their link is shown, so the link opens once it was seen."""
    session = db.session()  # type: ignore[misc]
    view = storefront.member_view(session, shop, customer_id, current_app.config["SECRET_KEY"], locale)
    session.commit()
    return view


def codes_for(shop: Shop, customer_id: int) -> list[dict[str, Any]]:
    """The customer's codes with their state (active, used, expired, released), newest first."""
    session = db.session()  # type: ignore[misc]
    member = find_member(session, shop.id, customer_id)
    if member is None:
        return []
    now = utcnow()  # the same items as /proxy/me's active codes
    return [storefront.code_item(redemption, now) for redemption in redemptions.member_codes(session, member.id)]
