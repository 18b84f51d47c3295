"""The development storefront (only in development): the widget with no Shopify store.

``/dev/storefront`` renders the theme extension's markup with its real assets and locales,
``/apps/loyalty/*`` signs requests for the chosen demo customer the way Shopify's app proxy
does and hands them to ``/proxy/*``, and ``/dev/admin/...`` answers the few Admin mutations
redemption needs, so a redeemed reward gets a code.
"""
from __future__ import annotations

import itertools
import json
import re
import time
from functools import cache
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, current_app, jsonify, render_template, request, send_from_directory

from ..demo import DEMO_CUSTOMERS, DEMO_SHOP
from ..extensions import db
from ..security import proxy_signature
from ..services.members import find_member, tier_name
from ..services.shops import get_shop

bp = Blueprint("dev", __name__, template_folder="templates")
EXTENSION = Path(__file__).resolve().parents[2] / "storefront_extension"
LANGUAGES = ("en", "nb", "sv", "da")
_discount_ids = itertools.count(1)
PROXY_PARAMS = ("shop", "logged_in_customer_id", "path_prefix", "timestamp", "signature")
"""What Shopify's app proxy sets itself: a shopper's own values for these never reach the app."""


@cache
def _translations(lang: str) -> dict[str, Any]:
    name = "en.default.json" if lang == "en" else f"{lang}.json"
    return json.loads((EXTENSION / "locales" / name).read_text())["loyalty"]


@bp.get("/dev/storefront")
def storefront():  # type: ignore[no-untyped-def]
    """A page with the launcher for ``?customer=ID`` (or a guest), in ``?lang=en|nb|sv|da``."""
    customer = request.args.get("customer", "")
    lang = request.args.get("lang", "en")
    if lang not in LANGUAGES or (customer and not customer.isdigit()):
        abort(400)
    session = db.session()  # type: ignore[misc]
    shop = get_shop(session, DEMO_SHOP)
    if shop is None:
        return "Run `flask --app app demo` first to create the demo shop.", 503
    member = find_member(session, shop.id, int(customer)) if customer else None
    t = _translations(lang)
    response = current_app.make_response(render_template(
        "dev_storefront.html", t=t, i18n=json.dumps({k: v for k, v in t.items() if k not in ("launcher", "title", "close", "loading")}),
        customer=customer, member=member, tier=tier_name(session, member) if member else None, customers=DEMO_CUSTOMERS, lang=lang, languages=LANGUAGES,
        mode=request.args.get("mode", "launcher")))
    response.set_cookie("dev_customer", customer, samesite="Lax")
    return response


@bp.get("/dev/assets/<path:name>")
def assets(name: str):  # type: ignore[no-untyped-def]
    """The extension's real assets, as Shopify's CDN would serve them."""
    return send_from_directory(EXTENSION / "assets", name)


@bp.route("/apps/loyalty/<path:path>", methods=["GET", "POST"])
def app_proxy(path: str):  # type: ignore[no-untyped-def]
    """Sign the request like Shopify's app proxy, for the demo customer in the cookie, and dispatch it.

    The page's own query (``?locale=nb``) is passed on and signed along, as Shopify does.
    """
    customer = request.cookies.get("dev_customer", "")
    own = [(k, v) for k, v in request.args.items(multi=True) if k not in PROXY_PARAMS]  # the widget's, e.g. locale
    params = own + [("shop", DEMO_SHOP), ("logged_in_customer_id", customer), ("path_prefix", "/apps/loyalty"),
                    ("timestamp", str(int(time.time())))]
    params.append(("signature", proxy_signature(current_app.config["SHOPIFY_API_SECRET"], params)))
    with current_app.test_request_context(f"/proxy/{path}", method=request.method, query_string=params,
                                          data=request.get_data(), content_type=request.content_type):
        response = current_app.full_dispatch_request()
    if response.mimetype == "application/liquid":
        lang = request.args.get("lang", "en")
        response.set_data(_render_liquid(response.get_data(as_text=True), lang if lang in LANGUAGES else "en"))
        response.mimetype = "text/html"
    return response


_LIQUID_CASE = re.compile(r"\{% case request\.locale\.iso_code %\}(.*)\{% endcase %\}", re.S)
_LIQUID_BRANCH = re.compile(r"\{% (?:when '(\w+)'|else) %\}")


def _render_liquid(body: str, lang: str) -> str:
    """What Shopify's Liquid makes of our proxy pages, as far as they use it: the language's branch, the routes."""
    match = _LIQUID_CASE.search(body)
    if match:
        parts = _LIQUID_BRANCH.split(match.group(1))[1:]
        branches = {name or "en": block for name, block in zip(parts[::2], parts[1::2])}
        body = body[:match.start()] + branches.get(lang, branches["en"]) + body[match.end():]
    for route in ("routes.all_products_collection_url", "routes.root_url"):
        body = body.replace("{{ " + route + " }}", "/dev/storefront")
    return f'<!doctype html><html lang="{lang}"><meta charset="utf-8"><title>Loyalty</title>{body}</html>'


@bp.post("/dev/admin/<shop>/<version>/graphql.json")
def fake_admin(shop: str, version: str):  # type: ignore[no-untyped-def]
    """Answer the Admin requests the app sends, as Shopify would when they succeed."""
    query = (request.get_json(silent=True) or {}).get("query", "")
    if "asyncUsageCount" in query:  # no checkout here, so no code was ever used
        return jsonify(data={"codeDiscountNode": {"codeDiscount": {"__typename": "DiscountCodeBasic",
                                                                   "asyncUsageCount": 0}}})
    node = {"codeDiscountNode": {"id": f"gid://shopify/DiscountCodeNode/{next(_discount_ids)}"}, "userErrors": []}
    for root in ("discountCodeBasicCreate", "discountCodeFreeShippingCreate", "discountCodeDeactivate"):
        if root in query:
            return jsonify(data={root: node})
    for root in ("metafieldsSet", "tagsAdd", "tagsRemove"):
        if root in query:
            return jsonify(data={root: {"userErrors": [], "metafields": []}})
    if "orders(" in query:
        return jsonify(data={"orders": {"pageInfo": {"hasNextPage": False, "endCursor": None}, "nodes": []}})
    if "storeCreditConfiguration" in query:  # store credit is on, so store credit rewards can be tried here
        return jsonify(data={"storeCreditConfiguration": {"storeCreditEnabled": True}})
    for root, kind, field in (("storeCreditAccountCredit", "Credit", "creditInput"),
                              ("storeCreditAccountDebit", "Debit", "debitInput")):
        if root in query:
            variables = (request.get_json(silent=True) or {}).get("variables") or {}
            money = (variables.get(field) or {}).get(f"{kind.lower()}Amount") or {}
            return jsonify(data={root: {"storeCreditAccountTransaction": {
                "id": f"gid://shopify/StoreCreditAccount{kind}Transaction/{next(_discount_ids)}", "amount": money},
                "userErrors": []}})
    return jsonify(errors=[{"message": "the development Admin API does not know this query"}]), 200
