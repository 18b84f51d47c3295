"""A burst of changes to one member becomes one metafield write with the latest values (real Redis)."""
import pytest
import responses
from rq import SimpleWorker

from loyalty_app.extensions import queues
from loyalty_app.services import orders, standings
from loyalty_app.services.members import find_member
from loyalty_app.shopify.client import AdminClient
from tests.conftest import SHOP_DOMAIN
from tests.fake_admin import FakeAdmin
from tests.helpers import post_webhook, simple_order
from webhooks.jobs import STANDINGS_DIRTY, sync_standings

def test_sync_writes_standings_and_tier_tags(session, shop):
    shop.settings = {**shop.settings, "tier_tags": True}
    orders.record_paid_order(session, shop, simple_order(1, 5, "600.00"))  # Silver
    session.commit()
    member = find_member(session, shop.id, 5)
    client = AdminClient(SHOP_DOMAIN, "t", api_version="2026-10", sleep=lambda _: None)
    with responses.RequestsMock() as rsps:
        fake = FakeAdmin(rsps).answer({"metafieldsSet": {"metafields": [], "userErrors": []}})
        fake.answer({"tagsRemove": {"userErrors": []}}).answer({"tagsAdd": {"userErrors": []}})
        assert standings.sync_standings(session, [member.id], lambda _shop: client) == 1
    metafields = {m["key"]: m["value"] for m in fake.requests[0]["variables"]["metafields"]}
    assert metafields == {"balance": "700", "tier": "Silver"}
    assert fake.requests[1]["variables"]["tags"] == ["loyalty-tier:Bronze", "loyalty-tier:Gold"]
    assert fake.requests[2]["variables"]["tags"] == ["loyalty-tier:Silver"]


@pytest.mark.integration
def test_burst_is_coalesced_into_one_write_of_the_latest_standing(pg_redis_app, redis_shop):
    with pg_redis_app.app_context():
        client = pg_redis_app.test_client()
        for order_id in range(1, 6):
            assert post_webhook(client, "orders/paid", simple_order(order_id, 5, "120.00")).status_code == 200
        SimpleWorker([queues.default, queues.jobs], connection=queues.redis).work(burst=True)

        assert queues.redis.smembers(STANDINGS_DIRTY) == {b"1"}
        assert queues.jobs.scheduled_job_registry.count == 1

        with responses.RequestsMock() as rsps:
            fake = FakeAdmin(rsps).answer({"metafieldsSet": {"metafields": [], "userErrors": []}})
            assert sync_standings() == 1
        [request] = fake.requests
        by_key = {m["key"]: m["value"] for m in request["variables"]["metafields"]}
        # 5 orders × 120 at ×1 (Silver is only reached by the fifth) + Silver's 100-point entry bonus.
        assert (by_key["balance"], by_key["tier"]) == ("700", "Silver")
        assert queues.redis.scard(STANDINGS_DIRTY) == 0
