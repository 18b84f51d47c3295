"""The app proxy API: signatures, the shopper's view, and atomic redemption."""
import threading
import time
from datetime import timedelta

import pytest
import requests
import responses

from loyalty_app import ledger
from loyalty_app.extensions import db
from loyalty_app.models import LedgerEntry, Redemption, Reward, WebhookEvent, utcnow
from loyalty_app.services import orders, redemptions
from loyalty_app.services.members import enrol, find_member
from loyalty_app.services.shops import install_shop
from loyalty_app.shopify.client import AdminClient
from tests.conftest import SHOP_DOMAIN
from tests.fake_admin import FakeAdmin
from tests.helpers import proxy_query, simple_order

CREATED = {"codeDiscountNode": {"id": "gid://shopify/DiscountCodeNode/9"}, "userErrors": []}


def get(client, path, customer_id, **kwargs):
    return client.get(f"/proxy/{path}", query_string=proxy_query(customer_id, **kwargs))


def post(client, path, customer_id, body):
    return client.post(f"/proxy/{path}", query_string=proxy_query(customer_id), json=body)


def reward_id(session, kind):
    return session.query(Reward).filter_by(kind=kind).one().id


@pytest.fixture
def fake():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield FakeAdmin(rsps)


@pytest.fixture
def member(session, shop):
    orders.record_paid_order(session, shop, simple_order(1, 5, "1000.00"))  # 1000 + Silver bonus 100
    session.commit()
    return find_member(session, shop.id, 5)


def test_member_view(client, session, shop, member):
    for i in range(12):
        ledger.post(session, member.id, amount=1, kind="adjust", key=f"adj:{i}", source="test")
    session.commit()
    body = get(client, "me", 5).json
    assert (body["customer_id"], body["balance"], body["pending"], body["lifetime"]) == (5, 1112, 0, 1100)
    assert body["tier"] == {"name": "Silver", "multiplier": "1.25"}
    # Gold at 1500: the 1000 earned count, the Silver bonus does not (tier_bonus_counts is off by default)
    assert body["next_tier"] == {"name": "Gold", "remaining": "500"}
    assert [(r["cost"], r["affordable"]) for r in body["rewards"]] == [(500, True), (750, True), (1000, True)]
    assert len(body["activity"]) == 10 and body["activity"][0]["kind"] == "adjust"
    prefix = f"https://{SHOP_DOMAIN}/apps/loyalty/r/"
    assert body["referral_url"].startswith(prefix) and str(member.customer_id) not in body["referral_url"][len(prefix):]
    assert get(client, "me", 5).json["referral_url"] == body["referral_url"]  # stored once, the same on every view
    # A member who joined through an order can no longer get the signup bonus, so it is not offered.
    assert {w["action"] for w in body["ways_to_earn"]} >= {"order", "birthday"}
    assert "signup" not in {w["action"] for w in body["ways_to_earn"]}


def test_guest_view(client, shop):
    body = get(client, "me", None).json
    assert body["customer_id"] is None and body["balance"] is None
    assert body["links"] == {"sign_in": "/account/login", "join": "/account/register"}
    assert all(r["affordable"] is False for r in body["rewards"])


def test_signed_in_customer_without_points(client, shop):
    body = get(client, "me", 404).json
    assert (body["customer_id"], body["balance"], body["tier"]["name"]) == (404, 0, "Bronze")
    assert body["next_tier"] == {"name": "Silver", "remaining": "500"}


@pytest.mark.parametrize("case", ["tampered", "swapped_customer", "stale", "future", "unsigned", "wrong_secret"])
def test_bad_signatures_are_401(client, shop, member, case):
    params = proxy_query(5)
    if case == "tampered":
        params = [(k, "evil.myshopify.com" if k == "shop" else v) for k, v in params]
    elif case == "swapped_customer":
        params = [(k, "6" if k == "logged_in_customer_id" else v) for k, v in params]
    elif case == "stale":
        params = proxy_query(5, timestamp=int(time.time()) - 3600)
    elif case == "future":
        params = proxy_query(5, timestamp=int(time.time()) + 3600)
    elif case == "unsigned":
        params = [p for p in params if p[0] != "signature"]
    else:
        params = proxy_query(5, secret="someone-elses-secret-0123456789ab")
    response = client.get("/proxy/me", query_string=params)
    assert response.status_code == 401 and response.json["error"] == "bad_signature"


def test_unknown_shop_is_404(client, shop):
    response = client.get("/proxy/me", query_string=proxy_query(5, shop="nobody.myshopify.com"))
    assert response.status_code == 404


def test_redeem_creates_a_code_and_debits_once(client, session, shop, member, fake):
    fake.answer({"discountCodeBasicCreate": CREATED})
    body = {"reward_id": reward_id(session, "fixed_amount"), "idempotency_key": "click-0001"}
    first = post(client, "redeem", 5, body)
    assert first.status_code == 200, first.json
    assert first.json["state"] == "active" and first.json["balance"] == 600
    assert first.json["apply_url"] == f"/discount/{first.json['code']}?redirect=/cart"
    sent = fake.requests[0]["variables"]["basicCodeDiscount"]
    assert sent["code"] == first.json["code"]
    assert sent["context"] == {"customers": {"add": ["gid://shopify/Customer/5"]}}

    replay = post(client, "redeem", 5, body)
    assert (replay.status_code, replay.json["code"], replay.json["balance"]) == (200, first.json["code"], 600)
    assert len(fake.requests) == 1
    assert session.query(LedgerEntry).filter_by(kind="redeem").count() == 1
    codes = get(client, "codes", 5).json["codes"]
    assert [(c["code"], c["state"]) for c in codes] == [(first.json["code"], "active")]


def test_shopify_refusing_the_code_returns_the_points(client, session, shop, member, fake):
    fake.answer({"discountCodeBasicCreate": {"codeDiscountNode": None, "userErrors": [
        {"field": ["basicCodeDiscount", "combinesWith"], "message": "Combines with is invalid", "code": "INVALID"}]}})
    response = post(client, "redeem", 5, {"reward_id": reward_id(session, "fixed_amount"),
                                         "idempotency_key": "click-0002"})
    assert response.status_code == 502 and response.json["error"] == "shopify_failed"
    assert len(fake.requests) == 1
    session.expire_all()
    assert find_member(session, shop.id, 5).balance == 1100
    kinds = sorted((e.kind, e.amount) for e in session.query(LedgerEntry).filter(LedgerEntry.kind.in_(["redeem", "release"])))
    assert kinds == [("redeem", -500), ("release", 500)]
    assert session.query(Redemption).one().state == "released"
    assert ledger.audit(session) == []


TAKEN = {"discountCodeBasicCreate": {"codeDiscountNode": None, "userErrors": [
    {"field": ["basicCodeDiscount", "code"], "message": "Code must be unique", "code": "TAKEN"}]}}
FOUND = {"codeDiscountNodeByCode": {"id": "gid://shopify/DiscountCodeNode/9"}}


def test_a_timeout_after_shopify_made_the_code_keeps_that_one_code(client, session, shop, member, fake):
    """The create timed out, its retry says the code is taken: the code is ours, found, and paid for once."""
    fake.answer(raise_exc=requests.ReadTimeout("Shopify is slow")).answer(TAKEN).answer(FOUND)
    response = post(client, "redeem", 5, {"reward_id": reward_id(session, "fixed_amount"),
                                         "idempotency_key": "click-0006"})
    assert response.status_code == 200 and response.json["state"] == "active"
    assert [v["code"] for v in fake.sent("DiscountCodeLookup")] == [response.json["code"]]
    session.expire_all()
    assert find_member(session, shop.id, 5).balance == 600
    assert session.query(Redemption).one().discount_id == "gid://shopify/DiscountCodeNode/9"
    assert session.query(LedgerEntry).filter_by(kind="release").count() == 0
    assert ledger.audit(session) == []


def test_a_timeout_before_shopify_made_the_code_creates_it_again_with_the_same_code(client, session, shop, member,
                                                                                    fake):
    for _ in range(2):
        fake.answer(raise_exc=requests.ReadTimeout("Shopify is slow"))
    fake.answer({"codeDiscountNodeByCode": None}).answer({"discountCodeBasicCreate": CREATED})
    response = post(client, "redeem", 5, {"reward_id": reward_id(session, "fixed_amount"),
                                         "idempotency_key": "click-0007"})
    assert response.status_code == 200 and response.json["state"] == "active"
    created = fake.sent("DiscountCodeBasicCreate")
    assert len(created) == 3 and len({v["basicCodeDiscount"]["code"] for v in created}) == 1
    session.expire_all()
    assert find_member(session, shop.id, 5).balance == 600 and ledger.audit(session) == []


def test_when_shopify_cannot_say_the_points_stay_reserved_until_it_can(app, client, session, shop, member, fake,
                                                                       admin):
    """Unknown is never failure: 202, nothing released; the settle job asks Shopify later and decides."""
    for _ in range(2):
        fake.answer(raise_exc=requests.ReadTimeout("Shopify is slow"))
    for _ in range(2):
        fake.answer(status=503)
    response = post(client, "redeem", 5, {"reward_id": reward_id(session, "fixed_amount"),
                                         "idempotency_key": "click-0008"})
    assert response.status_code == 202 and response.json["state"] == "reserved"
    session.expire_all()
    assert find_member(session, shop.id, 5).balance == 600
    assert session.query(LedgerEntry).filter_by(kind="release").count() == 0

    fake.answer({"codeDiscountNodeByCode": None})  # minutes later Shopify answers: no such code
    assert redemptions.settle_reservations(session, shop, admin, timedelta(minutes=2),
                                           now=utcnow() + timedelta(minutes=3)) == 1
    session.expire_all()
    assert session.query(Redemption).one().state == "released"
    assert find_member(session, shop.id, 5).balance == 1100 and ledger.audit(session) == []


def test_not_enough_points_is_409_and_stores_nothing(client, session, shop, fake):
    enrol(session, shop, 7)
    session.commit()
    response = post(client, "redeem", 7, {"reward_id": reward_id(session, "percentage"), "idempotency_key": "k-000001"})
    assert response.status_code == 409 and response.json["error"] == "insufficient_points"
    assert session.query(Redemption).count() == 0 and fake.requests == []


@pytest.mark.parametrize(("body", "status"), [({"reward_id": -1, "idempotency_key": "click-0003"}, 400),
                                              ({"reward_id": "1", "idempotency_key": "click-0003"}, 400),
                                              ({"reward_id": 1, "idempotency_key": "x"}, 400),
                                              ({"reward_id": 2**63, "idempotency_key": "click-0003"}, 400),
                                              ({"reward_id": 999, "idempotency_key": "click-0003"}, 404)])
def test_bad_redeem_input(client, session, shop, member, body, status):
    assert post(client, "redeem", 5, body).status_code == status
    assert session.query(Redemption).count() == 0


@pytest.mark.parametrize("customer_id", [2**63, 10**30])
def test_a_customer_id_out_of_range_is_400_not_500(client, shop, customer_id):
    assert get(client, "me", customer_id).status_code == 400
    assert post(client, "redeem", customer_id, {"reward_id": 1, "idempotency_key": "click-0005"}).status_code == 400


def test_redemptions_are_rate_limited_per_shopper(app, client, session, shop, member, fake):
    """Each try costs a Shopify call: past the limit a shopper gets 429 and nothing is reserved or debited."""
    app.config["REDEEM_RATE_LIMIT"] = "2 per minute"
    from loyalty_app import rate_limits

    rate_limits.init_app(app)
    fake.answer({"discountCodeBasicCreate": CREATED}).answer({"discountCodeBasicCreate": CREATED})
    cheap = reward_id(session, "fixed_amount")
    for n in range(2):
        assert post(client, "redeem", 5, {"reward_id": cheap, "idempotency_key": f"click-10{n}0"}).status_code == 200
    limited = post(client, "redeem", 5, {"reward_id": cheap, "idempotency_key": "click-1030"})
    assert limited.status_code == 429 and limited.json["error"] == "rate_limited"
    assert session.query(Redemption).count() == 2 and len(fake.requests) == 2
    # another shopper of the shop is not held back by this one
    assert post(client, "redeem", 6, {"reward_id": cheap, "idempotency_key": "click-1040"}).status_code != 429


def test_guest_cannot_redeem(client, shop):
    assert post(client, "redeem", None, {"reward_id": 1, "idempotency_key": "click-0004"}).status_code == 401


def test_customer_id_in_body_is_ignored(client, session, shop, member, fake):
    enrol(session, shop, 8)
    session.commit()
    response = post(client, "redeem", 8, {"reward_id": reward_id(session, "fixed_amount"),
                                          "idempotency_key": "click-0005", "customer_id": 5})
    assert response.status_code == 409
    assert find_member(session, shop.id, 5).balance == 1100


@pytest.fixture
def admin():
    """An Admin client for the shop that retries once and never sleeps."""
    return AdminClient(SHOP_DOMAIN, "t", api_version="2026-10", max_retries=1, sleep=lambda _: None)


def usage(count):
    """Shopify's answer to DiscountUsage for a basic code used ``count`` times."""
    return {"codeDiscountNode": {"codeDiscount": {"__typename": "DiscountCodeBasic", "asyncUsageCount": count}}}


def redeemed(app, session, fake):
    """Customer 5 redeems the fixed-amount reward, whose codes expire after 30 days (balance 1100 → 600)."""
    fake.answer({"discountCodeBasicCreate": CREATED})
    reward = session.get(Reward, reward_id(session, "fixed_amount"))
    reward.expires_after_days = 30
    session.commit()
    response = post(app.test_client(), "redeem", 5, {"reward_id": reward.id, "idempotency_key": "click-0006"})
    assert response.status_code == 200
    return session.query(Redemption).one()


def released(session):
    return session.query(LedgerEntry).filter_by(kind="release").count()


def test_expired_unused_codes_are_deactivated_and_refunded(app, session, shop, member, fake, admin):
    code = redeemed(app, session, fake)
    fake.answer(usage(0)).answer({"discountCodeDeactivate": CREATED})
    assert redemptions.expire_codes(session, shop, admin, now=utcnow() + timedelta(days=29)) == 0
    # Expired minutes ago: Shopify's count and the order's webhook may still be catching up.
    assert redemptions.expire_codes(session, shop, admin, now=code.expires_at + timedelta(minutes=10)) == 0
    assert len(fake.requests) == 1  # the code's creation only
    assert redemptions.expire_codes(session, shop, admin, now=utcnow() + timedelta(days=31)) == 1
    asked = fake.requests[1:]
    assert [r["variables"] for r in asked] == [{"id": "gid://shopify/DiscountCodeNode/9"}] * 2
    assert ["query DiscountUsage" in r["query"] for r in asked] == [True, False]
    assert session.query(Redemption).one().state == "expired"
    assert find_member(session, shop.id, 5).balance == 1100


def test_a_code_used_in_orders_paid_never_returns_its_points(app, session, shop, member, fake, admin, deliver):
    code = redeemed(app, session, fake)
    deliver("orders/paid", simple_order(2, 5, "10.00", discount_codes=[
        {"code": code.code.lower(), "amount": "5.00", "type": "fixed_amount"}]))
    event = session.query(WebhookEvent).one()
    assert event.result == "earned 12; 1 code(s) used"  # Silver: 10 × 1.25
    assert redemptions.expire_codes(session, shop, admin, now=utcnow() + timedelta(days=31)) == 0
    session.refresh(code)
    assert (code.state, code.order_id) == ("used", 2)
    assert len(fake.requests) == 1  # the code's creation only: nothing to ask about a code known used
    assert released(session) == 0 and find_member(session, shop.id, 5).balance == 600  # the 12 are pending


def test_orders_create_marks_the_code_used_when_the_shop_earns_on_paid(app, session, shop, member, fake, deliver):
    code = redeemed(app, session, fake)
    deliver("orders/create", simple_order(2, 5, "10.00", financial_status="pending", discount_codes=[
        {"code": code.code, "amount": "5.00", "type": "fixed_amount"}]))
    assert session.query(WebhookEvent).one().result == "ignored: the shop earns on orders/paid; 1 code(s) used"
    session.refresh(code)
    assert (code.state, code.order_id) == ("used", 2)


def test_a_code_shopify_reports_used_keeps_its_points_spent(app, session, shop, member, fake, admin):
    """The order's webhook never reached us, but Shopify counted the use: no release."""
    code = redeemed(app, session, fake)
    fake.answer(usage(1))
    assert redemptions.expire_codes(session, shop, admin, now=utcnow() + timedelta(days=31)) == 1
    session.refresh(code)
    assert code.state == "used" and code.used_at is not None
    assert len(fake.requests) == 2  # created, then asked; a used single-use code needs no deactivation
    assert released(session) == 0 and find_member(session, shop.id, 5).balance == 600


@pytest.mark.parametrize("failure, tries", [
    ({"status": 503}, 2), ({"raise_exc": requests.Timeout("read timed out")}, 2),
    ({"errors": [{"message": "Internal error"}]}, 1),
])
def test_shopify_unreachable_keeps_the_code_for_the_next_run(app, session, shop, member, fake, admin, failure, tries):
    code = redeemed(app, session, fake)
    for _ in range(tries):  # the client retries a 5xx or a timeout once
        fake.answer(**failure)
    assert redemptions.expire_codes(session, shop, admin, now=utcnow() + timedelta(days=31)) == 0
    session.refresh(code)
    assert code.state == "active" and released(session) == 0
    assert find_member(session, shop.id, 5).balance == 600
    fake.answer(usage(0)).answer({"discountCodeDeactivate": CREATED})  # the next hour, Shopify answers
    assert redemptions.expire_codes(session, shop, admin, now=utcnow() + timedelta(days=31)) == 1
    assert find_member(session, shop.id, 5).balance == 1100


def test_a_discount_deleted_in_shopify_expires_without_release(app, session, shop, member, fake, admin):
    code = redeemed(app, session, fake)
    fake.answer({"codeDiscountNode": None})
    assert redemptions.expire_codes(session, shop, admin, now=utcnow() + timedelta(days=31)) == 1
    session.refresh(code)
    assert code.state == "expired" and "usage unknown" in code.error
    assert released(session) == 0 and find_member(session, shop.id, 5).balance == 600


def test_stale_reservations_are_settled_by_what_shopify_holds(session, shop, member, fake, admin):
    found, _ = redemptions.reserve(session, shop, member.id, reward_id(session, "fixed_amount"), "crash-01")
    gone, _ = redemptions.reserve(session, shop, member.id, reward_id(session, "fixed_amount"), "crash-02")
    session.commit()
    assert find_member(session, shop.id, 5).balance == 100
    assert redemptions.settle_reservations(session, shop, admin, timedelta(minutes=2)) == 0  # too fresh to judge
    fake.answer(FOUND).answer({"codeDiscountNodeByCode": None})
    later = utcnow() + timedelta(minutes=3)
    assert redemptions.settle_reservations(session, shop, admin, timedelta(minutes=2), now=later) == 2
    session.expire_all()
    assert [v["code"] for v in fake.sent("DiscountCodeLookup")] == [found.code, gone.code]
    assert {r.id: r.state for r in session.query(Redemption)} == {found.id: "active", gone.id: "released"}
    assert find_member(session, shop.id, 5).balance == 600 and ledger.audit(session) == []


def test_settling_waits_when_shopify_cannot_answer(session, shop, member, fake, admin):
    redemptions.reserve(session, shop, member.id, reward_id(session, "fixed_amount"), "crash-03")
    session.commit()
    for _ in range(4):
        fake.answer(status=503)
    assert redemptions.settle_reservations(session, shop, admin, timedelta(minutes=2),
                                           now=utcnow() + timedelta(minutes=3)) == 0
    assert session.query(Redemption).one().state == "reserved"
    assert find_member(session, shop.id, 5).balance == 600


def seed_member(app, points, reward_kind):
    """An installed shop with customer 5 holding ``points``; returns the id of the reward of ``reward_kind``."""
    with app.app_context():
        session = db.session()
        shop = install_shop(session, SHOP_DOMAIN, "t", app.extensions["token_box"])
        member, _ = enrol(session, shop, 5)
        ledger.post(session, member.id, amount=points, kind="adjust", key="seed", source="test")
        session.commit()
        return session.query(Reward).filter_by(kind=reward_kind).one().id


@pytest.mark.integration
def test_concurrent_redemptions_exactly_one_succeeds(pg_app):
    reward = seed_member(pg_app, 1000, "free_shipping")  # 750 points: only one fits
    results = []
    with responses.RequestsMock() as rsps:
        fake = FakeAdmin(rsps)
        for _ in range(4):
            fake.answer({"discountCodeFreeShippingCreate": CREATED})
        barrier = threading.Barrier(4)

        def click(n):
            client = pg_app.test_client()
            barrier.wait()
            results.append(post(client, "redeem", 5, {"reward_id": reward, "idempotency_key": f"tab-{n:06d}"}).status_code)

        threads = [threading.Thread(target=click, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(results) == [200, 409, 409, 409]
    with pg_app.app_context():
        session = db.session()
        assert find_member(session, 1, 5).balance == 250
        assert ledger.audit(session) == []


@pytest.mark.integration
def test_double_click_with_one_key_debits_once(pg_app):
    reward = seed_member(pg_app, 2000, "fixed_amount")
    results = []
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake = FakeAdmin(rsps)
        for _ in range(2):
            fake.answer({"discountCodeBasicCreate": CREATED})
        barrier = threading.Barrier(2)

        def click():
            client = pg_app.test_client()
            barrier.wait()
            response = post(client, "redeem", 5, {"reward_id": reward, "idempotency_key": "same-click"})
            results.append((response.status_code, response.json["code"]))

        threads = [threading.Thread(target=click) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(fake.requests) == 1
    assert results[0] == results[1] and results[0][0] == 200
    with pg_app.app_context():
        assert find_member(db.session(), 1, 5).balance == 1500
