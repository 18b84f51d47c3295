"""Cashback: orders pay store credit instead of points, sent by a job, taken back on refunds by the points' maths.

Webhooks go through the real intake (jobs inline, as the embedded default runs them); Shopify is
the schema-validating fake Admin. The refund is Shopify's own sample (refund_509562969.json)
against its own sample order (order_450789469.json).
"""
from datetime import timedelta
from decimal import Decimal

import pytest
import requests
import responses

from loyalty_app.models import LedgerEntry, OrderRecord, StoreCreditGrant, utcnow
from loyalty_app.program.reversal import reversal_target
from loyalty_app.program.store_credit import cashback_cents, to_cents
from loyalty_app.services import orders, store_credit
from loyalty_app.services.members import find_member
from loyalty_app.services.shops import update_settings
from loyalty_app.shopify.client import AdminClient
from tests.conftest import SHOP_DOMAIN
from tests.fake_admin import FakeAdmin
from tests.helpers import payload, simple_order, simple_refund

CUSTOMER = 207119551  # the sample order's customer
ORDER = 450789469


@pytest.fixture
def fake():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield FakeAdmin(rsps)


@pytest.fixture
def cashback_shop(session, shop):
    update_settings(shop, {"earning_mode": "cashback", "cashback_percent": "5"})
    session.commit()
    return shop


def transaction(kind, number, amount):
    root = f"storeCreditAccount{kind.title()}"
    return {root: {"storeCreditAccountTransaction": {
        "id": f"gid://shopify/StoreCreditAccount{kind.title()}Transaction/{number}",
        "amount": {"amount": amount, "currencyCode": "USD"}}, "userErrors": []}}


def grants(session, kind=None):
    session.expire_all()
    query = session.query(StoreCreditGrant).order_by(StoreCreditGrant.id)
    return query.filter_by(kind=kind).all() if kind else query.all()


def admin():
    return AdminClient(SHOP_DOMAIN, "t", api_version="2026-10", max_retries=0, sleep=lambda _: None)


def test_cashback_is_earned_sent_and_reversed_on_a_partial_refund(session, cashback_shop, deliver, fake):
    fake.serve("StoreCreditAccountCredit", lambda v: transaction("credit", 1, v["creditInput"]["creditAmount"]["amount"]))
    fake.serve("StoreCreditAccountDebit", lambda v: transaction("debit", 2, v["debitInput"]["debitAmount"]["amount"]))
    assert deliver("orders/paid", payload("rest-2026-07/order_450789469.json")).status_code == 200

    [credit] = grants(session)
    record = session.query(OrderRecord).filter_by(order_id=ORDER).one()
    assert credit.amount == Decimal("29.85") == Decimal(cashback_cents(record.eligible_amount, Decimal("5"))) / 100
    assert (credit.key, credit.state, credit.transaction_id) == (
        f"cashback:{ORDER}", "sent", "gid://shopify/StoreCreditAccountCreditTransaction/1")
    assert fake.sent("StoreCreditAccountCredit") == [{"id": f"gid://shopify/Customer/{CUSTOMER}", "creditInput": {
        "creditAmount": {"amount": "29.85", "currencyCode": "USD"}, "notify": True}}]
    member = find_member(session, cashback_shop.id, CUSTOMER)
    assert member.balance == 0 and record.points_earned == 0  # store credit instead of points
    assert session.query(LedgerEntry).filter_by(kind="earn").count() == 0

    session.rollback()  # end the test's read, so the webhook's own transaction can write (SQLite)
    refund = payload("rest-2026-07/refund_509562969.json")  # two of the three lines come back
    assert deliver("refunds/create", refund).status_code == 200
    assert deliver("refunds/create", refund).status_code == 200  # a replay takes nothing more
    [debit] = grants(session, "cashback_reversal")
    session.refresh(record)
    expected = reversal_target(2985, record.eligible_amount, record.refunded_amount, False)  # the points' maths
    assert to_cents(debit.amount) == expected
    # the two lines' 195.66 + 195.67 of 597.00 eligible came back: 29.85 × 391.33 / 597 = 19.5665 → 19.57
    assert (record.refunded_amount, debit.amount) == (Decimal("391.33"), Decimal("19.57"))
    assert (debit.key, debit.state) == (f"cashback-refund:{refund['id']}", "sent")
    assert fake.sent("StoreCreditAccountDebit") == [{"id": f"gid://shopify/Customer/{CUSTOMER}", "debitInput": {
        "debitAmount": {"amount": str(debit.amount), "currencyCode": "USD"}}}]

    session.rollback()
    deliver("orders/cancelled", payload("rest-2026-07/order_450789469_cancel.json"))  # the rest, and no more
    taken = sum(g.amount for g in grants(session, "cashback_reversal"))
    assert taken == Decimal("29.85") and len(fake.sent("StoreCreditAccountDebit")) == 2


def test_partial_refunds_never_take_back_more_than_the_order_paid(session, cashback_shop, fake):
    orders.record_paid_order(session, cashback_shop, simple_order(1, 5, "100.00"))
    for refund_id, amount in ((11, "33.33"), (12, "33.33"), (13, "33.34"), (14, "50.00")):
        orders.record_refund(session, cashback_shop, simple_refund(refund_id, 1, amount))
    session.commit()
    [credit] = grants(session, "cashback")
    debits = grants(session, "cashback_reversal")
    assert credit.amount == Decimal("5.00")
    assert [d.amount for d in debits] == [Decimal("1.67"), Decimal("1.66"), Decimal("1.67")]  # cumulative, no drift
    assert sum(d.amount for d in debits) == credit.amount


def test_a_debit_waits_for_its_credit_and_a_refused_credit_is_never_taken_back(session, cashback_shop, fake):
    orders.record_paid_order(session, cashback_shop, simple_order(1, 5, "100.00"))
    orders.record_refund(session, cashback_shop, simple_refund(11, 1, "50.00"))
    session.commit()
    fake.answer({"storeCreditAccountCredit": {"storeCreditAccountTransaction": None, "userErrors": [
        {"field": ["id"], "message": "Owner does not exist", "code": "OWNER_NOT_FOUND"}]}})
    outcome = store_credit.send_pending(session, cashback_shop, admin)
    assert outcome == {"sent": 0, "failed": 2, "waiting": 0}
    credit, debit = grants(session)
    assert (credit.state, debit.state) == ("failed", "failed")
    assert "never paid" in debit.error and fake.sent("StoreCreditAccountDebit") == []


def test_a_timed_out_credit_is_looked_for_before_it_is_sent_again(session, cashback_shop, fake):
    orders.record_paid_order(session, cashback_shop, simple_order(1, 5, "100.00"))
    session.commit()
    fake.answer(raise_exc=requests.ReadTimeout("Shopify is slow"))
    with pytest.raises(Exception, match="ReadTimeout"):  # raised after committing, so RQ retries the job
        store_credit.send_pending(session, cashback_shop, admin)
    [grant] = grants(session)
    assert (grant.state, grant.attempts) == ("pending", 1)

    landed = utcnow()
    fake.answer({"customer": {"storeCreditAccounts": {"nodes": [{
        "id": "gid://shopify/StoreCreditAccount/3", "balance": {"amount": "5.0", "currencyCode": "USD"},
        "transactions": {"nodes": [{"__typename": "StoreCreditAccountCreditTransaction",
                                    "id": "gid://shopify/StoreCreditAccountCreditTransaction/9", "expiresAt": None,
                                    "createdAt": landed.isoformat(), "amount": {"amount": "5.0",
                                                                                "currencyCode": "USD"}}]}}]}}})
    assert store_credit.send_pending(session, cashback_shop, admin) == {"sent": 1, "failed": 0, "waiting": 0}
    [grant] = grants(session)
    assert (grant.state, grant.transaction_id) == ("sent", "gid://shopify/StoreCreditAccountCreditTransaction/9")
    assert len(fake.sent("StoreCreditAccountCredit")) == 1  # credited once


def test_a_claimed_grant_is_not_sent_by_a_second_sender(session, cashback_shop, fake):
    orders.record_paid_order(session, cashback_shop, simple_order(1, 5, "100.00"))
    session.commit()
    [grant] = grants(session)
    grant.state, grant.attempted_at = "sending", utcnow()  # another worker is calling Shopify for it
    session.commit()
    assert store_credit.send_pending(session, cashback_shop, admin) == {"sent": 0, "failed": 0, "waiting": 0}
    assert fake.requests == []
    assert store_credit.pending_shops(session, utcnow() + timedelta(minutes=11)) == [cashback_shop.id]  # it died


def test_points_mode_records_no_store_credit(session, shop, fake):
    orders.record_paid_order(session, shop, simple_order(1, 5, "100.00"))
    orders.record_refund(session, shop, simple_refund(11, 1, "50.00"))
    orders.cancel_order(session, shop, 1)
    session.commit()
    assert grants(session) == [] and find_member(session, shop.id, 5).balance == 0  # 100 earned, 50 + 50 reversed


def test_cashback_settings_refuse_bad_values(session, shop):
    from marshmallow import ValidationError
    for bad in ({"cashback_percent": "-1"}, {"cashback_percent": "100.5"}, {"cashback_percent": "1.005"},
                {"earning_mode": "coins"}, {"store_credit_expiry_days": 0}, {"store_credit_expiry_days": "7"}):
        with pytest.raises(ValidationError):
            update_settings(shop, bad)


def test_a_data_request_reports_the_customers_store_credit(session, cashback_shop, deliver, fake):
    from loyalty_app.models import DataRequest
    fake.serve("StoreCreditAccountCredit", lambda v: transaction("credit", 1, "2.5"))
    deliver("orders/paid", simple_order(299938, 191167, "50.00"))
    session.rollback()
    deliver("customers/data_request", payload("compliance/customers_data_request.json"))
    report = session.query(DataRequest).one().report
    assert report["member"]["store_credit"] == [{
        "kind": "cashback", "amount": "2.50", "currency": "USD", "state": "sent", "order_id": 299938,
        "created_at": report["member"]["store_credit"][0]["created_at"]}]


def test_explain_shows_the_orders_store_credit(session, cashback_shop, fake):
    from loyalty_app.services.explain import explain_order
    orders.record_paid_order(session, cashback_shop, simple_order(1, 5, "100.00"))
    orders.record_refund(session, cashback_shop, simple_refund(11, 1, "40.00"))
    session.commit()
    text = "\n".join(explain_order(session, cashback_shop, 1).lines_of_text())
    assert "store credit:" in text
    assert "cashback +5.00 USD [cashback:1] pending" in text
    assert "cashback_reversal -2.00 USD [cashback-refund:11] pending" in text
