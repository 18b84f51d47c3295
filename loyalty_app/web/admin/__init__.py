"""The embedded admin: server-rendered pages inside the Shopify admin, Shopify's way.

Each page loads App Bridge (first script in ``<head>``) and Polaris web components from Shopify's
CDN, and is rendered with its data, so the first paint needs no further request. Pages call
``/admin/api/`` for every change with the session token. Without the CDN (as in tests) the
pages still read and work: ``static/admin.js`` swaps the Polaris form fields for native ones.

A page load is authenticated by Shopify's id-token flow (``admin_auth.authenticate_document``).
A shop seen for the first time, or one whose token was revoked, is installed right there by
token exchange, as Shopify's managed installation expects.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, g, make_response, render_template, request, url_for
from shopify_app import app_home_patch_id_token

from ...connections import token_endpoint
from ...extensions import db
from ...security import sanitize_shop_domain
from ...services.connection import complete_install
from ...services.shops import get_shop
from ...shopify.errors import OAuthError
from ..admin_auth import Principal, Unauthorised, authenticate_document
from .i18n import LANGUAGES, format_money, format_number, pick_language, translate

bp = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates", static_folder="static",
               static_url_path="/static")
APP_BRIDGE = "https://cdn.shopify.com/shopifycloud/app-bridge.js"
POLARIS = "https://cdn.shopify.com/shopifycloud/polaris-1.js"  # the stable channel of Polaris 1 (shopify.dev)
_KEPT_QUERY = ("shop", "host", "embedded", "locale")
NAV = (("admin.home", "common.nav_home"), ("admin.program", "common.nav_program"),
       ("admin.members", "common.nav_members"), ("admin.referrals", "common.nav_referrals"),
       ("admin.analytics", "common.nav_analytics"),
       ("admin.transfer", "common.nav_transfer"), ("admin.activity", "common.nav_activity"))


def admin_url(endpoint: str, query: dict[str, Any] | None = None, **values: Any) -> str:
    """A link to another admin page that keeps Shopify's ``shop``/``host``/``locale`` query (never the token)."""
    kept = {key: request.args[key] for key in _KEPT_QUERY if key in request.args}
    kept.update(query or {})
    url = url_for(endpoint, **values)
    return f"{url}?{urlencode(kept)}" if kept else url


def _install(domain: str, id_token: str) -> Any:
    """Token exchange for a shop we do not hold a working token for; the page load owns this transaction."""
    grant = token_endpoint(current_app).exchange_session_token(domain, id_token)  # type: ignore[arg-type]
    shop = complete_install(db.session(), domain, grant, current_app.extensions["token_box"])  # type: ignore[misc]
    db.session.commit()  # type: ignore[union-attr]
    return shop


def page(view: Callable[..., Any]) -> Callable[..., Any]:
    """Authenticate a page load, install the shop if needed, and add Shopify's embedding headers."""

    @functools.wraps(view)
    def wrapper(**kwargs: Any) -> Response:
        try:
            caller = authenticate_document(request)
        except Unauthorised as exc:
            return exc.response
        g.lang = pick_language(request.args.get("locale"))
        shop = get_shop(db.session(), caller.domain)  # type: ignore[misc]
        if shop is None or not shop.active or shop.needs_reauth:
            try:
                shop = _install(caller.domain, caller.id_token)
            except OAuthError:
                return make_response(render_template("admin/install_failed.html"), 502)
        g.principal = Principal(shop, caller.actor, caller.id_token)
        response = make_response(view(**kwargs))
        response.headers["Content-Security-Policy"] = caller.headers.get(
            "Content-Security-Policy", "frame-ancestors https://admin.shopify.com;")
        response.headers["Link"] = (f'<https://cdn.shopify.com>; rel="preconnect", <{APP_BRIDGE}>; rel="preload"; '
                                    f'as="script", <{POLARIS}>; rel="preload"; as="script"')
        response.headers["Cache-Control"] = "no-store"
        return response

    return wrapper


@bp.get("/session-token")
def session_token():  # type: ignore[no-untyped-def]
    """Shopify's patch page: App Bridge gets a fresh session token and reloads the page that asked."""
    if sanitize_shop_domain(request.args.get("shop")) != request.args.get("shop"):
        return Response("shop must be a *.myshopify.com domain", status=400, mimetype="text/plain")
    result = app_home_patch_id_token({"method": request.method, "headers": dict(request.headers),
                                      "url": request.url, "body": ""},
                                     {"client_id": current_app.config["SHOPIFY_API_KEY"],
                                      "client_secret": current_app.config["SHOPIFY_API_SECRET"]})
    return Response(result.response.body, status=result.response.status, headers=result.response.headers)


@bp.context_processor
def _helpers() -> dict[str, Any]:
    lang = g.get("lang", "en")
    return {
        "t": functools.partial(translate, lang),
        "lang": lang,
        "languages": LANGUAGES,
        "number": functools.partial(format_number, lang=lang),
        "money": lambda value: format_money(value, g.principal.shop.currency, lang),
        "admin_url": admin_url,
        "nav": NAV,
        "app_bridge_src": APP_BRIDGE,
        "polaris_src": POLARIS,
    }


from . import activity, analytics, home, members, program, referrals, transfer  # noqa: E402,F401  (pages register on bp)
