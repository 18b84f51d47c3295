"""Stored webhook bodies: whom each is about, dropped when a customer asks to be forgotten, kept only for a window."""
import json
from datetime import timedelta

from sqlalchemy import update

from loyalty_app.models import WebhookEvent, utcnow
from loyalty_app.services import inbox
from loyalty_app.services.members import find_member
from tests.helpers import payload, simple_order, simple_refund
from webhooks.handlers import HANDLERS

CUSTOMER = 191167  # Shopify's customers/redact sample: orders_to_redact 299938, 280263, 220458


def stored(session, shop, topic, body, webhook_id, *, processed=False):
    """Store a delivery as the receiver does; ``processed`` files it as processed by the drain of old (no ids)."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    event_id = inbox.store_many(session.connection().connection, session.get_bind().dialect,
                                [inbox.Delivery(topic, shop.domain, webhook_id, raw)])[0].id
    if processed:
        session.execute(update(WebhookEvent).where(WebhookEvent.id == event_id)
                        .values(status="processed", result="earned 1", processed_at=utcnow()))
    session.commit()
    return event_id


def events(session):
    session.expire_all()
    return {e.webhook_id: e for e in session.query(WebhookEvent)}


def test_the_drain_records_which_order_and_customer_each_event_is_about(deliver, session, shop):
    deliver("orders/paid", payload("rest-2026-07/order_450789469.json"), webhook_id="paid")
    deliver("refunds/create", payload("rest-2026-07/refund_509562969.json"), webhook_id="refund")
    deliver("orders/cancelled", payload("rest-2026-07/order_450789469_cancel.json"), webhook_id="cancel")
    deliver("customers/update", payload("rest-2026-07/customer_207119551.json"), webhook_id="customer")
    deliver("customers/data_request", payload("compliance/customers_data_request.json"), webhook_id="request")
    deliver("orders/paid", simple_order(8, None, "10.00"), webhook_id="guest")
    # Bodies the handlers refuse still say whom they are about when they can; a bad one says nothing.
    deliver("orders/paid", simple_order(9, 42, "10.00", line_items=["not an object"]), webhook_id="malformed")
    deliver("orders/paid", {"id": "nine", "customer": {"id": True}}, webhook_id="bad-ids")
    deliver("orders/paid", b"not json", webhook_id="not-json")
    rows = events(session)
    assert {key: (e.status, e.order_id, e.customer_id) for key, e in rows.items()} == {
        "paid": ("processed", 450789469, 207119551), "refund": ("processed", 450789469, None),
        "cancel": ("processed", 450789469, 207119551), "customer": ("processed", None, 207119551),
        "request": ("processed", None, CUSTOMER), "guest": ("processed", 8, None),
        "malformed": ("failed", 9, 42), "bad-ids": ("failed", None, None), "not-json": ("failed", None, None)}


def test_a_retried_event_keeps_whom_it_is_about(app, session, shop):
    event_id = stored(session, shop, "orders/paid", simple_order(5, 6, "10.00"), "flaky")

    def flaky(*_):
        raise ConnectionError("database went away")

    inbox.claim(session, 10)
    assert inbox.process(session, event_id, {"orders/paid": flaky}, max_attempts=5) == "received"
    event = events(session)["flaky"]
    assert (event.order_id, event.customer_id, event.attempts) == (5, 6, 1)


def test_customers_redact_drops_every_body_about_the_customer(deliver, session, shop):
    deliver("orders/paid", simple_order(299938, CUSTOMER, "50.00"), webhook_id="listed")
    deliver("orders/paid", simple_order(31, CUSTOMER, "20.00"), webhook_id="their-other-order")
    deliver("refunds/create", simple_refund(41, 31, "5.00"), webhook_id="refund-of-their-order")
    deliver("orders/paid", simple_order(280263, None, "15.00"), webhook_id="listed-guest-order")
    deliver("customers/update", dict(payload("rest-2026-07/customer_207119551.json"), id=CUSTOMER),
            webhook_id="profile")
    deliver("customers/data_request", payload("compliance/customers_data_request.json"), webhook_id="request")
    deliver("orders/paid", simple_order(32, 7, "20.00"), webhook_id="someone-else")
    deliver("orders/paid", simple_order(33, None, "20.00"), webhook_id="another-guest")
    # Stored before the drain recorded whom events are about: found by reading the body.
    stored(session, shop, "orders/updated", simple_order(220458, CUSTOMER, "9.00"), "old-listed", processed=True)
    stored(session, shop, "orders/updated", simple_order(34, CUSTOMER, "9.00"), "old-theirs", processed=True)
    stored(session, shop, "orders/updated", simple_order(35, 7, "9.00"), "old-someone-else", processed=True)
    stored(session, shop, "orders/updated", b"not json", "old-not-json", processed=True)

    deliver("customers/redact", payload("compliance/customers_redact.json"), webhook_id="redact")

    rows = events(session)
    gone = {"listed", "their-other-order", "refund-of-their-order", "listed-guest-order", "profile", "request",
            "old-listed", "old-theirs", "redact"}
    assert {key for key, e in rows.items() if e.body is None} == gone
    assert rows["redact"].result == f"redacted; {len(gone)} webhook bodies dropped"
    # The rows and their outcomes stay.
    assert (rows["listed"].topic, rows["listed"].status, rows["listed"].result) == ("orders/paid", "processed",
                                                                                  "earned 50")
    assert json.loads(rows["someone-else"].body)["id"] == 32


def test_customers_redact_waits_for_the_customers_events_still_to_be_processed(app, session, shop):
    """Dropping a waiting order's body would lose its points: the redaction is tried again after it."""
    order = stored(session, shop, "orders/paid", simple_order(299938, CUSTOMER, "50.00"), "waiting")
    stored(session, shop, "orders/paid", simple_order(36, 7, "20.00"), "someone-else-waiting")
    redact = stored(session, shop, "customers/redact", payload("compliance/customers_redact.json"), "redact")
    now = utcnow()
    assert inbox.process(session, redact, HANDLERS, max_attempts=3, now=now) == "received"
    rows = events(session)
    assert (rows["redact"].attempts, rows["redact"].next_attempt_at) == (0, now + timedelta(seconds=30))
    assert rows["redact"].error == "waiting for 1 event(s) about the customer to be processed first"
    assert rows["waiting"].body is not None and find_member(session, shop.id, CUSTOMER) is None

    assert inbox.process(session, order, HANDLERS, max_attempts=3) == "processed"
    assert find_member(session, shop.id, CUSTOMER).balance == 50
    assert inbox.process(session, redact, HANDLERS, max_attempts=3, now=now + timedelta(seconds=31)) == "processed"
    rows = events(session)
    assert rows["waiting"].body is None and rows["someone-else-waiting"].body is not None


def test_customers_redact_in_the_same_batch_as_the_customers_order(app, session, shop):
    ids = [stored(session, shop, "orders/paid", simple_order(299938, CUSTOMER, "50.00"), "order"),
           stored(session, shop, "customers/redact", payload("compliance/customers_redact.json"), "redact")]
    assert inbox.claim(session, 10) == ids
    inbox.process_batch(session, ids, HANDLERS, max_attempts=3)
    rows = events(session)
    assert [(rows[k].status, rows[k].body) for k in ("order", "redact")] == [("processed", None)] * 2
    assert rows["order"].result == "earned 50"
