"""The app proxy API the storefront widget calls through ``/apps/loyalty/*`` (Shopify forwards to ``/proxy/*``).

Every request must carry Shopify's fresh signature. The shopper is ``logged_in_customer_id``
from the signed query, never anything in the body.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request
from marshmallow import ValidationError

from ..connections import client_for
from ..extensions import db
from ..models import utcnow
from ..program.birthdays import month_day
from ..rate_limits import click_allowed, redemption_allowed
from ..schemas import ActionClickSchema, BirthdayInputSchema, RedeemSchema, RedemptionSchema
from ..security import ProxySignatureError, verify_proxy
from ..services import birthdays, engagement, redemptions, storefront
from ..services.members import enrol, find_member
from ..services.shops import get_shop
from .converters import MAX_ID
from ..shopify.customers import email_marketing_subscribed
from ..shopify.errors import ShopifyError
from ..shopify.discounts import create_code, find_code

bp = Blueprint("proxy", __name__, url_prefix="/proxy")
_redeem_schema = RedeemSchema()
_redemption_schema = RedemptionSchema()
_birthday_schema = BirthdayInputSchema()
_click_schema = ActionClickSchema()


def _error(reason: str, message: str, status: int):  # type: ignore[no-untyped-def]
    return jsonify(error=reason, message=message), status


def signed(view: Callable[..., Any]) -> Callable[..., Any]:
    """Verify the proxy signature and resolve the shop and the signed-in customer."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        params = list(request.args.items(multi=True))
        try:
            verify_proxy(params, current_app.config["SHOPIFY_API_SECRET"], current_app.config["PROXY_MAX_AGE_SECONDS"])
        except ProxySignatureError as exc:
            return _error("bad_signature", str(exc), 401)
        shop = get_shop(db.session(), request.args["shop"])  # type: ignore[misc]
        if shop is None or not shop.active:
            return _error("unknown_shop", "this shop does not run the loyalty program", 404)
        customer = request.args.get("logged_in_customer_id", "")
        if customer and not (customer.isdigit() and 0 < int(customer) <= MAX_ID):
            return _error("bad_customer", "logged_in_customer_id must be a customer id", 400)
        g.shop, g.customer_id = shop, int(customer) if customer else None
        return view(*args, **kwargs)

    return wrapper


@bp.get("/me")
@signed
def me():  # type: ignore[no-untyped-def]
    """The shopper's standing, rewards, ways to earn and last ten entries; a guest gets the explainer."""
    session = db.session()  # type: ignore[misc]
    if g.customer_id is None:
        return jsonify(storefront.guest_view(session, g.shop))
    return jsonify(storefront.member_view(session, g.shop, g.customer_id, current_app.config["SECRET_KEY"]))


@bp.post("/redeem")
@signed
def redeem():  # type: ignore[no-untyped-def]
    """Exchange points for a discount code: reserve, create in Shopify, or give the points back.

    200 with the active code; 202 while Shopify's answer is unknown (the widget asks ``/codes`` again).
    """
    if g.customer_id is None:
        return _error("sign_in_required", "sign in to redeem rewards", 401)
    try:
        data = _redeem_schema.load(request.get_json(silent=True) or {})
    except ValidationError as exc:
        return _error("bad_request", str(exc.messages), 400)
    if not redemption_allowed(g.shop.id, g.customer_id):
        return _error("rate_limited", "too many redemptions; try again in a minute", 429)
    session = db.session()  # type: ignore[misc]
    shop = g.shop
    member, _ = enrol(session, shop, g.customer_id)
    session.commit()

    # A shopper is waiting on this click: short timeouts and one quick retry per call.
    client = functools.partial(client_for, current_app, session, shop, max_retries=1, timeout=(3.0, 8.0))
    try:
        redemption = redemptions.redeem(session, shop, member.id, g.customer_id, data["reward_id"],
                                        data["idempotency_key"], lambda request: create_code(client(), request),
                                        lambda code: find_code(client(), code))
    except redemptions.RedemptionError as exc:
        session.rollback()
        status = {"insufficient_points": 409, "unknown_reward": 404, "shopify_failed": 502}[exc.reason]
        return _error(exc.reason, str(exc), status)
    body = _redemption_schema.dump(redemption)
    session.refresh(member)
    body["balance"] = member.balance
    return jsonify(body), 200 if redemption.state == "active" else 202


@bp.get("/codes")
@signed
def codes():  # type: ignore[no-untyped-def]
    """The shopper's codes with their state (active, used, expired, released)."""
    if g.customer_id is None:
        return jsonify(codes=[])
    session = db.session()  # type: ignore[misc]
    member = find_member(session, g.shop.id, g.customer_id)
    if member is None:
        return jsonify(codes=[])
    now = utcnow()
    listed = []
    for redemption in redemptions.member_codes(session, member.id):
        item = _redemption_schema.dump(redemption)
        item["state"] = redemptions.shown_state(redemption, now)
        listed.append(item)
    return jsonify(codes=listed)


@bp.post("/birthday")
@signed
def set_birthday():  # type: ignore[no-untyped-def]
    """The shopper's birthday, ``{"birthday": "MM-DD"}``, set once: 409 ``birthday_locked`` afterwards."""
    if g.customer_id is None:
        return _error("sign_in_required", "sign in to add your birthday", 401)
    try:
        data = _birthday_schema.load(request.get_json(silent=True) or {})
    except ValidationError as exc:
        return _error("bad_request", str(exc.messages), 400)
    session = db.session()  # type: ignore[misc]
    try:
        member = birthdays.set_by_shopper(session, g.shop, g.customer_id, data["birthday"])
    except birthdays.BirthdayLocked as exc:
        session.rollback()
        return _error("birthday_locked", str(exc), 409)
    session.commit()
    return jsonify(birthday=month_day(member.birthday))


@bp.post("/actions/<action>")
@signed
def click_action(action: str):  # type: ignore[no-untyped-def]
    """A one-click action (social_follow, newsletter) within its limit; the newsletter needs Shopify's consent."""
    if g.customer_id is None:
        return _error("sign_in_required", "sign in to earn points", 401)
    try:
        data = _click_schema.load(request.get_json(silent=True) or {})
    except ValidationError as exc:
        return _error("bad_request", str(exc.messages), 400)
    if not click_allowed(g.shop.id, g.customer_id):
        return _error("rate_limited", "too many clicks; try again in a minute", 429)
    session = db.session()  # type: ignore[misc]
    shop = g.shop
    customer_id = g.customer_id

    def consented() -> bool:  # a shopper is waiting: short timeouts and one quick retry, as for redemptions
        return email_marketing_subscribed(client_for(current_app, session, shop, max_retries=1, timeout=(3.0, 8.0)),
                                          customer_id)

    try:
        claim = engagement.claim_click(session, shop, g.customer_id, action, data["idempotency_key"], consented)
    except engagement.ClickRefused as exc:
        session.rollback()
        return _error(exc.reason, str(exc), 404 if exc.reason == "unknown_action" else 409)
    except ShopifyError as exc:
        session.rollback()
        return _error("shopify_failed", f"could not ask Shopify for the customer's consent: {type(exc).__name__}", 502)
    session.commit()
    return jsonify(points=claim.entry.amount, balance=claim.balance, state=claim.state)
