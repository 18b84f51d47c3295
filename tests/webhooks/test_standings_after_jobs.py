"""Jobs that change points or tiers outside the inbox schedule the standings sync of what they committed.

Daily upkeep (matured, expired, re-ranked), reconciliation and settled or expired codes change the
balance or tier a customer metafield mirrors; each job marks those members and schedules the one
delayed sync job, as a drain does (real PostgreSQL and Redis, as in production).
"""
from __future__ import annotations

from datetime import timedelta

import pytest
import responses
from sqlalchemy import select

from loyalty_app import ledger
from loyalty_app.extensions import db, queues
from loyalty_app.models import Member, Reward, Tier, utcnow
from loyalty_app.services import redemptions
from loyalty_app.services.members import enrol, find_member
from loyalty_app.services.shops import update_settings
from tests.conftest import SHOP_DOMAIN
from tests.fake_admin import FakeAdmin
from tests.webhooks.test_reconcile import Store, gql_line, gql_order
from webhooks import jobs
from webhooks.jobs import STANDINGS_DIRTY


def _dirty() -> set[int]:
    return {int(value) for value in queues.redis.smembers(STANDINGS_DIRTY)}


def _member(session, shop, customer_id: int) -> Member:  # type: ignore[no-untyped-def]
    member, _ = enrol(session, shop, customer_id)
    return member


@pytest.mark.integration
def test_daily_upkeep_schedules_matured_expired_and_reranked_members_only(pg_redis_app, redis_shop):
    with pg_redis_app.app_context():
        session = db.session()
        shop = session.merge(redis_shop)
        update_settings(shop, {"expiry_months": 12})
        now = utcnow()
        maturing = _member(session, shop, 1)
        ledger.post(session, maturing.id, amount=50, kind="earn", key="pending-1", source="order:1",
                    state="pending", available_at=now - timedelta(days=1))
        idle = _member(session, shop, 2)
        ledger.post(session, idle.id, amount=70, kind="earn", key="old-2", source="order:2",
                    now=now - timedelta(days=500))
        tiers = dict(session.execute(select(Tier.name, Tier.id).where(Tier.shop_id == shop.id)).all())
        demoted = _member(session, shop, 3)  # Gold without the points for it: the re-evaluation demotes
        demoted.tier_id = tiers["Gold"]
        quiet = _member(session, shop, 4)  # in the tier it qualifies for, nothing to mature or expire
        quiet.tier_id = tiers["Bronze"]
        ledger.post(session, quiet.id, amount=20, kind="earn", key="fresh-4", source="order:4")
        session.commit()
        ids = (maturing.id, idle.id, demoted.id)
        session.close()

        jobs.daily_upkeep()

        assert _dirty() == set(ids)  # member 4 changed nothing today
        assert queues.jobs.scheduled_job_registry.count == 1
        session = db.session()
        standing = {m.customer_id: (m.balance, m.pending, m.tier_id) for m in session.scalars(select(Member))}
        assert standing == {1: (50, 0, tiers["Bronze"]), 2: (0, 0, tiers["Bronze"]), 3: (0, 0, tiers["Bronze"]),
                            4: (20, 0, tiers["Bronze"])}
        session.close()

        queues.redis.delete(STANDINGS_DIRTY)
        jobs.daily_upkeep()  # nothing left to change
        assert _dirty() == set()


@pytest.mark.integration
def test_a_job_that_fails_half_way_still_schedules_what_it_committed(pg_redis_app, redis_shop, monkeypatch):
    with pg_redis_app.app_context():
        session = db.session()
        member = _member(session, session.merge(redis_shop), 1)
        ledger.post(session, member.id, amount=50, kind="earn", key="pending-1", source="order:1",
                    state="pending", available_at=utcnow() - timedelta(days=1))
        session.commit()
        session.close()

        def drop_bodies(*_args, **_kwargs):  # type: ignore[no-untyped-def]
            raise RuntimeError("the database went away after the upkeep committed")

        monkeypatch.setattr(jobs.upkeep, "drop_old_bodies", drop_bodies)
        with pytest.raises(RuntimeError):
            jobs.daily_upkeep()
        assert _dirty() == {member.id}


@pytest.mark.integration
def test_the_settle_and_code_expiry_jobs_schedule_the_members_whose_points_they_release(pg_redis_app, redis_shop):
    with pg_redis_app.app_context():
        session = db.session()
        shop = session.merge(redis_shop)
        reward_id = session.execute(select(Reward.id).where(Reward.shop_id == shop.id,
                                                            Reward.kind == "fixed_amount")).scalar_one()
        past = utcnow() - timedelta(days=2)
        lost, expiring = _member(session, shop, 1), _member(session, shop, 2)
        for member in (lost, expiring):
            ledger.post(session, member.id, amount=1000, kind="earn", key=f"order-{member.id}", source="order")
        redemptions.reserve(session, shop, lost.id, reward_id, "lost-create", now=past)  # Shopify's answer was lost
        code, _ = redemptions.reserve(session, shop, expiring.id, reward_id, "expiring", now=past)
        redemptions.activate(session, code, "gid://shopify/DiscountCodeNode/9")
        code.expires_at = past
        session.commit()
        lost_id, expiring_id = lost.id, expiring.id
        queues.redis.delete(STANDINGS_DIRTY)
        session.close()

        with responses.RequestsMock() as rsps:
            FakeAdmin(rsps).answer({"codeDiscountNodeByCode": None})  # Shopify never made the lost one
            jobs.settle_reservations()
        assert _dirty() == {lost_id}

        queues.redis.delete(STANDINGS_DIRTY)
        with responses.RequestsMock() as rsps:
            fake = FakeAdmin(rsps).answer(
                {"codeDiscountNode": {"codeDiscount": {"__typename": "DiscountCodeBasic", "asyncUsageCount": 0}}})
            fake.answer({"discountCodeDeactivate": {"codeDiscountNode": {"id": "gid://shopify/DiscountCodeNode/9"},
                                                    "userErrors": []}})
            jobs.expire_codes()  # never used: its points come back
        assert _dirty() == {expiring_id}
        balances = {m.id: m.balance for m in db.session().scalars(select(Member))}
        assert balances == {lost_id: 1000, expiring_id: 1000}


@pytest.mark.integration
def test_reconciliation_and_the_upkeep_command_schedule_what_they_committed(pg_redis_app, redis_shop):
    """The reconcile job and ``flask loyalty reconcile`` credit a missed order; ``flask loyalty upkeep`` matures."""
    with pg_redis_app.app_context():
        runner = pg_redis_app.test_cli_runner()
        with responses.RequestsMock() as rsps:
            store = Store(FakeAdmin(rsps))
            store.add(gql_order(102, 6, [gql_line(11, "100.00")], subtotal="100.00"))
            store.add(gql_order(103, 7, [gql_line(12, "50.00")], subtotal="50.00"))
            jobs.reconcile_shop(redis_shop.id, "2026-11-22T00:00:00+00:00", "2026-11-24T00:00:00+00:00")
            assert _dirty() == {find_member(db.session(), redis_shop.id, customer).id for customer in (6, 7)}
            queues.redis.delete(STANDINGS_DIRTY)
            store.orders.append(gql_order(104, 8, [gql_line(13, "30.00")], subtotal="30.00"))
            result = runner.invoke(args=["loyalty", "reconcile", SHOP_DOMAIN, "--hours", "1440"])
            assert result.exit_code == 0, result.output
        assert _dirty() == {find_member(db.session(), redis_shop.id, 8).id}  # 6 and 7 were credited already

        session = db.new_session()  # not the command's session: only what the command commits may count
        member = find_member(session, redis_shop.id, 6)
        ledger.post(session, member.id, amount=25, kind="earn", key="pending-6", source="order:9",
                    state="pending", available_at=utcnow() - timedelta(hours=1))
        session.commit()
        session.close()
        queues.redis.delete(STANDINGS_DIRTY)
        result = runner.invoke(args=["loyalty", "upkeep"])
        assert result.exit_code == 0 and "matured 25" in result.output
        assert _dirty() == {member.id}
