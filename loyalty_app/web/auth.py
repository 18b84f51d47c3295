"""Install and auth: ``/auth`` → Shopify's grant screen → ``/auth/callback``; and token exchange for the embedded app."""
from __future__ import annotations

import hmac
import secrets

from flask import Blueprint, current_app, jsonify, redirect, request, session

from ..connections import token_endpoint
from ..extensions import db
from ..security import sanitize_shop_domain
from ..services.connection import complete_install
from ..shopify.errors import OAuthError
from ..shopify.oauth import SessionTokenError, authorize_url, decode_session_token, query_signature_valid

bp = Blueprint("auth", __name__, url_prefix="/auth")


def _error(message: str, status: int):  # type: ignore[no-untyped-def]
    return jsonify(error=message), status


@bp.get("")
def begin():  # type: ignore[no-untyped-def]
    """Send the merchant to Shopify's grant screen with a state nonce kept in our signed cookie."""
    shop = sanitize_shop_domain(request.args.get("shop"))
    if shop is None:
        return _error("shop must be a *.myshopify.com domain", 400)
    state = secrets.token_urlsafe(24)
    session["oauth_state"], session["oauth_shop"] = state, shop
    config = current_app.config
    return redirect(authorize_url(shop, config["SHOPIFY_API_KEY"], config["SHOPIFY_SCOPES"],
                                  config["APP_URL"].rstrip("/") + "/auth/callback", state))


@bp.get("/callback")
def callback():  # type: ignore[no-untyped-def]
    """Verify Shopify's redirect (HMAC, state, shop), exchange the code and store the token encrypted."""
    params = request.args.to_dict()
    shop = sanitize_shop_domain(params.get("shop"))
    if shop is None or shop != params.get("shop"):
        return _error("shop must be a *.myshopify.com domain", 400)
    if not query_signature_valid(params, current_app.config["SHOPIFY_API_SECRET"]):
        return _error("invalid or expired hmac", 401)
    expected_state = session.pop("oauth_state", None)
    if not expected_state or not hmac.compare_digest(expected_state, params.get("state", "")):
        return _error("invalid state", 403)
    if session.pop("oauth_shop", None) != shop:
        return _error("the callback is for another shop", 403)
    if not params.get("code"):
        return _error("missing code", 400)
    try:
        grant = token_endpoint(current_app).exchange_code(shop, params["code"])  # type: ignore[arg-type]
    except OAuthError as exc:
        return _error(str(exc), 502)
    complete_install(db.session(), shop, grant, current_app.extensions["token_box"])  # type: ignore[misc]
    db.session.commit()  # type: ignore[union-attr]
    return redirect(f"https://{shop}/admin/apps/{current_app.config['SHOPIFY_API_KEY']}")


@bp.post("/token-exchange")
def token_exchange():  # type: ignore[no-untyped-def]
    """Embedded app: trade the App Bridge session token for an expiring offline token."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return _error("missing bearer session token", 401)
    token = header[len("Bearer "):]
    config = current_app.config
    try:
        shop = decode_session_token(token, config["SHOPIFY_API_KEY"], config["SHOPIFY_API_SECRET"])
    except SessionTokenError as exc:
        return _error(f"invalid session token: {exc}", 401)
    try:
        grant = token_endpoint(current_app).exchange_session_token(shop, token)  # type: ignore[arg-type]
    except OAuthError as exc:
        return _error(str(exc), 502)
    installed = complete_install(db.session(), shop, grant, current_app.extensions["token_box"])  # type: ignore[misc]
    db.session.commit()  # type: ignore[union-attr]
    return jsonify(shop=installed.domain, installed=True)
