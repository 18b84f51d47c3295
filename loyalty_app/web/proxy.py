"""The app proxy API the storefront widget calls through ``/apps/loyalty/*`` (Shopify forwards to ``/proxy/*``).

Every request must carry Shopify's fresh signature. The shopper is ``logged_in_customer_id``
from the signed query, never anything in the body.
"""
from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request
from marshmallow import ValidationError

from ..connections import client_for
from ..extensions import db
from ..models import utcnow
from ..rate_limits import redemption_allowed
from ..schemas import RedeemSchema, RedemptionSchema
from ..schemas.program import LOCALE
from ..security import ProxySignatureError, verify_proxy
from ..services import redemptions, storefront
from ..services.members import enrol, find_member
from ..services.shops import get_shop
from .converters import MAX_ID
from ..shopify.discounts import create_code, find_code

bp = Blueprint("proxy", __name__, url_prefix="/proxy")
_redeem_schema = RedeemSchema()
_redemption_schema = RedemptionSchema()


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
    """The shopper's standing, rewards, ways to earn, active codes and last ten entries; a guest gets the explainer.

    ``?locale=`` (the storefront's ``request.locale.iso_code``) picks the merchant's translated names.
    """
    locale = request.args.get("locale") or None
    if locale is not None and not re.fullmatch(LOCALE, locale):
        return _error("bad_locale", "locale must be a storefront locale such as nb or pt-BR", 400)
    session = db.session()  # type: ignore[misc]
    if g.customer_id is None:
        return jsonify(storefront.guest_view(session, g.shop, locale))
    return jsonify(storefront.member_view(session, g.shop, g.customer_id, current_app.config["SECRET_KEY"], locale))


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
    return jsonify(codes=[storefront.code_item(redemption, now) for redemption in redemptions.member_codes(session, member.id)])
