"""Store credit rewards through the app proxy: atomic with the ledger, credited once, refused, or unavailable.

Shopify is the schema-validating fake Admin (tests/fake_admin.py): every credit, lookup and
configuration query the app sends is checked against the 2026-10 schema.
"""
from datetime import timedelta
from decimal import Decimal

import pytest
import requests
import responses

from loyalty_app import ledger
from loyalty_app.models import LedgerEntry, Redemption, Reward, StoreCreditGrant, utcnow
from loyalty_app.services import orders, store_credit
from loyalty_app.services.members import find_member
from loyalty_app.services.shops import install_shop, update_settings
from loyalty_app.shopify.client import AdminClient
from tests.conftest import SHOP_DOMAIN
from tests.fake_admin import FakeAdmin
from tests.helpers import proxy_query, simple_order

TRANSACTION = "gid://shopify/StoreCreditAccountCreditTransaction/77"


def post(client, customer_id, body):
    return client.post("/proxy/redeem", query_string=proxy_query(customer_id), json=body)


def credited(transaction_id=TRANSACTION, amount="10.0"):
    return {"storeCreditAccountCredit": {"storeCreditAccountTransaction": {
        "id": transaction_id, "amount": {"amount": amount, "currencyCode": "USD"}}, "userErrors": []}}


def refused(code, message="refused"):
    return {"storeCreditAccountCredit": {"storeCreditAccountTransaction": None, "userErrors": [
        {"field": ["creditInput", "creditAmount"], "message": message, "code": code}]}}


def account(*transactions):
    """StoreCreditTransactions' answer: one USD account holding ``transactions`` (newest first)."""
    return {"customer": {"storeCreditAccounts": {"nodes": [{
        "id": "gid://shopify/StoreCreditAccount/3", "balance": {"amount": "10.0", "currencyCode": "USD"},
        "transactions": {"nodes": list(transactions)}}]}}}


def credit_node(transaction_id, amount, created_at, expires_at=None):
    return {"__typename": "StoreCreditAccountCreditTransaction", "id": transaction_id, "expiresAt": expires_at,
            "createdAt": created_at.isoformat().replace("+00:00", "Z"),
            "amount": {"amount": amount, "currencyCode": "USD"}}


@pytest.fixture
def fake():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield FakeAdmin(rsps)


def store_credit_is(fake, enabled):
    fake.serve("StoreCreditConfiguration", lambda _: {"storeCreditConfiguration": {"storeCreditEnabled": enabled}})


@pytest.fixture
def member(session, shop):
    orders.record_paid_order(session, shop, simple_order(1, 5, "1000.00"))  # 1000 + Silver bonus 100
    session.commit()
    return find_member(session, shop.id, 5)


@pytest.fixture
def reward(session, shop):
    created = Reward(shop_id=shop.id, name="10 in store credit", kind="store_credit", cost=500, value=Decimal("10"))
    session.add(created)
    session.commit()
    return created.id


def balance(session, shop):
    session.expire_all()
    return find_member(session, shop.id, 5).balance


def test_redeem_credits_store_credit_and_debits_once(client, session, shop, member, reward, fake):
    store_credit_is(fake, True)
    fake.answer(credited())
    body = {"reward_id": reward, "idempotency_key": "credit-0001"}
    first = post(client, 5, body)
    assert first.status_code == 201, first.json
    assert (first.json["kind"], first.json["amount"], first.json["currency"]) == ("store_credit", "10.00", "USD")
    assert first.json["state"] == "credited" and first.json["balance"] == 600
    [sent] = fake.sent("StoreCreditAccountCredit")
    assert sent == {"id": "gid://shopify/Customer/5",
                    "creditInput": {"creditAmount": {"amount": "10.00", "currencyCode": "USD"}, "notify": True}}

    replay = post(client, 5, body)
    assert (replay.status_code, replay.json["id"], replay.json["balance"]) == (200, first.json["id"], 600)
    assert len(fake.sent("StoreCreditAccountCredit")) == 1
    grant = session.query(StoreCreditGrant).one()
    assert (grant.state, grant.transaction_id, grant.kind) == ("sent", TRANSACTION, "reward")
    assert session.query(LedgerEntry).filter_by(kind="redeem").count() == 1
    assert client.get("/proxy/codes", query_string=proxy_query(5)).json["codes"] == []  # no code to show
    assert ledger.audit(session) == []


def test_notify_and_expiry_follow_the_settings(client, session, shop, member, reward, fake):
    update_settings(shop, {"store_credit_notify": False, "store_credit_expiry_days": 30})
    session.commit()
    store_credit_is(fake, True)
    fake.answer(credited())
    response = post(client, 5, {"reward_id": reward, "idempotency_key": "credit-0002"})
    assert response.status_code == 201
    [sent] = fake.sent("StoreCreditAccountCredit")
    assert sent["creditInput"]["notify"] is False
    expires = sent["creditInput"]["expiresAt"]
    assert expires == response.json["expires_at"] and expires.startswith(
        (utcnow() + timedelta(days=30)).date().isoformat())


def test_a_timeout_after_the_credit_landed_takes_that_credit(client, session, shop, member, reward, fake):
    """The credit timed out but Shopify made it: found among the account's transactions, never sent again."""
    store_credit_is(fake, True)
    fake.answer(raise_exc=requests.ReadTimeout("Shopify is slow"))
    fake.answer(account(credit_node(TRANSACTION, "10.0", utcnow())))
    response = post(client, 5, {"reward_id": reward, "idempotency_key": "credit-0003"})
    assert response.status_code == 201 and response.json["state"] == "credited"
    assert len(fake.sent("StoreCreditAccountCredit")) == 1
    assert fake.sent("StoreCreditTransactions") == [{"customerId": "gid://shopify/Customer/5"}]
    assert session.query(StoreCreditGrant).one().transaction_id == TRANSACTION
    assert balance(session, shop) == 600 and ledger.audit(session) == []


def test_a_timeout_before_the_credit_landed_sends_it_again_once(client, session, shop, member, reward, fake):
    """Nothing landed: the credit is sent a second time, and only then; an older credit of the same amount
    (before this redemption) or one another grant already owns is not taken for it."""
    store_credit_is(fake, True)
    fake.answer(raise_exc=requests.ReadTimeout("Shopify is slow"))
    fake.answer(account(credit_node("gid://shopify/StoreCreditAccountCreditTransaction/1", "10.0",
                                    utcnow() - timedelta(days=2))))
    fake.answer(credited())
    response = post(client, 5, {"reward_id": reward, "idempotency_key": "credit-0004"})
    assert response.status_code == 201 and response.json["state"] == "credited"
    first, second = fake.sent("StoreCreditAccountCredit")
    assert first == second
    assert session.query(StoreCreditGrant).one().transaction_id == TRANSACTION
    assert balance(session, shop) == 600 and ledger.audit(session) == []


def test_when_shopify_cannot_say_the_points_stay_reserved_until_it_can(client, session, shop, member, reward, fake):
    """Unknown is never failure: 202; a retried click waits on the same redemption; the settle job then finds
    the credit among the transactions and confirms it (points debited once, nothing released)."""
    store_credit_is(fake, True)
    fake.answer(raise_exc=requests.ReadTimeout("Shopify is slow")).answer(status=503)
    body = {"reward_id": reward, "idempotency_key": "credit-0005"}
    response = post(client, 5, body)
    assert response.status_code == 202 and response.json["state"] == "reserved"
    assert balance(session, shop) == 600

    again = post(client, 5, body)  # the shopper clicks again: the same redemption, no second credit
    assert again.status_code == 202 and again.json["id"] == response.json["id"]
    assert len(fake.sent("StoreCreditAccountCredit")) == 1

    fake.answer(account(credit_node(TRANSACTION, "10.0", utcnow())))
    admin = AdminClient(SHOP_DOMAIN, "t", api_version="2026-10", max_retries=0, sleep=lambda _: None)
    assert store_credit.settle_reservations(session, shop, lambda: admin, timedelta(minutes=2),
                                            now=utcnow() + timedelta(minutes=3)) == 1
    session.expire_all()
    assert session.query(Redemption).one().state == "credited"
    assert session.query(StoreCreditGrant).one().transaction_id == TRANSACTION
    assert session.query(LedgerEntry).filter_by(kind="release").count() == 0
    assert balance(session, shop) == 600 and ledger.audit(session) == []


def test_a_reservation_shopify_never_credited_is_released(client, session, shop, member, reward, fake):
    store_credit_is(fake, True)
    fake.answer(raise_exc=requests.ReadTimeout("slow")).answer(raise_exc=requests.ConnectionError("gone"))
    assert post(client, 5, {"reward_id": reward, "idempotency_key": "credit-0006"}).status_code == 202
    fake.answer(account())
    admin = AdminClient(SHOP_DOMAIN, "t", api_version="2026-10", max_retries=0, sleep=lambda _: None)
    assert store_credit.settle_reservations(session, shop, lambda: admin, timedelta(minutes=2)) == 0  # too fresh
    assert store_credit.settle_reservations(session, shop, lambda: admin, timedelta(minutes=2),
                                            now=utcnow() + timedelta(minutes=3)) == 1
    session.expire_all()
    assert session.query(Redemption).one().state == "released"
    assert session.query(StoreCreditGrant).one().state == "failed"
    assert balance(session, shop) == 1100 and ledger.audit(session) == []


def test_shopify_refusing_the_credit_returns_the_points(client, session, shop, member, reward, fake):
    store_credit_is(fake, True)
    fake.answer(refused("CREDIT_LIMIT_EXCEEDED", "The operation would exceed the credit limit"))
    response = post(client, 5, {"reward_id": reward, "idempotency_key": "credit-0007"})
    assert response.status_code == 502 and response.json["error"] == "shopify_failed"
    assert len(fake.sent("StoreCreditAccountCredit")) == 1
    assert session.query(Redemption).one().state == "released"
    assert session.query(StoreCreditGrant).one().state == "failed"
    kinds = sorted((e.kind, e.amount) for e in session.query(LedgerEntry).filter(
        LedgerEntry.kind.in_(["redeem", "release"])))
    assert kinds == [("redeem", -500), ("release", 500)]
    assert balance(session, shop) == 1100 and ledger.audit(session) == []


def test_store_credit_off_offers_the_code_reward_and_reserves_nothing(client, session, shop, member, reward, fake):
    store_credit_is(fake, False)
    response = post(client, 5, {"reward_id": reward, "idempotency_key": "credit-0008"})
    assert response.status_code == 409 and response.json["error"] == "store_credit_unavailable"
    fallback = session.get(Reward, response.json["fallback_reward_id"])
    assert (fallback.kind, fallback.value) == ("fixed_amount", Decimal("5"))  # the amount-off code reward
    assert fake.sent("StoreCreditAccountCredit") == []
    assert session.query(Redemption).count() == 0 and balance(session, shop) == 1100


def test_no_account_for_the_customer_returns_the_points_and_offers_the_code_reward(client, session, shop, member,
                                                                                    reward, fake):
    store_credit_is(fake, True)
    fake.answer(refused("OWNER_NOT_FOUND", "Owner does not exist"))
    response = post(client, 5, {"reward_id": reward, "idempotency_key": "credit-0009"})
    assert response.status_code == 409 and response.json["error"] == "store_credit_unavailable"
    assert session.get(Reward, response.json["fallback_reward_id"]).kind == "fixed_amount"
    assert session.query(Redemption).one().state == "released"
    assert balance(session, shop) == 1100 and ledger.audit(session) == []


def test_not_enough_points_is_409(client, session, shop, reward, fake):
    store_credit_is(fake, True)
    response = post(client, 404, {"reward_id": reward, "idempotency_key": "credit-0010"})
    assert response.status_code == 409 and response.json["error"] == "insufficient_points"
    assert fake.sent("StoreCreditAccountCredit") == []


def test_another_shops_store_credit_reward_is_404(app, client, session, shop, member, fake):
    other = install_shop(session, "other-shop.myshopify.com", "shpat_other", app.extensions["token_box"],
                         scopes="read_orders", currency="USD")
    session.flush()
    theirs = Reward(shop_id=other.id, name="Theirs", kind="store_credit", cost=10, value=Decimal("50"))
    session.add(theirs)
    session.commit()
    response = post(client, 5, {"reward_id": theirs.id, "idempotency_key": "credit-0011"})
    assert response.status_code == 404 and response.json["error"] == "unknown_reward"
    assert fake.requests == [] and balance(session, shop) == 1100


def test_an_inactive_store_credit_reward_is_404(client, session, shop, member, reward, fake):
    session.get(Reward, reward).active = False
    session.commit()
    response = post(client, 5, {"reward_id": reward, "idempotency_key": "credit-0012"})
    assert response.status_code == 404 and fake.requests == []


def test_a_failed_look_for_the_timed_out_credit_is_unknown_never_a_refusal(client, session, shop, member, reward,
                                                                           fake):
    """The lookup itself is refused (a scope the merchant has not granted yet): the credit may have landed, so
    the points stay reserved for the settle job instead of coming back."""
    store_credit_is(fake, True)
    fake.answer(raise_exc=requests.ReadTimeout("Shopify is slow"))
    fake.answer({"customer": None}, errors=[{"message": "Access denied for storeCreditAccounts field.",
                                             "extensions": {"code": "ACCESS_DENIED"}}])
    response = post(client, 5, {"reward_id": reward, "idempotency_key": "credit-0013"})
    assert response.status_code == 202 and response.json["state"] == "reserved"
    assert len(fake.sent("StoreCreditAccountCredit")) == 1
    assert session.query(LedgerEntry).filter_by(kind="release").count() == 0 and balance(session, shop) == 600
