"""The drain promise: a drain claims for DRAIN_PROMISE after clearing its flag, so receivers may skip Redis meanwhile."""
import threading
import time

import pytest

from loyalty_app.extensions import db, queues
from loyalty_app.models import WebhookEvent
from loyalty_app.services import inbox
from tests.helpers import post_webhook, simple_order
from webhooks import jobs

pytestmark = pytest.mark.integration


def test_the_receiver_asks_redis_once_per_promise_window(pg_redis_app, monkeypatch):
    asked = []
    monkeypatch.setattr(jobs, "schedule_drain", lambda app, on_request_path: asked.append(app))
    drains = jobs.DrainScheduler(pg_redis_app, clock=iter([100.0, 100.1, 100.2, 100.26, 100.3]).__next__)
    for _ in range(5):
        drains.ensure()
    assert asked == [pg_redis_app] * 2  # at 100.0, then at 100.26 (the window of 0.25 s had passed)


def test_a_failed_schedule_is_retried_by_the_next_delivery(pg_redis_app, monkeypatch):
    calls = []

    def flaky(app, on_request_path):
        calls.append(on_request_path)
        if len(calls) == 1:
            raise ConnectionError("redis is down")

    monkeypatch.setattr(jobs, "schedule_drain", flaky)
    drains = jobs.DrainScheduler(pg_redis_app)
    with pytest.raises(ConnectionError):
        drains.ensure()
    drains.ensure()
    assert len(calls) == 2


def test_a_drain_claims_what_is_committed_while_its_promise_runs(pg_redis_app, redis_shop, monkeypatch):
    """An event stored (and not scheduled) after the drain found the inbox empty is still processed by it."""
    first_pass_done = threading.Event()
    real_run_drain = jobs.run_drain

    def observed_run_drain(app):
        processed = real_run_drain(app)
        first_pass_done.set()
        return processed

    monkeypatch.setattr(jobs, "run_drain", observed_run_drain)
    # A wider window than production's, so a loaded machine still stores the event inside it; the
    # promise under test is the same: whatever commits within the window is claimed.
    monkeypatch.setattr(jobs, "DRAIN_PROMISE", 2.0)
    with pg_redis_app.app_context():
        session = db.session()
        queues.redis.set(jobs.DRAIN_FLAG, "1")
        result = {}

        def drain():  # as an RQ worker would, in its own thread with its own app context
            with pg_redis_app.app_context():
                started = time.monotonic()
                result["processed"] = jobs.drain_inbox()
                result["seconds"] = time.monotonic() - started

        worker = threading.Thread(target=drain)
        worker.start()
        assert first_pass_done.wait(10)  # the flag is cleared and the inbox was found empty
        assert queues.redis.get(jobs.DRAIN_FLAG) is None
        with db.single_statement() as connection:
            [stored] = inbox.store_many(connection, db.engine.dialect,
                                        [inbox.Delivery("orders/paid", redis_shop.domain, "late", b'{"id": 1}')])
        worker.join(10)
        assert result["processed"] == 1 and result["seconds"] >= jobs.DRAIN_PROMISE
        session.expire_all()
        assert session.get(WebhookEvent, stored.id).status != "received"


def test_deliveries_within_the_window_enqueue_one_drain(pg_redis_app, redis_shop):
    client = pg_redis_app.test_client()
    for order in range(1, 6):
        assert post_webhook(client, "orders/paid", simple_order(order, 5, "10.00")).status_code == 200
    assert pg_redis_app.extensions["queues"].default.count == 1
