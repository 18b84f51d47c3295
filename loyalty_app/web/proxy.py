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

from ..extensions import db
from ..schemas.program import LOCALE
from ..security import ProxySignatureError, verify_proxy
from ..services import storefront
from ..services.shops import get_shop
from . import shopper
from .converters import MAX_ID
from .errors import json_error

bp = Blueprint("proxy", __name__, url_prefix="/proxy")


def signed(view: Callable[..., Any]) -> Callable[..., Any]:
    """Verify the proxy signature and resolve the shop and the signed-in customer."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        params = list(request.args.items(multi=True))
        try:
            verify_proxy(params, current_app.config["SHOPIFY_API_SECRET"], current_app.config["PROXY_MAX_AGE_SECONDS"])
        except ProxySignatureError as exc:
            return json_error("bad_signature", str(exc), 401)
        shop = get_shop(db.session(), request.args["shop"])  # type: ignore[misc]
        if shop is None or not shop.active:
            return json_error("unknown_shop", "this shop does not run the loyalty program", 404)
        customer = request.args.get("logged_in_customer_id", "")
        if customer and not (customer.isdigit() and 0 < int(customer) <= MAX_ID):
            return json_error("bad_customer", "logged_in_customer_id must be a customer id", 400)
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
        return json_error("bad_locale", "locale must be a storefront locale such as nb or pt-BR", 400)
    session = db.session()  # type: ignore[misc]
    if g.customer_id is None:
        return jsonify(storefront.guest_view(session, g.shop, locale))
    return jsonify(shopper.view_for(g.shop, g.customer_id, locale))


@bp.post("/redeem")
@signed
def redeem():  # type: ignore[no-untyped-def]
    """Exchange points for a discount code or store credit: reserve, create in Shopify, or give the points back.

    Answers as ``shopper.redeem_for`` says: 200 with the code, 201 with store credit, 202 while Shopify's
    answer is unknown (the widget asks ``/codes`` again), 409 ``store_credit_unavailable`` with a fallback.
    """
    if g.customer_id is None:
        return json_error("sign_in_required", "sign in to redeem rewards", 401)
    body, status = shopper.redeem_for(g.shop, g.customer_id, request.get_json(silent=True))
    return jsonify(body), status


@bp.get("/codes")
@signed
def codes():  # type: ignore[no-untyped-def]
    """The shopper's codes with their state (active, used, expired, released)."""
    if g.customer_id is None:
        return jsonify(codes=[])
    return jsonify(codes=shopper.codes_for(g.shop, g.customer_id))


from . import earning_proxy, referral_proxy  # noqa: E402,F401  (their routes register on bp)
