"""Each topic end to end through /webhooks (inline jobs), on Shopify's published bodies."""
from datetime import timedelta

from loyalty_app.models import (
    DataRequest, LedgerEntry, Member, OrderRecord, Redemption, Shop, WebhookEvent, utcnow,
)
from loyalty_app.services import inbox
from loyalty_app.services.members import find_member
from tests.helpers import cancelled_order, payload, simple_customer, simple_order, simple_refund
from webhooks.handlers import HANDLERS


def store_batch(session, deliveries, now=None):
    return inbox.store_many(session.connection().connection, session.get_bind().dialect, deliveries, now)


def store(session, delivery, now=None):
    return store_batch(session, [delivery], now)[0]


def results(session):
    session.expire_all()
    return [(e.topic, e.status, e.result) for e in session.query(WebhookEvent).order_by(WebhookEvent.id)]


def test_order_refund_cancel_with_shopify_samples(deliver, session, shop):
    deliver("orders/paid", payload("rest-2026-07/order_450789469.json"))
    refund = payload("rest-2026-07/refund_509562969.json")
    deliver("refunds/create", refund)
    deliver("orders/cancelled", payload("rest-2026-07/order_450789469_cancel.json"))
    member = find_member(session, shop.id, 207119551)
    session.refresh(member)
    entries = {e.idempotency_key: e.amount for e in session.query(LedgerEntry)}
    # 597 earned; the sample refund returns lines of 195.66 and 195.67 (tax not included)
    # => 391.33 / 597 of 597 points, 391; the cancellation reverses the other 206. The Silver bonus stays.
    assert entries["order:450789469"] == 597
    assert entries[f"refund:{refund['id']}"] == -391
    assert entries["cancel:450789469"] == -206
    assert member.balance == 100


def test_orders_create_earns_only_when_configured_and_paid(deliver, session, shop):
    deliver("orders/create", simple_order(1, 5, "100.00", financial_status="paid"))
    shop.settings = {**shop.settings, "earn_on": "orders/create"}
    session.commit()
    deliver("orders/create", simple_order(2, 5, "100.00", financial_status="pending"))
    deliver("orders/create", simple_order(3, 5, "100.00", financial_status="paid"))
    assert [r[2] for r in results(session)] == [
        "ignored: the shop earns on orders/paid", "ignored: not paid yet", "earned 100"]


def test_customer_create_enrols_with_signup_bonus(deliver, session, shop):
    customer = simple_customer(state="enabled")  # signed up on the storefront after the app was installed
    deliver("customers/create", customer)
    deliver("customers/update", dict(customer, first_name="Roberta"))
    member = find_member(session, shop.id, customer["id"])
    session.refresh(member)
    assert (member.email, member.first_name, member.balance) == (customer["email"].lower(), "Roberta", 100)
    assert [r[2] for r in results(session)] == ["enrolled, signup bonus", "updated"]


def test_customer_birthday_from_tag(deliver, session, shop):
    shop.settings = {**shop.settings, "birthday_source": "tag"}
    session.commit()
    customer = payload("rest-2026-07/customer_207119551.json")
    customer["tags"] = "vip, birthday:1990-05-17"
    deliver("customers/create", customer)
    assert str(find_member(session, shop.id, customer["id"]).birthday) == "1990-05-17"


def test_guest_order_credited_when_customer_signs_up(deliver, session, shop):
    shop.settings = {**shop.settings, "credit_guest_orders": True}
    session.commit()
    deliver("orders/paid", simple_order(9, None, "80.00", email="bob.norman@mail.example.com"))
    deliver("customers/create", simple_customer(state="enabled"))
    assert results(session)[-1][2] == "enrolled, signup bonus, guest orders 80"


def test_orders_updated_marks_our_codes_used(deliver, session, shop):
    member = Member(shop_id=shop.id, customer_id=5, balance=0, pending=0, lifetime=0)
    session.add(member)
    session.flush()
    session.add(Redemption(shop_id=shop.id, member_id=member.id, idempotency_key="k", code="LOYAL-AAAA-BBBB",
                           cost=500, state="active"))
    session.commit()
    deliver("orders/updated", simple_order(1, 5, "10.00", discount_codes=[
        {"code": "loyal-aaaa-bbbb", "amount": "5.00", "type": "fixed_amount"}]))
    redemption = session.query(Redemption).one()
    session.refresh(redemption)
    assert (redemption.state, redemption.order_id) == ("used", 1)


def test_app_uninstalled_drops_token_and_stops_processing(deliver, session, shop):
    deliver("app/uninstalled", payload("rest-2026-07/shop.json"))
    session.refresh(shop)
    assert shop.uninstalled_at is not None and shop.access_token_encrypted is None
    deliver("orders/paid", simple_order(1, 5, "100.00"))
    assert results(session)[-1] == ("orders/paid", "ignored", "shop is uninstalled")


def test_compliance_topics(deliver, session, shop):
    deliver("orders/paid", simple_order(299938, 191167, "50.00"))
    request = payload("compliance/customers_data_request.json")
    deliver("customers/data_request", request)
    report = session.query(DataRequest).one().report
    assert report["member"]["balance"] == 50 and report["member"]["ledger"][0]["kind"] == "earn"

    deliver("app/uninstalled", payload("rest-2026-07/shop.json"))
    deliver("customers/redact", payload("compliance/customers_redact.json"))  # arrives after uninstall
    member = session.query(Member).one()
    session.refresh(member)
    assert (member.email, member.customer_id, member.balance) == (None, -member.id, 50)
    assert session.query(OrderRecord).one().email is None
    assert session.query(DataRequest).count() == 0

    deliver("shop/redact", payload("compliance/shop_redact.json"))
    session.expire_all()
    assert session.query(Shop).count() == 0 and session.query(Member).count() == 0
    assert all(e.body is None for e in session.query(WebhookEvent))
    assert results(session)[-1] == ("shop/redact", "processed", "shop deleted")


def test_a_batch_is_stored_once_per_webhook_id_with_each_shop_resolved(app, session, shop):
    def delivery(webhook_id, domain=shop.domain):
        return inbox.Delivery("orders/paid", domain, webhook_id, b'{"id": 1}')

    first = store_batch(session, [delivery("a")])
    session.commit()
    stored = store_batch(session, [
        delivery("a"), delivery("b"), delivery("b"), delivery("b", "stranger.myshopify.com"), delivery("c")])
    session.commit()
    assert first[0] is not None and stored[0] is None and stored[2] is None  # replayed, before and within the batch
    assert [(s.status if s else None) for s in stored] == [None, "received", None, "ignored", "received"]
    rows = {(e.shop_domain, e.webhook_id): e for e in session.query(WebhookEvent)}
    assert {key: (e.status, e.result) for key, e in rows.items()} == {
        (shop.domain, "a"): ("received", None), (shop.domain, "b"): ("received", None),
        ("stranger.myshopify.com", "b"): ("ignored", "unknown shop"), (shop.domain, "c"): ("received", None)}
    assert [s.id for s in stored if s] == [rows[shop.domain, "b"].id, rows["stranger.myshopify.com", "b"].id,
                                           rows[shop.domain, "c"].id]


def test_transient_failure_retries_with_backoff_then_succeeds(app, session, shop, monkeypatch):
    delivery = inbox.Delivery("orders/paid", shop.domain, "t-1", b'{"id": 1}')
    event = session.get(WebhookEvent, store(session, delivery).id)
    session.commit()
    calls = []

    def flaky(session_, shop_, payload_, event_):
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError("database went away")
        return "ok"

    handlers = {**HANDLERS, "orders/paid": flaky}
    now = utcnow()
    for attempt in range(1, 3):
        assert inbox.claim(session, 10, now) == [event.id]
        assert inbox.process(session, event.id, handlers, max_attempts=5, now=now) == "received"
        session.refresh(event)
        assert event.attempts == attempt and event.error == "ConnectionError: database went away"
        assert inbox.claim(session, 10, now) == []  # not due before its backoff
        now = event.next_attempt_at + timedelta(seconds=1)
    assert inbox.claim(session, 10, now) == [event.id]
    assert inbox.process(session, event.id, handlers, max_attempts=5, now=now) == "processed"


def test_transient_failure_gives_up_after_max_attempts(app, session, shop):
    event = session.get(WebhookEvent, store(session, inbox.Delivery("orders/paid", shop.domain, "t-2",
                                                                          b'{"id": 1}')).id)
    session.commit()

    def broken(*_):
        raise RuntimeError("still broken")

    now = utcnow()
    for _ in range(3):
        now += timedelta(hours=1)
        inbox.claim(session, 10, now)
        status = inbox.process(session, event.id, {"orders/paid": broken}, max_attempts=3, now=now)
    assert status == "failed"
    session.refresh(event)
    assert (event.attempts, event.error) == (3, "RuntimeError: still broken")


def test_sweeper_hands_back_a_dead_workers_claim(app, session, shop):
    stored = store(session, inbox.Delivery("orders/paid", shop.domain, "t-3", b'{"id": 1}'),
                         now=utcnow() - timedelta(hours=1))
    event = session.get(WebhookEvent, stored.id)
    session.commit()
    inbox.claim(session, 10, utcnow() - timedelta(hours=1))  # claimed, then the worker died
    assert inbox.sweep(session, claim_timeout=30, grace_seconds=120) == inbox.Swept(released=1, overdue=1)
    session.refresh(event)
    assert event.status == "received"


def test_a_failing_event_in_a_batch_fails_alone(app, session, shop):
    ids = [store(session, inbox.Delivery("orders/paid", shop.domain, f"b-{i}", body)).id
           for i, body in enumerate([b'{"id": 1}', b'{"id": -1}', b'{"id": 3}'])]
    session.commit()
    claimed = inbox.claim(session, 10)
    assert claimed == ids

    def handler(session_, shop_, payload_, event_):
        if payload_["id"] < 0:
            raise inbox.PayloadError("id must be positive")
        return f"ok {payload_['id']}"

    inbox.process_batch(session, claimed, {"orders/paid": handler}, max_attempts=5)
    session.expire_all()
    assert [(e.status, e.result, e.error) for e in session.query(WebhookEvent).order_by(WebhookEvent.id)] == [
        ("processed", "ok 1", None), ("failed", None, "PayloadError: id must be positive"), ("processed", "ok 3", None)]


def test_refund_before_paid_over_http(deliver, session, shop):
    deliver("refunds/create", simple_refund(11, 1, "25.00"))
    deliver("orders/cancelled", cancelled_order(1))
    deliver("orders/paid", simple_order(1, 5, "100.00"))
    assert find_member(session, shop.id, 5).balance == 0
    assert [r[2] for r in results(session)] == ["held: order has not earned yet", "held: order has not earned yet",
                                                "earned 100"]
