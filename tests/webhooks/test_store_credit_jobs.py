"""Cashback leaves the webhook's transaction recorded, and an RQ job sends it (real PostgreSQL and Redis)."""
import pytest
import requests
import responses
from rq import SimpleWorker

from loyalty_app.extensions import db, queues
from loyalty_app.models import StoreCreditGrant
from loyalty_app.services.shops import update_settings
from tests.fake_admin import FakeAdmin
from tests.helpers import post_webhook, simple_order
from webhooks.jobs import send_all_store_credit


def credited(amount):
    return {"storeCreditAccountCredit": {"storeCreditAccountTransaction": {
        "id": "gid://shopify/StoreCreditAccountCreditTransaction/5",
        "amount": {"amount": amount, "currencyCode": "USD"}}, "userErrors": []}}


@pytest.mark.integration
def test_the_drain_records_cashback_and_a_job_sends_it_retrying_an_unknown_outcome(pg_redis_app, redis_shop):
    with pg_redis_app.app_context():
        session = db.session()
        update_settings(session.merge(redis_shop), {"earning_mode": "cashback", "cashback_percent": "10"})
        session.commit()
        client = pg_redis_app.test_client()
        with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
            fake = FakeAdmin(rsps).answer(raise_exc=requests.ReadTimeout("Shopify is slow"))
            fake.answer({"customer": None})  # the retry looks first: nothing landed
            fake.answer(credited("12.0"))
            assert post_webhook(client, "orders/paid", simple_order(1, 5, "120.00")).status_code == 200
            SimpleWorker([queues.default], connection=queues.redis).work(burst=True)  # the drain: records only
            assert fake.requests == []
            grant = session.query(StoreCreditGrant).one()
            assert (grant.amount, grant.state) == (12, "pending")
            session.rollback()

            SimpleWorker([queues.jobs], connection=queues.redis).work(burst=True)  # times out: RQ schedules a retry
            session.expire_all()
            assert session.query(StoreCreditGrant).one().state == "pending"
            session.rollback()
            send_all_store_credit()  # what the retry (or the periodic sender) does
            session.expire_all()
            grant = session.query(StoreCreditGrant).one()
            assert (grant.state, grant.attempts) == ("sent", 2)
            assert len(fake.sent("StoreCreditAccountCredit")) == 2 and len(fake.sent("StoreCreditTransactions")) == 1


def test_the_settle_job_settles_store_credit_reservations_too(app, session, shop):
    """The every-two-minutes job looks up a store credit redemption left reserved and releases it when Shopify
    never made the credit; code redemptions are left to the code lookup."""
    from datetime import timedelta
    from decimal import Decimal

    from loyalty_app import ledger
    from loyalty_app.models import Redemption, Reward, utcnow
    from loyalty_app.services import orders, redemptions
    from loyalty_app.services.members import find_member
    from webhooks.jobs import settle_reservations

    orders.record_paid_order(session, shop, simple_order(1, 5, "1000.00"))
    reward = Reward(shop_id=shop.id, name="10 in store credit", kind="store_credit", cost=500, value=Decimal("10"))
    session.add(reward)
    session.commit()
    member = find_member(session, shop.id, 5)
    past = utcnow() - timedelta(minutes=5)
    redemption, _ = redemptions.reserve(session, shop, member.id, reward.id, "credit-key-1", now=past)
    session.add(StoreCreditGrant(shop_id=shop.id, member_id=member.id, key=f"redeem:{redemption.id}", kind="reward",
                                 redemption_id=redemption.id, amount=Decimal("10"), currency="USD", state="sending",
                                 attempts=1, attempted_at=past, created_at=past))
    session.commit()
    with responses.RequestsMock() as rsps:
        fake = FakeAdmin(rsps).answer({"customer": None})  # Shopify has no account for them: nothing landed
        with app.app_context():
            settle_reservations()
    assert [request["variables"] for request in fake.requests] == [{"customerId": "gid://shopify/Customer/5"}]
    session.expire_all()
    assert session.get(Redemption, redemption.id).state == "released"
    assert find_member(session, shop.id, 5).balance == 1100 and ledger.audit(session) == []
