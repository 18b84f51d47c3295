"""/ext/*: the UI extensions' backend, called with session tokens signed as Shopify signs them."""
import time
from datetime import timedelta

import jwt
import pytest
import responses

from loyalty_app.models import LedgerEntry, Reward, utcnow
from loyalty_app.services import orders
from loyalty_app.services.members import find_member
from loyalty_app.services.shops import install_shop, update_settings
from tests.conftest import SECRET, SHOP_DOMAIN
from tests.fake_admin import FakeAdmin
from tests.helpers import session_token, simple_order

API_KEY = "test-api-key"
CREATED = {"codeDiscountNode": {"id": "gid://shopify/DiscountCodeNode/9"}, "userErrors": []}


def customer_token(customer_id=5, shop=SHOP_DOMAIN, secret=SECRET, lifetime=60, **override):
    """A customer account (or checkout) extension token: ``dest`` the shop, ``sub`` the customer's gid."""
    now = int(time.time())
    claims = {"dest": shop, "aud": API_KEY, "sub": f"gid://shopify/Customer/{customer_id}",
              "exp": now + lifetime, "nbf": now - 1, "iat": now, "jti": f"jti-{now}"}
    if customer_id is None:
        del claims["sub"]
    claims.update(override)
    return jwt.encode(claims, secret, algorithm="HS256")


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def pos_token(**kwargs):
    return session_token(SECRET, API_KEY, SHOP_DOMAIN, sub="42", **kwargs)


@pytest.fixture
def fake():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield FakeAdmin(rsps)


@pytest.fixture
def member(session, shop):
    orders.record_paid_order(session, shop, simple_order(1001, 5, "1000.00"))  # 1000 + Silver bonus 100
    session.commit()
    return find_member(session, shop.id, 5)


def reward_id(session, kind="fixed_amount"):
    return session.query(Reward).filter_by(kind=kind).one().id


# -- who is calling -------------------------------------------------------------------------------

def test_the_customer_comes_from_the_token(client, shop, member):
    response = client.get("/ext/customer-account/me", headers=bearer(customer_token(5)))
    assert response.status_code == 200, response.json
    body = response.json
    assert (body["customer_id"], body["balance"], body["tier"]["name"], body["currency"]) == (5, 1100, "Silver", "USD")
    assert body["codes"] == [] and body["next_tier"] == {"name": "Gold", "remaining": "500"}
    assert response.headers["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize("token", [
    customer_token(5, secret="forged-secret-0123456789abcdef01"),   # not signed with our secret
    customer_token(5, lifetime=-120),                              # expired
    customer_token(5, aud="another-app"),                          # another app's token
])
def test_bad_tokens_are_refused(client, shop, member, token):
    response = client.get("/ext/customer-account/me", headers=bearer(token))
    assert response.status_code == 401 and response.json["error"] == "unauthorized"


def test_a_token_signed_with_the_previous_secret_passes_during_rotation(app, client, shop, member):
    old_secret = "previous-api-secret-0123456789abcdef"
    assert client.get("/ext/customer-account/me", headers=bearer(customer_token(5, secret=old_secret))).status_code == 401
    app.config["SHOPIFY_API_SECRET_PREVIOUS"] = old_secret
    assert client.get("/ext/customer-account/me", headers=bearer(customer_token(5, secret=old_secret))).status_code == 200


def test_missing_or_malformed_authorization_is_refused(client, shop, member):
    assert client.get("/ext/customer-account/me").status_code == 401
    assert client.get("/ext/customer-account/me", headers={"Authorization": "Basic abc"}).status_code == 401
    assert client.get("/ext/customer-account/me", headers={"Authorization": "Bearer not.a.jwt"}).status_code == 401


@pytest.mark.parametrize("claims", [{"dest": 12345}, {"dest": None}, {"dest": "https://evil.example.com"},
                                    {"sub": ["gid://shopify/Customer/5"]}, {"sub": "gid://shopify/Customer/99999999999999999999"}])
def test_odd_claims_in_a_signed_token_are_4xx(client, shop, member, claims):
    response = client.get("/ext/customer-account/me", headers=bearer(customer_token(5, **claims)))
    assert response.status_code in (401, 404) and "error" in response.json


def test_a_malformed_json_body_is_400(client, shop, member):
    response = client.post("/ext/customer-account/redeem", headers={**bearer(customer_token(5)),
                                                                     "Content-Type": "application/json"},
                           data=b"{not json")
    assert response.status_code == 400 and response.json["error"] == "bad_request"


def test_another_shops_token_sees_nothing_of_this_shop(app, client, session, shop, member):
    install_shop(session, "other-shop.myshopify.com", "shpat_other", app.extensions["token_box"],
                 scopes="read_orders", currency="EUR")
    session.commit()
    response = client.get("/ext/customer-account/me", headers=bearer(customer_token(5, shop="other-shop.myshopify.com")))
    assert response.status_code == 200
    assert (response.json["balance"], response.json["currency"]) == (0, "EUR")  # customer 5 there has nothing
    unknown = client.get("/ext/customer-account/me", headers=bearer(customer_token(5, shop="nowhere.myshopify.com")))
    assert unknown.status_code == 404 and unknown.json["error"] == "unknown_shop"


def test_naming_another_customer_is_forbidden(client, session, shop, member):
    headers = bearer(customer_token(5))
    assert client.get("/ext/customer-account/me?customer_id=6", headers=headers).status_code == 403
    assert client.get("/ext/customer-account/me?customer_id=5", headers=headers).status_code == 200
    assert client.get("/ext/customer-account/me?customer_id=5&customer_id=6", headers=headers).status_code == 403
    assert client.get("/ext/customer-account/orders/1001?customer_id=6", headers=headers).status_code == 403
    response = client.post("/ext/customer-account/redeem", headers=headers,
                           json={"customer_id": 6, "reward_id": reward_id(session), "idempotency_key": "click-0001"})
    assert response.status_code == 403 and response.json["error"] == "forbidden"
    assert session.query(LedgerEntry).filter_by(kind="redeem").count() == 0


def test_a_token_without_a_customer_cannot_use_the_account_page(client, shop):
    response = client.get("/ext/customer-account/me", headers=bearer(customer_token(None)))
    assert response.status_code == 401 and response.json["error"] == "sign_in_required"
    other_sub = client.get("/ext/customer-account/me", headers=bearer(customer_token(5, sub="gid://shopify/Staff/5")))
    assert other_sub.status_code == 401


def test_cors_preflight_is_answered_for_shopify_origins(client):
    response = client.open("/ext/customer-account/me", method="OPTIONS",
                           headers={"Origin": "https://extensions.shopifycdn.com",
                                    "Access-Control-Request-Method": "GET",
                                    "Access-Control-Request-Headers": "authorization"})
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Authorization" in response.headers["Access-Control-Allow-Headers"]
    pos = client.open("/ext/pos/customers/5", method="OPTIONS", headers={"Origin": "https://cdn.shopify.com"})
    assert pos.status_code == 204 and pos.headers["Access-Control-Allow-Origin"] == "*"


# -- redeeming ------------------------------------------------------------------------------------

def test_redeem_from_the_account_page(client, session, shop, member, fake):
    fake.answer({"discountCodeBasicCreate": CREATED})
    body = {"reward_id": reward_id(session), "idempotency_key": "click-0001"}
    first = client.post("/ext/customer-account/redeem", headers=bearer(customer_token(5)), json=body)
    assert first.status_code == 200, first.json
    assert first.json["state"] == "active" and first.json["balance"] == 600
    assert fake.requests[0]["variables"]["basicCodeDiscount"]["context"] == {
        "customers": {"add": ["gid://shopify/Customer/5"]}}
    replay = client.post("/ext/customer-account/redeem", headers=bearer(customer_token(5)), json=body)
    assert (replay.status_code, replay.json["code"]) == (200, first.json["code"]) and len(fake.requests) == 1
    codes = client.get("/ext/customer-account/codes", headers=bearer(customer_token(5))).json["codes"]
    assert [(c["code"], c["state"]) for c in codes] == [(first.json["code"], "active")]
    assert client.get("/ext/customer-account/me", headers=bearer(customer_token(5))).json["codes"][0]["code"] \
        == first.json["code"]


@pytest.mark.parametrize("body", [None, {}, {"reward_id": "x", "idempotency_key": "click-0001"},
                                  {"reward_id": 1, "idempotency_key": "?"}, [1, 2]])
def test_bad_redeem_bodies_are_400(client, shop, member, body):
    response = client.post("/ext/customer-account/redeem", headers=bearer(customer_token(5)), json=body)
    assert response.status_code == 400 and response.json["error"] == "bad_request"


def test_redeem_without_enough_points_is_409(client, session, shop, fake):
    response = client.post("/ext/customer-account/redeem", headers=bearer(customer_token(7)),
                           json={"reward_id": reward_id(session), "idempotency_key": "click-0009"})
    assert response.status_code == 409 and response.json["error"] == "insufficient_points"
    assert fake.requests == []


# -- order-status block and thank-you page ----------------------------------------------------------

def test_order_points_earned_and_pending(client, session, shop, member):
    earned = client.get("/ext/customer-account/orders/1001", headers=bearer(customer_token(5))).json
    assert (earned["state"], earned["points"], earned["available_at"]) == ("earned", 1000, None)

    update_settings(shop, {"pending_days": 14})
    session.commit()
    orders.record_paid_order(session, shop, simple_order(1002, 5, "80.00"))
    session.commit()
    pending = client.get("/ext/customer-account/orders/1002", headers=bearer(customer_token(5))).json
    assert (pending["state"], pending["points"]) == ("pending", 100)  # 80 × 1.25 (Silver)
    assert pending["available_at"][:10] == (utcnow() + timedelta(days=14)).date().isoformat()


def test_another_customers_order_is_never_shown(client, session, shop, member):
    response = client.get("/ext/customer-account/orders/1001", headers=bearer(customer_token(6)))
    assert response.status_code == 200 and response.json["state"] == "unknown" and response.json["points"] is None


def test_an_unpaid_order_gets_an_estimate(client, session, shop, member):
    response = client.get("/ext/checkout/orders/2001?subtotal=40.00&currency=USD", headers=bearer(customer_token(5)))
    assert response.json == {"order_id": 2001, "signed_in": True, "state": "estimate", "points": 50,
                             "available_at": None}
    other_currency = client.get("/ext/checkout/orders/2001?subtotal=40.00&currency=EUR",
                                headers=bearer(customer_token(5))).json
    assert other_currency["points"] is None


def test_a_guest_gets_the_base_rate_and_the_sign_up_nudge(client, shop):
    response = client.get("/ext/checkout/orders/2002?subtotal=40.00&currency=USD", headers=bearer(customer_token(None)))
    body = response.json
    assert (body["signed_in"], body["points"], body["links"]["join"]) == (False, 40, "/account/register")


@pytest.mark.parametrize("query", ["subtotal=abc&currency=USD", "subtotal=1e9&currency=USD", "subtotal=-1&currency=USD",
                                   "subtotal=10", "currency=usd&subtotal=10"])
def test_bad_estimate_input_is_400(client, shop, query):
    response = client.get(f"/ext/checkout/orders/2003?{query}", headers=bearer(customer_token(None)))
    assert response.status_code == 400 and response.json["error"] == "bad_request"


def test_order_ids_out_of_range_are_404(client, shop):
    assert client.get("/ext/checkout/orders/99999999999999999999", headers=bearer(customer_token(5))).status_code == 404
    assert client.get("/ext/checkout/orders/0", headers=bearer(customer_token(5))).status_code == 404


def test_checkout_tokens_are_verified_too(client, shop):
    forged = customer_token(5, secret="forged-secret-0123456789abcdef01")
    assert client.get("/ext/checkout/orders/1?subtotal=1&currency=USD", headers=bearer(forged)).status_code == 401
    assert client.get("/ext/checkout/orders/1?subtotal=1&currency=USD", headers=bearer(customer_token(5, lifetime=-120))
                      ).status_code == 401


# -- POS --------------------------------------------------------------------------------------------

def test_pos_shows_a_members_standing(client, shop, member):
    response = client.get("/ext/pos/customers/5", headers=bearer(pos_token()))
    assert response.status_code == 200
    assert (response.json["balance"], response.json["tier"]["name"]) == (1100, "Silver")


def test_pos_refuses_customers_of_other_shops_and_bad_tokens(app, client, session, shop, member):
    other = install_shop(session, "other-shop.myshopify.com", "shpat_other", app.extensions["token_box"],
                         scopes="read_orders", currency="EUR")
    session.commit()
    other_staff = session_token(SECRET, API_KEY, "other-shop.myshopify.com", sub="7")
    response = client.get("/ext/pos/customers/5", headers=bearer(other_staff))
    assert response.status_code == 404 and response.json["error"] == "unknown_customer"
    assert other.id != shop.id
    assert client.get("/ext/pos/customers/5", headers=bearer(pos_token(lifetime=-120))).status_code == 401
    forged = session_token("forged-secret-0123456789abcdef01", API_KEY, SHOP_DOMAIN)
    assert client.get("/ext/pos/customers/5", headers=bearer(forged)).status_code == 401
    mismatched = pos_token(iss="https://other-shop.myshopify.com/admin")  # iss and dest disagree
    assert client.get("/ext/pos/customers/5", headers=bearer(mismatched)).status_code == 401
    # A customer account token is not a staff token: it has no iss naming the shop.
    assert client.get("/ext/pos/customers/5", headers=bearer(customer_token(5))).status_code == 401


def test_pos_redeems_for_the_customer_at_the_counter(client, session, shop, member, fake):
    fake.answer({"discountCodeBasicCreate": CREATED})
    response = client.post("/ext/pos/customers/5/redeem", headers=bearer(pos_token()),
                           json={"reward_id": reward_id(session), "idempotency_key": "pos-click-0001"})
    assert response.status_code == 200, response.json
    assert response.json["balance"] == 600 and response.json["code"]
    assert fake.requests[0]["variables"]["basicCodeDiscount"]["context"] == {
        "customers": {"add": ["gid://shopify/Customer/5"]}}
    unknown = client.post("/ext/pos/customers/6/redeem", headers=bearer(pos_token()),
                          json={"reward_id": reward_id(session), "idempotency_key": "pos-click-0002"})
    assert unknown.status_code == 404
