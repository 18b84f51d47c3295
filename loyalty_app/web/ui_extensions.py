"""The backend of the app's UI extensions: customer account page and order-status block, thank-you block, POS block.

Every request carries the extension's session token (``Authorization: Bearer``), verified by
Shopify's ``shopifyapp`` (signature with the current or previous secret, expiry, audience). The
shop is the token's ``dest``. A shopper is the token's ``sub`` (``gid://shopify/Customer/<id>``),
never anything in the path, query or body: a request that names another customer is refused
(403). On POS the token is a staff member's; the customer comes from the path and must be a
member of that shop. The extensions run in Shopify's sandboxes (web workers on Shopify's origins),
so, as shopify.dev's network-access notes ask, every answer carries ``Access-Control-Allow-Origin: *``
(the token, not a cookie, is the credential) and the preflight is answered as ``shopifyapp`` says.
"""
from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from urllib.parse import urlparse

from flask import Blueprint, Response, current_app, g, jsonify, request
from shopify_app import verify_checkout_ui_ext_req, verify_customer_account_ui_ext_req, verify_pos_ui_ext_req

from ..connections import client_for
from ..extensions import db
from ..models import Shop
from ..security import sanitize_shop_domain
from ..services import order_points
from ..services.members import find_member
from ..services.shops import get_shop
from ..shopify.customer_store_credit import store_credit_balances
from ..shopify.errors import ShopifyError
from ..shopify.oauth import SessionTokenError, shop_from_claims
from . import shopper
from .admin_auth import shopify_app_config
from .converters import MAX_ID
from .errors import json_error

log = logging.getLogger(__name__)
bp = Blueprint("ui_extensions", __name__, url_prefix="/ext")

CORS_HEADERS = {"Access-Control-Allow-Origin": "*",
                "Access-Control-Expose-Headers": "X-Shopify-API-Request-Failure-Reauthorize-Url"}
_CUSTOMER_GID = re.compile(r"^gid://shopify/Customer/([1-9][0-9]{0,18})$")
_MONEY = re.compile(r"^[0-9]{1,12}(\.[0-9]{1,4})?$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")

Verifier = Callable[[dict[str, Any], dict[str, str]], Any]


def _shop_from_dest(claims: dict[str, Any]) -> str | None:
    """The shop a customer account or checkout token's ``dest`` names (a domain, with or without a scheme)."""
    dest = str(claims.get("dest") or "")
    return sanitize_shop_domain(urlparse(dest).hostname if "://" in dest else dest)


def _customer_from_sub(claims: dict[str, Any]) -> int | None:
    """The customer a token's ``sub`` names (``gid://shopify/Customer/<id>``), or None for a guest."""
    match = _CUSTOMER_GID.match(str(claims.get("sub") or ""))
    return int(match.group(1)) if match and int(match.group(1)) <= MAX_ID else None


def _named_customers() -> set[str]:
    """Every customer id the caller put in the query or the JSON body (only ever compared, never used)."""
    named = set(request.args.getlist("customer_id"))
    body = request.get_json(silent=True) if request.is_json else None
    if isinstance(body, dict) and "customer_id" in body:
        named.add(str(body["customer_id"]))
    return named


def verified(verify: Verifier, surface: str, customer_required: bool = True) -> Callable[..., Any]:
    """Verify the session token with ``verify`` and resolve the shop (``g.shop``) and the shopper (``g.customer_id``).

    ``surface`` is "customer_account", "checkout" or "pos"; on POS ``g.customer_id`` is unset
    (the staff member acts for the customer in the path).
    """

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                result = verify({"method": request.method, "headers": dict(request.headers), "url": request.url,
                                 "body": ""}, shopify_app_config())
            except (AttributeError, TypeError):  # a correctly signed token whose dest is not a string
                return json_error("unauthorized", "invalid session token", 401)
            if not result.ok or result.id_token is None:
                return json_error("unauthorized", "invalid session token", 401)
            claims = result.id_token.claims
            if surface == "pos":
                try:
                    domain: str | None = shop_from_claims(claims)
                except SessionTokenError:
                    domain = None
            else:
                domain = _shop_from_dest(claims)
            if domain is None:
                return json_error("unauthorized", "the session token names no shop", 401)
            shop = get_shop(db.session(), domain)  # type: ignore[misc]
            if shop is None or not shop.active:
                return json_error("unknown_shop", "this shop does not run the loyalty program", 404)
            g.shop = shop
            if surface != "pos":
                g.customer_id = _customer_from_sub(claims)
                if _named_customers() - {str(g.customer_id)}:
                    return json_error("forbidden", "a shopper can only see their own loyalty account", 403)
                if customer_required and g.customer_id is None:
                    return json_error("sign_in_required", "sign in to see your loyalty account", 401)
            return view(*args, **kwargs)

        return wrapper

    return decorate


customer_account = functools.partial(verified, verify_customer_account_ui_ext_req, "customer_account")
checkout = functools.partial(verified, verify_checkout_ui_ext_req, "checkout", customer_required=False)
pos = functools.partial(verified, verify_pos_ui_ext_req, "pos")


@bp.before_request
def preflight() -> Response | None:
    """Answer a CORS preflight the way Shopify's library says (204, any origin, Authorization allowed)."""
    if request.method != "OPTIONS":
        return None
    verify = verify_pos_ui_ext_req if request.path.startswith("/ext/pos/") else verify_customer_account_ui_ext_req
    result = verify({"method": "OPTIONS", "headers": dict(request.headers), "url": request.url, "body": ""},
                    shopify_app_config())
    headers = dict(result.response.headers or {})
    headers.setdefault("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
    return Response(result.response.body or "", status=result.response.status if result.ok else 204, headers=headers)


@bp.after_request
def allow_shopify_origins(response: Response) -> Response:
    """Every answer may be read by the extension's sandbox, whatever origin Shopify runs it on."""
    for name, value in CORS_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def _member_view(shop: Shop, customer_id: int) -> dict[str, Any]:
    view = shopper.view_for(shop, customer_id)
    view["currency"] = view.get("currency") or shop.currency
    view["codes"] = shopper.codes_for(shop, customer_id)
    return view


class _BadEstimate(ValueError):
    """``subtotal`` or ``currency`` is missing its partner or malformed."""


def _estimate_args() -> tuple[Decimal, str] | None:
    """The ``subtotal`` and ``currency`` an estimate is asked for, or None if the caller asked for none."""
    subtotal, currency = request.args.get("subtotal"), request.args.get("currency")
    if subtotal is None and currency is None:
        return None
    if subtotal is None or currency is None or not _MONEY.match(subtotal) or not _CURRENCY.match(currency):
        raise _BadEstimate("subtotal must be an amount such as 12.50 and currency an ISO code such as USD")
    return Decimal(subtotal), currency  # the pattern admits only plain decimals


def _order_answer(order_id: int, customer_id: int | None) -> Any:
    """An order's points for this shopper: recorded (earned or pending until …), else an estimate."""
    session = db.session()  # type: ignore[misc]
    member = find_member(session, g.shop.id, customer_id) if customer_id is not None else None
    if member is not None and (recorded := order_points.recorded_points(session, g.shop, order_id, member)):
        return jsonify(order_id=order_id, signed_in=True, **recorded)
    try:
        args = _estimate_args()
    except _BadEstimate as exc:
        return json_error("bad_request", str(exc), 400)
    body: dict[str, Any] = {"order_id": order_id, "signed_in": customer_id is not None}
    if args is None:
        body.update(state="unknown", points=None, available_at=None)
    else:
        body.update(order_points.estimated_points(session, g.shop, member, *args))
    if customer_id is None:
        body["links"] = {"sign_in": "/account/login", "join": "/account/register"}
    return jsonify(body)


# -- customer accounts ------------------------------------------------------------------------------

@bp.get("/customer-account/me")
@customer_account()
def customer_me() -> Response:
    """The signed-in customer's standing, rewards, ways to earn, codes and history (the full page)."""
    return jsonify(_member_view(g.shop, g.customer_id))


@bp.get("/customer-account/codes")
@customer_account()
def customer_codes() -> Response:
    """The customer's discount codes with their state."""
    return jsonify(codes=shopper.codes_for(g.shop, g.customer_id))


@bp.post("/customer-account/redeem")
@customer_account()
def customer_redeem() -> tuple[Response, int]:
    """Redeem a reward for the signed-in customer (as ``/proxy/redeem``)."""
    body, status = shopper.redeem_for(g.shop, g.customer_id, request.get_json(silent=True))
    return jsonify(body), status


@bp.get("/customer-account/orders/<id:order_id>")
@customer_account()
def customer_order(order_id: int) -> Any:
    """Points on one of the customer's orders (order-status block): earned, pending until …, or an estimate."""
    return _order_answer(order_id, g.customer_id)


# -- thank-you page ---------------------------------------------------------------------------------

@bp.get("/checkout/orders/<id:order_id>")
@checkout()
def checkout_order(order_id: int) -> Any:
    """Points the order just placed will earn; a guest gets the estimate and the links to join."""
    return _order_answer(order_id, g.customer_id)


# -- POS --------------------------------------------------------------------------------------------

def _pos_member(customer_id: int) -> Any:
    """The shop's member for a customer id from the path, or None (not this shop's, or never seen)."""
    return find_member(db.session(), g.shop.id, customer_id)  # type: ignore[misc]


def _store_credit(shop: Shop, customer_id: int) -> list[dict[str, str]] | None:
    """The customer's store credit balances from Shopify ({amount, currency} each), or None if Shopify failed.

    Staff are waiting at the counter: one attempt with short timeouts and no throttle waits. A
    failure (including a shop that has not granted ``read_store_credit_accounts`` yet) costs the
    block its store credit line, never its points.
    """
    try:
        client = client_for(current_app, db.session(), shop, max_retries=0, max_throttle_waits=0,  # type: ignore[misc]
                            timeout=(2.0, 4.0))
        balances = store_credit_balances(client, customer_id)
    except ShopifyError as exc:
        log.warning("store credit of customer %s in %s could not be read: %s", customer_id, shop.domain, exc)
        return None
    return [{"amount": balance.amount, "currency": balance.currency} for balance in balances or []]


@bp.get("/pos/customers/<id:customer_id>")
@pos()
def pos_customer(customer_id: int) -> Any:
    """A customer's balance, tier and rewards for staff at the counter, and their store credit.

    ``store_credit`` lists Shopify's balances ({"amount": "12.50", "currency": "NOK"}; empty
    without a store credit account) or is null when Shopify could not be asked.
    """
    if _pos_member(customer_id) is None:
        return json_error("unknown_customer", "this customer is not a member of the shop's program", 404)
    view = _member_view(g.shop, customer_id)
    view["store_credit"] = _store_credit(g.shop, customer_id)
    return jsonify(view)


@bp.post("/pos/customers/<id:customer_id>/redeem")
@pos()
def pos_redeem(customer_id: int) -> Any:
    """Redeem a reward for the customer at the counter; the extension applies the code to the POS cart."""
    if _pos_member(customer_id) is None:
        return json_error("unknown_customer", "this customer is not a member of the shop's program", 404)
    body, status = shopper.redeem_for(g.shop, customer_id, request.get_json(silent=True))
    return jsonify(body), status
