"""Redemptions (app proxy and UI extensions share ``shopper.redeem_for``) and Flow's "Adjust points" mirror the
member's new standing to Shopify, as orders and staff adjustments do (real PostgreSQL and Redis).

They mark the member and schedule the one delayed sync job over the request-path Redis connection; a replay
that changes nothing schedules nothing, and an unreachable Redis never turns a committed change into a 500.
"""
from __future__ import annotations

import logging
from decimal import Decimal

import pytest
import responses

from loyalty_app import create_app
from loyalty_app.extensions import db, queues
from loyalty_app.models import Reward
from loyalty_app.services import orders
from loyalty_app.services.members import find_member
from tests.conftest import BASE_CONFIG
from tests.fake_admin import FakeAdmin
from tests.flow.test_action import body as flow_body
from tests.flow.test_action import post as flow_post
from tests.helpers import proxy_query, simple_order
from webhooks.jobs import STANDINGS_DIRTY, sync_standings

CREATED = {"codeDiscountNode": {"id": "gid://shopify/DiscountCodeNode/9"}, "userErrors": []}
CREDITED = {"storeCreditAccountCredit": {"storeCreditAccountTransaction": {
    "id": "gid://shopify/StoreCreditAccountCreditTransaction/77", "amount": {"amount": "10.0", "currencyCode": "USD"}},
    "userErrors": []}}


def _dirty() -> set[int]:
    return {int(value) for value in queues.redis.smembers(STANDINGS_DIRTY)}


def _member_with_points(shop, customer_id: int = 5) -> int:  # type: ignore[no-untyped-def]
    """A member of ``shop`` with 1100 points (an order of 1000 and Silver's bonus of 100); the marks are cleared."""
    session = db.session()
    orders.record_paid_order(session, session.merge(shop), simple_order(1, customer_id, "1000.00"))
    session.commit()
    member_id = find_member(session, shop.id, customer_id).id
    queues.redis.delete(STANDINGS_DIRTY)
    return member_id


def _redeem(client, kind: str, key: str):  # type: ignore[no-untyped-def]
    session = db.session()
    reward_id = session.query(Reward).filter_by(kind=kind).one().id
    session.rollback()
    return client.post("/proxy/redeem", query_string=proxy_query(5), json={"reward_id": reward_id,
                                                                          "idempotency_key": key})


def _synced_balance() -> str:
    """Run the scheduled sync job's work against the fake Admin; the balance it wrote for customer 5."""
    with responses.RequestsMock() as rsps:
        fake = FakeAdmin(rsps).answer({"metafieldsSet": {"metafields": [], "userErrors": []}})
        assert sync_standings() == 1
    [request] = fake.requests
    return {m["key"]: m["value"] for m in request["variables"]["metafields"]}["balance"]


@pytest.mark.integration
def test_a_code_redemption_schedules_the_sync_and_its_replay_does_not(pg_redis_app, redis_shop):
    with pg_redis_app.app_context():
        member_id = _member_with_points(redis_shop)
        client = pg_redis_app.test_client()
        with responses.RequestsMock() as rsps:
            FakeAdmin(rsps).answer({"discountCodeBasicCreate": CREATED})
            response = _redeem(client, "fixed_amount", "click-0001")
        assert response.status_code == 200 and response.get_json()["balance"] == 600
        assert _dirty() == {member_id}
        assert queues.jobs.scheduled_job_registry.count == 1
        assert _synced_balance() == "600"

        assert _redeem(client, "fixed_amount", "click-0001").status_code == 200  # replayed: nothing changed
        assert _dirty() == set()


@pytest.mark.integration
def test_a_store_credit_redemption_schedules_the_sync(pg_redis_app, redis_shop):
    with pg_redis_app.app_context():
        session = db.session()
        session.add(Reward(shop_id=redis_shop.id, name="10 in store credit", kind="store_credit", cost=500,
                           value=Decimal("10")))
        session.commit()
        member_id = _member_with_points(redis_shop)
        with responses.RequestsMock() as rsps:
            fake = FakeAdmin(rsps)
            fake.serve("StoreCreditConfiguration",
                       lambda _: {"storeCreditConfiguration": {"storeCreditEnabled": True}})
            fake.answer(CREDITED)
            response = _redeem(pg_redis_app.test_client(), "store_credit", "credit-0001")
        assert response.status_code == 201, response.get_json()
        assert _dirty() == {member_id}
        assert _synced_balance() == "600"


@pytest.mark.integration
def test_flow_adjust_points_schedules_the_sync_and_its_replay_does_not(pg_redis_app, redis_shop):
    with pg_redis_app.app_context():
        member_id = _member_with_points(redis_shop)
        client = pg_redis_app.test_client()
        assert flow_post(client, flow_body(points=-100, customer_id=5)).get_json()["balance"] == 1000
        assert _dirty() == {member_id}
        assert _synced_balance() == "1000"

        assert flow_post(client, flow_body(points=-100, customer_id=5)).get_json()["status"] == "replayed"
        assert flow_post(client, flow_body(points=-5000, customer_id=5, run_id="run-2")).status_code == 422
        assert _dirty() == set()


@pytest.mark.integration
def test_with_redis_unreachable_a_redemption_and_a_flow_adjustment_still_answer(
        pg_redis_app, redis_shop, pg_url, caplog):
    with pg_redis_app.app_context():
        _member_with_points(redis_shop)
    down = _down_app(pg_url)
    with down.app_context():
        client = down.test_client()
        with caplog.at_level(logging.ERROR, logger="webhooks.jobs"), responses.RequestsMock() as rsps:
            FakeAdmin(rsps).answer({"discountCodeBasicCreate": CREATED})
            redeemed = _redeem(client, "fixed_amount", "click-0001")
            adjusted = flow_post(client, flow_body(points=25, customer_id=5))
        assert (redeemed.status_code, redeemed.get_json()["balance"]) == (200, 600)
        assert (adjusted.status_code, adjusted.get_json()["balance"]) == (200, 625)
        assert caplog.text.count("could not schedule the standings sync of 1 member(s)") == 2


def _down_app(pg_url: str):  # type: ignore[no-untyped-def]
    """The same database behind a Redis nobody listens on (the rate limiter lets requests through then)."""
    return create_app({**BASE_CONFIG, "DATABASE_URL": pg_url, "REDIS_URL": "redis://127.0.0.1:1/0",
                       "AUTO_MIGRATE": False})
