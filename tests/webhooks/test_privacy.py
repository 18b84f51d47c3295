"""Stored webhook bodies: whom each is about, dropped when a customer asks to be forgotten, kept only for a window."""
import json
from datetime import timedelta

from sqlalchemy import update

from loyalty_app.models import WebhookEvent, utcnow
from loyalty_app.services import inbox, upkeep
from loyalty_app.services.members import find_member
from tests.helpers import payload, simple_order, simple_refund
from webhooks import jobs
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


def aged(session, shop, key, status, received_days_ago, processed_days_ago=None):
    """A stored event filed with ``status``, received and (if given) processed that many days ago."""
    event_id = stored(session, shop, "orders/paid", simple_order(50, 7, "10.00"), key)
    now = utcnow()
    session.execute(update(WebhookEvent).where(WebhookEvent.id == event_id).values(
        status=status, result=f"was {status}", received_at=now - timedelta(days=received_days_ago),
        processed_at=None if processed_days_ago is None else now - timedelta(days=processed_days_ago)))
    session.commit()


def test_upkeep_drops_settled_bodies_past_the_retention_window_in_batches(app, session, shop):
    for key in ("old-1", "old-2", "old-3"):
        aged(session, shop, key, "processed", 31, 31)
    aged(session, shop, "old-failed", "failed", 31)  # failed events were never processed: age from receipt
    aged(session, shop, "old-ignored", "ignored", 31)
    aged(session, shop, "old-waiting", "received", 31)  # still to be processed: kept whatever its age
    aged(session, shop, "old-claimed", "processing", 31)
    aged(session, shop, "recent", "processed", 29, 29)
    aged(session, shop, "failed-recently", "failed", 29)
    aged(session, shop, "processed-late", "processed", 40, 10)  # the window runs from processing
    assert upkeep.drop_old_bodies(session, timedelta(days=30), batch_size=2) == 5  # three batches
    rows = events(session)
    assert {key for key, e in rows.items() if e.body is None} == {"old-1", "old-2", "old-3", "old-failed",
                                                                  "old-ignored"}
    assert {key: (e.status, e.result) for key, e in rows.items()}["old-failed"] == ("failed", "was failed")
    assert upkeep.drop_old_bodies(session, timedelta(days=30), batch_size=2) == 0


def test_the_daily_job_and_the_upkeep_command_use_the_retention_setting(app, session, shop, runner):
    aged(session, shop, "old", "processed", 8, 8)
    app.config["WEBHOOK_BODY_RETENTION_DAYS"] = 10
    jobs.daily_upkeep()
    assert events(session)["old"].body is not None
    session.rollback()  # SQLite: a reader left open would keep the command from committing
    app.config["WEBHOOK_BODY_RETENTION_DAYS"] = 7
    result = runner.invoke(args=["loyalty", "upkeep"])
    assert result.exit_code == 0 and "webhook bodies older than 7 days dropped: 1" in result.output
    aged(session, shop, "older", "processed", 9, 9)
    jobs.daily_upkeep()
    assert events(session)["older"].body is None
    session.close()  # the command removed it from the registry, so the fixture's teardown no longer closes it


def test_retrying_an_event_whose_body_was_dropped_fails_readably(app, session, shop):
    aged(session, shop, "old-failed", "failed", 31)
    upkeep.drop_old_bodies(session, timedelta(days=30))
    event = events(session)["old-failed"]
    event.status = "received"  # what `flask webhooks retry` does
    session.commit()
    assert inbox.process(session, event.id, HANDLERS, max_attempts=3) == "failed"
    assert events(session)["old-failed"].error == (
        "PayloadError: the body is no longer stored (dropped after the retention window or a redaction)")
