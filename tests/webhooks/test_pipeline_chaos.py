"""A few hundred deliveries, duplicated, shuffled and concurrent, through /webhooks and real RQ workers on PostgreSQL and Redis."""
from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest

from loyalty_app import ledger
from loyalty_app.extensions import db
from loyalty_app.models import EarningRule, Tier, WebhookEvent
from loyalty_app.program.reversal import reversal_target
from loyalty_app.services.members import find_member
from loyalty_app.services.shops import install_shop
from tests.conftest import BASE_CONFIG, SHOP_DOMAIN
from tests.helpers import cancelled_order, post_webhook, simple_customer, simple_order, simple_refund

pytestmark = [pytest.mark.integration, pytest.mark.slow]
CUSTOMERS = 12
ORDERS = 70
SENDERS = 8


def build_events(rng: random.Random) -> tuple[list[tuple[str, str, dict]], dict[int, int]]:
    """Deliveries (topic, webhook id, body) and each customer's expected balance."""
    events: list[tuple[str, str, dict]] = []
    expected = {c: 100 for c in range(1, CUSTOMERS + 1)}  # the signup bonus
    for c in expected:
        customer = simple_customer(state="enabled", id=c, email=f"c{c}@example.com")  # signed up with an account
        events.append(("customers/create", f"cust-{c}", customer))
    for o in range(1, ORDERS + 1):
        customer = rng.randint(1, CUSTOMERS)
        amount = Decimal(rng.randint(100, 50000)) / 100
        events.append(("orders/paid", f"paid-{o}", simple_order(o, customer, str(amount))))
        refunded = Decimal("0")
        for r in range(rng.choice([0, 0, 1, 2])):
            part = (amount * Decimal(rng.randint(10, 60)) / 100).quantize(Decimal("0.01"))
            refunded += part
            events.append(("refunds/create", f"refund-{o}-{r}", simple_refund(o * 10 + r, o, str(part))))
        cancelled = rng.random() < 0.2
        if cancelled:
            events.append(("orders/cancelled", f"cancel-{o}", cancelled_order(o)))
        earned = int(amount)  # 1 point per unit, floor; multipliers are 1 in this test
        expected[customer] += earned - reversal_target(earned, amount, refunded, cancelled)
    deliveries = []
    for topic, webhook_id, body in events:
        deliveries += [(topic, webhook_id, body)] * rng.choice([1, 1, 2, 3])  # Shopify's retries
        if topic == "orders/paid" and rng.random() < 0.2:
            deliveries.append((topic, webhook_id + "-again", body))  # same change, another webhook id
    rng.shuffle(deliveries)
    return deliveries, expected


def start_workers(pg_url: str, redis_url: str, count: int) -> list[subprocess.Popen]:
    env = {**os.environ, "DATABASE_URL": pg_url, "REDIS_URL": redis_url, "LOYALTY_ENV": "test",
           "SHOPIFY_API_SECRET": BASE_CONFIG["SHOPIFY_API_SECRET"], "AUTO_MIGRATE": "false"}
    rq = os.path.join(os.path.dirname(sys.executable), "rq")
    return [subprocess.Popen([rq, "worker", "-w", "webhooks.worker.Worker", "loyalty", "--url", redis_url,
                              "--max-idle-time", "3"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for _ in range(count)]


def test_shuffled_duplicated_deliveries_credit_exactly(pg_redis_app, pg_url, redis_url):
    rng = random.Random(20261124)
    with pg_redis_app.app_context():
        session = db.session()
        shop = install_shop(session, SHOP_DOMAIN, "t", pg_redis_app.extensions["token_box"])
        session.query(Tier).filter_by(shop_id=shop.id).update({"multiplier": 1, "entry_bonus": 0})
        session.query(EarningRule).filter(EarningRule.action != "signup").delete()
        session.commit()
        deliveries, expected = build_events(rng)
        assert len(deliveries) >= 250

        workers = start_workers(pg_url, redis_url, 2)
        try:
            def post(share: list[tuple[str, str, dict]]) -> list[int]:
                client = pg_redis_app.test_client()
                return [post_webhook(client, topic, body, webhook_id=wid).status_code for topic, wid, body in share]

            with ThreadPoolExecutor(SENDERS) as pool:  # concurrent, as Shopify sends: the receiver batches them
                statuses = [s for part in pool.map(post, [deliveries[k::SENDERS] for k in range(SENDERS)]) for s in part]
            assert set(statuses) == {200}
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                pending = session.query(WebhookEvent).filter(WebhookEvent.status.in_(("received", "processing"))).count()
                session.rollback()
                if pending == 0:
                    break
                time.sleep(0.2)
        finally:
            for worker in workers:
                worker.terminate()
            errors = [w.communicate(timeout=30)[1].decode() for w in workers]
        assert pending == 0, errors
        failed = session.query(WebhookEvent).filter_by(status="failed").all()
        assert failed == [], [(e.topic, e.error) for e in failed]
        assert session.query(WebhookEvent).count() == len({wid for _, wid, _ in deliveries})
        for customer, balance in expected.items():
            assert find_member(session, shop.id, customer).balance == balance, customer
        assert ledger.audit(session) == []
    result = pg_redis_app.test_cli_runner().invoke(args=["loyalty", "audit"])
    assert result.exit_code == 0 and "ledger balanced" in result.output
