"""``POST /flow/actions/adjust-points``: verified by shopifyapp, keyed on Flow's run id, never below zero."""
import json

import pytest
from sqlalchemy import func, select

from loyalty_app import ledger
from loyalty_app.models import FlowTrigger, LedgerEntry, utcnow
from loyalty_app.services.members import enrol, find_member
from loyalty_app.services.shops import update_settings
from tests.conftest import SECRET, SHOP_DOMAIN
from tests.helpers import signed

URL = "/flow/actions/adjust-points"


def body(points=50, customer_id=207119551, run_id="run-1", **extra):
    """A Flow action request as shopify.dev documents its shape."""
    return {"shop_id": "gid://shopify/Shop/1", "shopify_domain": SHOP_DOMAIN, "action_run_id": run_id,
            "action_definition_id": "loyalty-adjust-points", "handle": "loyalty-adjust-points",
            "properties": {"customer_id": customer_id, "points": points, "reason": "VIP event"}, **extra}


def post(client, payload, *, secret=SECRET, headers=None):
    raw, hmac_header = signed(payload if isinstance(payload, (dict, bytes)) else json.dumps(payload).encode(), secret)
    sent = {"X-Shopify-Hmac-Sha256": hmac_header, "Content-Type": "application/json", **(headers or {})}
    return client.post(URL, data=raw, headers={k: v for k, v in sent.items() if v is not None})


def entries(session):
    return session.execute(select(func.count()).select_from(LedgerEntry)).scalar_one()


def test_adds_points_once_per_run(client, session, shop):
    first = post(client, body())
    assert first.status_code == 200
    assert first.get_json() == {"status": "adjusted", "points": 50, "balance": 50}
    replay = post(client, body(points=999))  # Flow retried the same run (its body cannot differ; prove it anyway)
    assert replay.status_code == 200
    assert replay.get_json() == {"status": "replayed", "points": 50, "balance": 50}
    member = find_member(session, shop.id, 207119551)
    session.refresh(member)
    assert (member.balance, entries(session)) == (50, 1)
    entry = session.execute(select(LedgerEntry)).scalar_one()
    assert (entry.kind, entry.idempotency_key, entry.actor, entry.note) == ("adjust", "flow:run-1", "flow", "VIP event")
    assert ledger.audit(session) == []


def test_takes_points_but_never_below_zero(client, session, shop):
    member, _ = enrol(session, shop, 207119551)
    ledger.post(session, member.id, amount=100, kind="earn", key="order:1", source="order")
    session.commit()
    assert post(client, body(points=-30, run_id="a")).get_json()["balance"] == 70
    refused = post(client, body(points=-71, run_id="b"))
    assert refused.status_code == 422  # a 4xx: Flow shows it to the merchant and does not retry
    assert refused.get_json()["error"] == "insufficient_points"
    assert post(client, body(points=-70, run_id="c")).get_json()["balance"] == 0
    assert entries(session) == 3


def test_numbers_flow_may_send_as_text_or_decimals(client, session, shop):
    assert post(client, body(points="25", customer_id="207119551")).get_json()["points"] == 25
    assert post(client, body(points=10.0, customer_id="gid://shopify/Customer/207119551", run_id="r2")
                ).get_json()["balance"] == 35


def test_the_previous_secret_still_verifies_during_rotation(app, client, shop):
    app.config["SHOPIFY_API_SECRET_PREVIOUS"] = "old-secret-0123456789abcdef"
    assert post(client, body(), secret="old-secret-0123456789abcdef").status_code == 200


@pytest.mark.parametrize("case, status, error", [
    ("forged", 401, "invalid_hmac"),
    ("unsigned", 400, "missing_hmac_header"),
])
def test_unverified_requests_change_nothing(client, session, shop, case, status, error):
    headers = {"X-Shopify-Hmac-Sha256": "bm90IGEgc2lnbmF0dXJl" if case == "forged" else None}
    response = post(client, body(), headers=headers)
    assert (response.status_code, response.get_json()["error"]) == (status, error)
    assert entries(session) == 0


def test_a_body_changed_after_signing_is_refused(client, session, shop):
    raw, hmac_header = signed(body(points=5), SECRET)
    tampered = raw.replace(b'"points": 5', b'"points": 5000')
    response = client.post(URL, data=tampered, headers={"X-Shopify-Hmac-Sha256": hmac_header})
    assert response.status_code == 401
    assert entries(session) == 0


def test_get_is_not_allowed(client, shop):
    assert client.get(URL).status_code == 405


def test_unknown_and_uninstalled_shops(client, session, shop):
    response = post(client, body(shopify_domain="other-shop.myshopify.com"))
    assert (response.status_code, response.get_json()["error"]) == (404, "unknown_shop")
    shop.uninstalled_at = utcnow()
    session.commit()
    assert post(client, body()).status_code == 404
    assert entries(session) == 0


def test_the_shop_header_must_name_the_signed_shop(client, session, shop):
    response = post(client, body(), headers={"X-Shopify-Shop-Domain": "other-shop.myshopify.com"})
    assert (response.status_code, response.get_json()["error"]) == (400, "shop_mismatch")
    assert post(client, body(), headers={"X-Shopify-Shop-Domain": SHOP_DOMAIN}).status_code == 200


@pytest.mark.parametrize("raw", [b"", b"not json", b"[1, 2]", b'"a string"', b"{", b"\xff\xfe"])
def test_malformed_bodies(client, session, shop, raw):
    response = post(client, raw)
    assert response.status_code == 400
    assert response.get_json()["error"] in ("bad_json", "bad_request")
    assert entries(session) == 0


@pytest.mark.parametrize("change", [
    {"properties": {"customer_id": 0, "points": 5}},
    {"properties": {"customer_id": -1, "points": 5}},
    {"properties": {"customer_id": 2**63, "points": 5}},
    {"properties": {"customer_id": "12abc", "points": 5}},
    {"properties": {"customer_id": True, "points": 5}},
    {"properties": {"customer_id": "gid://shopify/Order/1", "points": 5}},
    {"properties": {"points": 5}},
    {"properties": {"customer_id": 1, "points": 0}},
    {"properties": {"customer_id": 1, "points": 1.5}},
    {"properties": {"customer_id": 1, "points": 10**7}},
    {"properties": {"customer_id": 1, "points": "NaN"}},
    {"properties": {"customer_id": 1, "points": "lots"}},
    {"properties": {"customer_id": 1, "points": None}},
    {"properties": {"customer_id": 1, "points": 5, "reason": "x" * 256}},
    {"properties": "not an object"},
    {"action_run_id": ""},
    {"action_run_id": "x" * 101},
    {"action_run_id": None},
    {"shopify_domain": "not a domain"},
    {"handle": "someone-elses-action"},
])
def test_bad_input_is_a_clear_400(client, session, shop, change):
    response = post(client, {**body(), **change})
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["message"]
    assert entries(session) == 0


def test_an_adjustment_starts_no_points_earned_trigger(client, session, shop):
    """A workflow "points earned → adjust points" must not feed itself."""
    update_settings(shop, {"flow_triggers": True})
    session.commit()
    assert post(client, body()).status_code == 200
    assert session.execute(select(FlowTrigger)).scalars().all() == []
