"""Ranking a whole shop at once: one query agrees with the member-by-member rules, and big re-ranks go to a job."""
from __future__ import annotations

import signal
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from rq import SimpleWorker

from loyalty_app.extensions import db
from loyalty_app.models import Member, Shop, Tier
from loyalty_app.program.tiers import Standing, TierRule, compare_rankings
from loyalty_app.services import actions, orders
from loyalty_app.services.members import _activity, find_member, tier_progress, tier_rules
from loyalty_app.services.program_admin import rerank, tier_standings
from tests.conftest import BASE_CONFIG, SECRET, SHOP_DOMAIN
from tests.helpers import AdminApi, session_token, simple_order, simple_refund
from webhooks.jobs import STANDINGS_DIRTY

LAST_YEAR = datetime(2025, 6, 1, 12, tzinfo=timezone.utc)
NOW = datetime(2026, 11, 24, 12, tzinfo=timezone.utc)


def history(session, shop):
    """Members with orders last year and this year, a refund, a cancellation, bonuses and an action."""
    for order_id, customer_id, subtotal, when in [(1, 1, "700.00", LAST_YEAR), (2, 1, "90.00", NOW),
                                                  (3, 2, "1600.00", NOW - timedelta(days=400)),
                                                  (4, 3, "550.00", NOW), (5, 4, "40.00", NOW),
                                                  (6, 5, "2500.00", NOW)]:
        order = simple_order(order_id, customer_id, subtotal, processed_at=when.isoformat(),
                             created_at=when.isoformat())
        orders.record_paid_order(session, shop, order, now=when)
    orders.record_refund(session, shop, simple_refund(11, 4, "100.00"), now=NOW)
    member = find_member(session, shop.id, 4)
    actions.award_action(session, shop, member, "signup", now=NOW)
    session.commit()


@pytest.mark.parametrize("settings", [
    {},
    {"tier_bonus_counts": True},
    {"tier_window": "calendar_year"},
    {"tier_window": "calendar_year", "tier_keep_previous_year": True},
    {"tier_window": "rolling_12_months", "tier_bonus_counts": True},
    {"tier_basis": "spend"},
    {"tier_basis": "spend", "tier_window": "calendar_year", "tier_keep_previous_year": True},
], ids=lambda s: ",".join(f"{k}={v}" for k, v in s.items()) or "defaults")
def test_one_query_agrees_with_each_members_own_progress(session, shop, settings):
    history(session, shop)
    shop.settings = {**shop.settings, **settings}
    rules = tier_rules(session, shop.id)
    standings = tier_standings(session, shop, rules, NOW)
    members = session.query(Member).filter_by(shop_id=shop.id).order_by(Member.id).all()
    assert [s.member_id for s in standings] == [m.id for m in members] and len(members) == 5
    for standing, member in zip(standings, members):
        assert standing.value == tier_progress(session, shop, member, NOW), member.customer_id
        assert standing.tier_key == member.tier_id
        if settings.get("tier_keep_previous_year"):
            this_year = datetime(2026, 1, 1, tzinfo=timezone.utc)
            assert standing.previous_value == _activity(session, shop, member, this_year.replace(year=2025), this_year)
        else:
            assert standing.previous_value is None
    assert any(s.value for s in standings)


def test_rerank_moves_only_who_the_rules_move(session, shop):
    history(session, shop)
    shop.settings = {**shop.settings, "tier_window": "calendar_year"}
    assert rerank(session, shop, NOW) == 2  # customer 1's Silver and customer 2's Gold were earned before 2026
    session.expire_all()
    names = {t.id: t.name for t in session.query(Tier)}
    assert {m.customer_id: names[m.tier_id] for m in session.query(Member)} == {
        1: "Bronze", 2: "Bronze", 3: "Bronze", 4: "Bronze", 5: "Gold"}
    assert rerank(session, shop, NOW) == 0


def test_compare_rankings_is_pure_and_counts_every_member():
    bronze, silver = TierRule(1, "Bronze", Decimal("0")), TierRule(2, "Silver", Decimal("500"))
    standings = [Standing(1, 1, Decimal("10")), Standing(2, 2, Decimal("600")), Standing(3, None, Decimal("0")),
                 Standing(4, 2, Decimal("450"), previous_value=Decimal("700"))]
    result = compare_rankings([bronze, silver], [bronze, TierRule(2, "Silver", Decimal("650"))], standings)
    assert (result.members, result.up, result.down, result.same) == (4, 1, 1, 2)
    assert result.moves == {(2, 1, "down"): 1, (None, 1, "up"): 1}
    assert result.counts == {1: [1, 3], 2: [2, 1], None: [1, 0]}


def test_with_redis_a_tier_change_commits_at_once_and_a_job_re_ranks(pg_redis_app, redis_shop):
    client = pg_redis_app.test_client()
    with pg_redis_app.app_context():
        session = db.session()
        shop = session.get(Shop, redis_shop.id)
        for order_id, customer_id, subtotal in [(1, 1, "600.00"), (2, 2, "1200.00"), (3, 3, "100.00")]:
            orders.record_paid_order(session, shop, simple_order(order_id, customer_id, subtotal))
        session.commit()
        silver = session.query(Tier).filter_by(shop_id=shop.id, name="Silver").one().id
    api = AdminApi(client, session_token(SECRET, BASE_CONFIG["SHOPIFY_API_KEY"], SHOP_DOMAIN, lifetime=600))
    assert api.put(f"/tiers/{silver}", json={"threshold": 1000}).status_code == 200

    def tiers():
        with pg_redis_app.app_context():
            session = db.session()
            names = {t.id: t.name for t in session.query(Tier)}
            return {m.customer_id: names.get(m.tier_id) for m in session.query(Member).order_by(Member.customer_id)}

    assert tiers() == {1: "Silver", 2: "Silver", 3: "Bronze"}  # the request did not re-rank
    queues = pg_redis_app.extensions["queues"]
    assert queues.jobs.count == 1

    class InProcessWorker(SimpleWorker):
        def perform_job(self, *args, **kwargs):  # as webhooks.worker.Worker does, with this test's app
            with pg_redis_app.app_context():
                return super().perform_job(*args, **kwargs)

    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        InProcessWorker([queues.jobs], connection=queues.redis).work(burst=True)
    finally:  # the worker installs its own; later tests (and xdist's shutdown) must not meet them
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    assert tiers() == {1: "Bronze", 2: "Silver", 3: "Bronze"}
    assert queues.jobs.count == 0 and len(queues.jobs.failed_job_registry) == 0
    with pg_redis_app.app_context():
        demoted = db.session().query(Member).filter_by(customer_id=1).one().id
    # the demoted member's mirrored tier follows: marked, and the one delayed sync job scheduled
    assert {int(value) for value in queues.redis.smembers(STANDINGS_DIRTY)} == {demoted}
    assert queues.jobs.scheduled_job_registry.count == 1


def test_the_ranker_agrees_with_kept_tier_for_any_tiers_and_values():
    import random

    from loyalty_app.program.tiers import kept_tier, ranker

    generator = random.Random(10)
    for _ in range(300):
        tiers = [TierRule(key, f"T{key}", Decimal(generator.choice([0, 5, 5, 10, 50, 99.5, 100, 1000])))
                 for key in range(1, generator.randint(0, 6) + 1)]  # equal thresholds too
        rank = ranker(tiers)
        for _ in range(20):
            value = Decimal(generator.choice([-1, 0, 4, 5, 9.99, 10, 99.5, 500, 5000]))
            previous = generator.choice([None, Decimal(0), Decimal(7), Decimal(2000)])
            assert rank(value, previous) == kept_tier(tiers, value, previous), (tiers, value, previous)
