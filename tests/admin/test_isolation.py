"""Tenant isolation of the merchant's side, one test per route, generated from Flask's URL map.

A route added to ``/admin/api`` or to the admin's pages is covered without anyone remembering
to: (a) without a valid credential it answers 401 (the API) or never renders (a page: Shopify's
id-token flow bounces it to the patch page); (b) with shop A's token, every route that names an
object is given shop B's object and must answer 404, and every other route must answer without
any of B's data; B's rows are compared before and after, so nothing of B's changes either way.

Each path argument name maps to one of B's objects (``OBJECTS``); a route whose argument has no
mapping fails, so a new kind of object gets a builder here before it can ship.
"""
from __future__ import annotations

import json
import re
from datetime import timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from hypothesis import find, strategies
from sqlalchemy import select
from sqlalchemy.orm import Session

from loyalty_app import create_app, ledger
from loyalty_app.models import (
    Base,
    Campaign,
    EarningRule,
    LedgerEntry,
    LedgerImport,
    Member,
    ProgramChange,
    Redemption,
    Referral,
    Reward,
    Shop,
    Tier,
    WebhookEvent,
    WebVital,
    utcnow,
)
from loyalty_app.services.api_keys import create_key
from loyalty_app.services.members import enrol
from loyalty_app.services.orders import record_paid_order
from loyalty_app.services.shops import install_shop
from loyalty_app.web.api.openapi import _document
from tests.conftest import BASE_CONFIG, SECRET, SHOP_DOMAIN
from tests.helpers import session_token, simple_order

SHOP_B = "shop-b.myshopify.com"
MARK = "zzsecretb"
"""Every text of shop B carries this, so an answer that leaks B's data is caught by a substring test."""
B_CUSTOMER = 918273645546372
B_ORDER = 827364554637291
B_VITAL = 4321.987
PUBLIC = {"admin.static", "admin.session_token"}  # Shopify's patch page and static files: public by design
METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}


def _routes() -> list[tuple[str, str, str]]:
    """Every (rule, method, endpoint) of the API and the admin's pages, from an app built for collection only."""
    app = create_app({**BASE_CONFIG, "DATABASE_URL": "sqlite://", "AUTO_MIGRATE": False})
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith(("api.", "admin.")) or rule.endpoint in PUBLIC:
            continue
        found += [(rule.rule, method, rule.endpoint) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return sorted(found)


ROUTES = _routes()
API_ROUTES = [route for route in ROUTES if route[2].startswith("api.")]
PAGE_ROUTES = [route for route in ROUTES if route[2].startswith("admin.")]
_ARGUMENT = re.compile(r"<(?:[^:<>]+:)?(\w+)>")


def _ids(routes: list[tuple[str, str, str]]) -> list[str]:
    return [f"{method} {rule}" for rule, method, _ in routes]


def _fill(rule: str, values: dict[str, Any]) -> str:
    """The rule's path with each argument replaced by ``values[name]``; an unmapped name fails the test."""
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            pytest.fail(f"{rule}: no object of shop B for <{name}>: build one in build_shop_b and map it in OBJECTS")
        return quote(str(values[name]), safe="")
    return _ARGUMENT.sub(value, rule)


def test_the_generated_routes_are_the_apps_routes(app: Flask) -> None:
    """The app the tests run against has exactly the routes collected (none registered only at run time)."""
    running = sorted((rule.rule, method, rule.endpoint) for rule in app.url_map.iter_rules()
                     if rule.endpoint.startswith(("api.", "admin.")) and rule.endpoint not in PUBLIC
                     for method in rule.methods - {"HEAD", "OPTIONS"})
    assert running == ROUTES
    assert {method for _, method, _ in ROUTES} <= METHODS
    assert API_ROUTES and PAGE_ROUTES


# (a) No valid credential: 401, or for a page Shopify's bounce to the patch page.

def _bad_credentials() -> dict[str, str | None]:
    return {
        "none": None,
        "forged": session_token("not-our-secret-0123456789abcdef01", BASE_CONFIG["SHOPIFY_API_KEY"], SHOP_DOMAIN),
        "expired": session_token(SECRET, BASE_CONFIG["SHOPIFY_API_KEY"], SHOP_DOMAIN, exp=1_000_000_000),
        "unknown-api-key": "lyk_" + "x" * 43,
        "garbage": "not-a-token",
    }


@pytest.mark.parametrize("app", ["sqlite"], indirect=True)
@pytest.mark.parametrize("rule, method, endpoint", API_ROUTES, ids=_ids(API_ROUTES))
def test_api_route_without_a_valid_credential_is_401(app, shop, rule, method, endpoint):  # type: ignore[no-untyped-def]
    path = _ARGUMENT.sub("1", rule)
    client = app.test_client()
    for name, credential in _bad_credentials().items():
        headers = {} if credential is None else {"Authorization": f"Bearer {credential}"}
        answer = client.open(path, method=method, headers=headers, json={})
        assert answer.status_code == 401, (name, answer.status_code, answer.data[:200])
        assert answer.get_json()["error"] == "unauthorized", name


@pytest.mark.parametrize("app", ["sqlite"], indirect=True)
@pytest.mark.parametrize("rule, method, endpoint", PAGE_ROUTES, ids=_ids(PAGE_ROUTES))
def test_page_without_a_valid_id_token_never_renders(app, shop, rule, method, endpoint):  # type: ignore[no-untyped-def]
    """A document load goes to Shopify's patch page for a fresh token; a bad bearer header is 401."""
    path = _ARGUMENT.sub("1", rule) + f"?shop={SHOP_DOMAIN}&host=abc&embedded=1"
    client = app.test_client()
    for name, credential in _bad_credentials().items():
        query = "" if credential is None else f"&id_token={credential}"
        answer = client.open(path + query, method=method)
        assert answer.status_code == 302, (name, answer.status_code)
        location = answer.headers["Location"]
        assert "/admin/session-token?" in location and "shopify-reload=" in location, name
        assert credential is None or credential not in location, "the bad token is not handed back"
        assert b"<s-page" not in answer.data
        if credential is not None:
            answer = client.open(path, method=method, headers={"Authorization": f"Bearer {credential}"})
            assert answer.status_code in (302, 401) and b"<s-page" not in answer.data, name


# (b) Shop A's token against shop B's objects.

def build_shop_b(app: Flask, session: Session) -> dict[str, Any]:
    """Shop B with one of everything the merchant's side can name, each text marked; returns OBJECTS."""
    shop = install_shop(session, SHOP_B, "shpat_b", app.extensions["token_box"], currency="NOK")
    now = utcnow()
    tier = Tier(shop_id=shop.id, name=f"{MARK} Platinum", threshold=Decimal("5000"), multiplier=Decimal("2"),
                entry_bonus=50)
    reward = Reward(shop_id=shop.id, name=f"{MARK} 100 NOK off", kind="fixed_amount", cost=500, value=Decimal("100"))
    action = EarningRule(shop_id=shop.id, action=f"{MARK}_follow", points=25)
    campaign = Campaign(shop_id=shop.id, name=f"{MARK} double weekend", multiplier=Decimal("2"), starts_at=now,
                        ends_at=now + timedelta(days=2))
    session.add_all([tier, reward, action, campaign])
    session.flush()
    member, _ = enrol(session, shop, B_CUSTOMER, email=f"{MARK}@example.com", first_name=MARK.title(),
                      last_name=f"{MARK}son")
    order = simple_order(B_ORDER, B_CUSTOMER, "640.00")
    order["customer"]["email"] = f"{MARK}@example.com"
    record_paid_order(session, shop, order)
    entry = ledger.post(session, member.id, amount=123, kind="adjust", key=f"{MARK}-adjust", source="admin",
                        note=f"{MARK} goodwill", actor="staff:99")
    redemption = Redemption(shop_id=shop.id, member_id=member.id, reward_id=reward.id, idempotency_key=f"{MARK}-r1",
                            code=f"{MARK.upper()}-CODE1", cost=500, state="active")
    imported = LedgerImport(shop_id=shop.id, actor="staff:99", filename=f"{MARK}.csv", format="generic", row_count=1,
                            points=10)
    session.add_all([redemption, imported])
    session.flush()
    ledger.post(session, member.id, amount=10, kind="adjust", key=f"import:{imported.id}:1",
                source=f"import:{imported.id}", note=f"{MARK} opening balance", actor="staff:99")
    change = ProgramChange(shop_id=shop.id, version=shop.program_version, actor="staff:99", subject="tier",
                           subject_id=tier.id, action="create", before=None, after={"name": tier.name})
    key = create_key(session, shop, f"{MARK} ERP", "staff:99")
    event = WebhookEvent(webhook_id=f"{MARK}-1", topic="orders/paid", shop_domain=SHOP_B, shop_id=shop.id,
                         status="failed", attempts=3, error=f"LookupError: {MARK} failure", order_id=B_ORDER,
                         customer_id=B_CUSTOMER, body=json.dumps(order))
    vital = WebVital(shop_id=shop.id, page="admin.home", metric="LCP", value=B_VITAL)
    referral = Referral(shop_id=shop.id, referrer_id=member.id, order_id=B_ORDER, friend_customer_id=B_CUSTOMER + 1,
                        friend_email=f"{MARK}-friend@example.com", via="cart_attribute", status="flagged",
                        reasons=["same_ip"], due_at=now)
    session.add_all([change, event, vital, referral])
    session.commit()
    return {
        "tier_id": tier.id, "reward_id": reward.id, "action_id": action.id, "campaign_id": campaign.id,
        "customer_id": B_CUSTOMER, "member_id": member.id, "entry_id": entry.id, "redemption_id": redemption.id,
        "import_id": imported.id, "key_id": key.key.id, "event_id": event.id, "change_id": change.id,
        "order_id": B_ORDER, "shop_id": shop.id, "referral_id": referral.id,
    }


def _markers() -> list[bytes]:
    return [MARK.encode(), MARK.upper().encode(), MARK.title().encode(), str(B_CUSTOMER).encode(),
            str(B_ORDER).encode(), str(B_VITAL).encode(), SHOP_B.encode()]


def snapshot(session: Session, shop_id: int) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of shop B (and every row of tables that have no shop), to compare before and after."""
    session.expire_all()
    rows: dict[str, list[tuple[Any, ...]]] = {}
    for table in Base.metadata.sorted_tables:
        query = select(table)
        if table.name == "shops":
            query = query.where(table.c.id == shop_id)
        elif "shop_id" in table.c:
            query = query.where(table.c.shop_id == shop_id)
        rows[table.name] = sorted((tuple(row) for row in session.execute(query)), key=repr)
    return rows


def example(schema: dict[str, Any], document: dict[str, Any], name: str = "") -> Any:
    """A small valid value for a JSON schema of the OpenAPI document (required properties only)."""
    if "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    if "enum" in schema:
        return next(value for value in schema["enum"] if value is not None)
    kind = schema.get("type", "object")
    if kind == "object":
        return {key: example(value, document, key) for key, value in schema.get("properties", {}).items()
                if key in schema.get("required", ())}
    if kind == "array":
        return [example(schema.get("items", {}), document, name) for _ in range(schema.get("minItems", 0))]
    if kind in ("integer", "number"):
        return max(schema.get("minimum", 1), 1) if schema.get("maximum", 1) >= 1 else schema["maximum"]
    if kind == "boolean":
        return False
    later = name.startswith(("end", "until", "to")) or name.endswith(("_end", "_until", "_to"))  # ends after starts
    if schema.get("format") == "date-time":
        return "2031-01-02T00:00:00+00:00" if later else "2031-01-01T00:00:00+00:00"
    if schema.get("format") == "date":
        return "2031-01-02" if later else "2031-01-01"
    if schema.get("format") == "email":
        return "a@example.com"
    if "pattern" in schema:  # the simplest string the pattern takes (an idempotency key, a code)
        return find(strategies.from_regex(schema["pattern"], fullmatch=True), lambda _: True)
    size = min(max(schema.get("minLength", 1), 1), schema.get("maxLength", 100))
    return "1" * size  # a name, a number written as a string (Decimal as_string) or a code all take it


def _operation(document: dict[str, Any], rule: str, method: str) -> dict[str, Any]:
    """The route's operation in the OpenAPI document ({} for the document itself, which describes the rest)."""
    return document["paths"].get(_ARGUMENT.sub(r"{\1}", rule), {}).get(method.lower(), {})


def _request(document: dict[str, Any], rule: str, method: str) -> dict[str, Any]:
    """The body and query to send: a valid example of what the route declares, searches naming shop B."""
    operation = _operation(document, rule, method)
    kwargs: dict[str, Any] = {}
    query = {}
    for parameter in operation.get("parameters", []):
        if parameter["in"] != "query":
            continue
        if parameter["name"] in ("query", "q", "search", "email"):
            query[parameter["name"]] = f"{MARK}@example.com"
        elif parameter.get("required"):
            query[parameter["name"]] = example(parameter.get("schema", {}), document, parameter["name"])
    if query:
        kwargs["query_string"] = query
    content = operation.get("requestBody", {}).get("content", {})
    for media_type, described in content.items():
        if media_type == "application/json":
            kwargs["json"] = example(described["schema"], document)
        else:
            kwargs["data"] = "customer_id,points\n5550001,1000\n"  # A's own customer: an echo is no leak
            kwargs["content_type"] = media_type
    return kwargs


@pytest.fixture
def shop_b(app, session, shop) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Shop A is the installed test shop; shop B has one of everything."""
    return build_shop_b(app, session)


def check_api_route(app: Flask, session: Session, shop_b: dict[str, Any], token: str, rule: str, method: str) -> None:
    """One API route called with shop A's token and B's objects: 404 for an object, never B's data or a change."""
    before = snapshot(session, shop_b["shop_id"])
    path = _fill(rule, shop_b)
    answer = app.test_client().open(path, method=method, headers={"Authorization": f"Bearer {token}"},
                                    **_request(_document(app), rule, method))
    # A search for B's email may say what it searched for; B's member would still show their name and id.
    shown = answer.data.replace(f"{MARK}@example.com".encode(), b"")
    if _ARGUMENT.search(rule):
        assert answer.status_code == 404, (
            f"{method} {path} with shop A's token answered {answer.status_code}: {answer.data[:300]!r}"
            + (" (the example body was refused before the object was looked up: give example() what it needs)"
               if answer.status_code == 422 else ""))
    else:
        assert answer.status_code < 500, answer.data[:300]
    for marker in _markers():
        assert marker not in shown, f"{method} {path} leaks shop B's {marker!r}"
    assert snapshot(session, shop_b["shop_id"]) == before, f"{method} {path} changed shop B"


def check_page(app: Flask, session: Session, shop_b: dict[str, Any], token: str, rule: str, method: str) -> None:
    """One admin page opened with A's token: 404 for B's object, never B's data, even with ``?shop=`` naming B."""
    before = snapshot(session, shop_b["shop_id"])
    path = _fill(rule, shop_b)
    client = app.test_client()
    for shown in (SHOP_DOMAIN, SHOP_B):
        answer = client.open(f"{path}?shop={shown}&host=abc&id_token={token}", method=method)
        if _ARGUMENT.search(rule):
            assert answer.status_code == 404, (path, answer.status_code)
        else:
            assert answer.status_code == 200, (path, answer.status_code)
            assert b"<s-page" in answer.data
        echoed = SHOP_B.encode() if shown == SHOP_B else None  # the links keep the ?shop= the caller sent
        for marker in _markers():
            assert marker == echoed or marker not in answer.data, f"{method} {path} leaks shop B's {marker!r}"
    assert snapshot(session, shop_b["shop_id"]) == before, f"{method} {path} changed shop B"


@pytest.mark.parametrize("app", ["sqlite"], indirect=True)
@pytest.mark.parametrize("rule, method, endpoint", API_ROUTES, ids=_ids(API_ROUTES))
def test_shop_as_token_never_reaches_shop_bs_data_in_the_api(app, session, shop_b, staff_token, rule, method,
                                                            endpoint):  # type: ignore[no-untyped-def]
    check_api_route(app, session, shop_b, staff_token(), rule, method)


@pytest.mark.parametrize("app", ["sqlite"], indirect=True)
@pytest.mark.parametrize("rule, method, endpoint", PAGE_ROUTES, ids=_ids(PAGE_ROUTES))
def test_shop_as_token_never_reaches_shop_bs_data_on_a_page(app, session, shop_b, staff_token, rule, method,
                                                           endpoint):  # type: ignore[no-untyped-def]
    check_page(app, session, shop_b, staff_token(), rule, method)


@pytest.mark.parametrize("app", ["postgresql"], indirect=True)
def test_every_route_keeps_shops_apart_on_postgresql(app, session, shop_b, staff_token):  # type: ignore[no-untyped-def]
    """The same checks on PostgreSQL, in one test: B is built once (each check proves B unchanged anyway)."""
    for rule, method, _ in API_ROUTES:
        check_api_route(app, session, shop_b, staff_token(), rule, method)
    for rule, method, _ in PAGE_ROUTES:
        check_page(app, session, shop_b, staff_token(), rule, method)


def test_shop_b_really_has_the_data_the_tests_look_for(app, session, shop, shop_b, staff_token):  # type: ignore[no-untyped-def]
    """The same calls with B's own token do show B's data, so the absence above means something."""
    headers = {"Authorization": f"Bearer {staff_token(shop=SHOP_B)}"}
    client = app.test_client()
    failed = client.get("/admin/api/activity/events?status=failed", headers=headers)
    assert MARK.encode() in failed.data
    assert str(B_VITAL).encode() in client.get("/admin/api/vitals", headers=headers).data
    assert f"{MARK} ERP".encode() in client.get("/admin/api/keys", headers=headers).data
    assert f"{MARK}-friend".encode() in client.get("/admin/api/referrals?status=flagged", headers=headers).data
    assert session.get(Shop, shop_b["shop_id"]).domain == SHOP_B
    assert session.query(LedgerEntry).filter_by(shop_id=shop_b["shop_id"]).count() >= 3
    assert session.get(Member, shop_b["member_id"]).balance > 0
