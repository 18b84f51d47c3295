"""Tiers as Shopify's order events move them: pending bonuses, demotion on refunds, bonuses and the next tier."""
from datetime import datetime, timedelta, timezone

import pytest

from loyalty_app import ledger
from loyalty_app.models import LedgerEntry, Tier
from loyalty_app.services import orders
from loyalty_app.services.members import find_member, reevaluate_tiers
from tests.helpers import cancelled_order, simple_order, simple_refund


def configure(session, shop, **settings):
    shop.settings = {**shop.settings, **settings}
    session.commit()


def member_of(session, shop, customer_id):
    session.expire_all()
    return find_member(session, shop.id, customer_id)


def tier_of(session, member):
    return session.get(Tier, member.tier_id).name if member.tier_id else None


def entries(session):
    session.expire_all()
    return {e.idempotency_key.split(":")[0]: e for e in session.query(LedgerEntry).order_by(LedgerEntry.id)}


def test_pending_earn_promotes_with_a_pending_bonus_that_matures_with_it(deliver, session, shop):
    configure(session, shop, pending_days=14)
    deliver("orders/paid", simple_order(1, 5, "600.00"))
    member = member_of(session, shop, 5)
    earn, bonus = entries(session)["order"], entries(session)["tier-bonus"]
    assert tier_of(session, member) == "Silver"
    assert (earn.state, bonus.state, bonus.amount) == ("pending", "pending", 100)
    assert earn.available_at is not None and bonus.available_at == earn.available_at
    assert (member.balance, member.pending) == (0, 700)

    assert ledger.mature(session, shop.id, now=earn.available_at - timedelta(seconds=1)) == 0
    assert ledger.mature(session, shop.id, now=earn.available_at) == 700
    member = member_of(session, shop, 5)
    assert {e.state for e in entries(session).values()} == {"available"}
    assert (member.balance, member.pending) == (700, 0)
    assert ledger.audit(session) == []


def test_available_earn_posts_an_available_bonus(deliver, session, shop):
    deliver("orders/paid", simple_order(1, 5, "600.00"))
    assert entries(session)["tier-bonus"].state == "available"


def test_refund_below_the_threshold_demotes_at_once(deliver, session, shop):
    deliver("orders/paid", simple_order(1, 5, "600.00"))  # Silver at 500
    deliver("refunds/create", simple_refund(11, 1, "50.00"))  # 550 left: still Silver
    assert tier_of(session, member_of(session, shop, 5)) == "Silver"
    deliver("refunds/create", simple_refund(12, 1, "100.00"))  # 450 left
    member = member_of(session, shop, 5)
    assert tier_of(session, member) == "Bronze"
    assert member.balance == 450 + 100  # the Silver bonus, once paid, stays


def test_cancellation_demotes_at_once(deliver, session, shop):
    deliver("orders/paid", simple_order(1, 5, "600.00"))
    deliver("orders/cancelled", cancelled_order(1))
    assert tier_of(session, member_of(session, shop, 5)) == "Bronze"


def test_refund_held_before_a_pending_earn_keeps_the_bonus_pending(deliver, session, shop):
    configure(session, shop, pending_days=14)
    deliver("refunds/create", simple_refund(11, 1, "50.00"))
    deliver("orders/paid", simple_order(1, 5, "600.00"))  # 550 net: Silver, reached through pending points
    member = member_of(session, shop, 5)
    assert tier_of(session, member) == "Silver"
    assert {k: e.state for k, e in entries(session).items()} == {
        "order": "pending", "refund": "pending", "tier-bonus": "pending"}


@pytest.mark.parametrize(("counts", "tier", "balance"), [(False, "Silver", 1500), (True, "Gold", 1750)])
def test_entry_bonus_counts_towards_the_next_tier_only_if_the_shop_says_so(deliver, session, shop, counts, tier,
                                                                            balance):
    if counts:
        configure(session, shop, tier_bonus_counts=True)
    deliver("orders/paid", simple_order(1, 5, "1400.00"))  # Silver (500) and its 100 bonus: 1500 with it
    member = member_of(session, shop, 5)
    assert (tier_of(session, member), member.balance) == (tier, balance)
    reevaluate_tiers(session, shop)  # the daily upkeep agrees
    assert tier_of(session, member_of(session, shop, 5)) == tier


def test_windowed_tier_progress_leaves_bonuses_out_by_default(deliver, session, shop):
    configure(session, shop, tier_window="rolling_12_months")
    deliver("orders/paid", simple_order(1, 5, "1400.00"))
    reevaluate_tiers(session, shop)
    assert tier_of(session, member_of(session, shop, 5)) == "Silver"


CHRISTMAS = datetime(2026, 12, 24, 12, tzinfo=timezone.utc)


@pytest.mark.parametrize(("keep", "in_2027", "in_2028"), [(True, "Gold", "Bronze"), (False, "Bronze", "Bronze")])
def test_calendar_year_status_kept_through_the_next_year(session, shop, keep, in_2027, in_2028):
    configure(session, shop, tier_window="calendar_year", tier_keep_previous_year=keep)
    orders.record_paid_order(session, shop, simple_order(1, 5, "1600.00"), now=CHRISTMAS)
    member = find_member(session, shop.id, 5)
    assert tier_of(session, member) == "Gold"
    reevaluate_tiers(session, shop, datetime(2027, 1, 2, tzinfo=timezone.utc))
    assert tier_of(session, member) == in_2027
    reevaluate_tiers(session, shop, datetime(2027, 12, 31, 23, tzinfo=timezone.utc))
    assert tier_of(session, member) == in_2027
    reevaluate_tiers(session, shop, datetime(2028, 1, 1, 1, tzinfo=timezone.utc))  # nothing earned in 2027
    assert tier_of(session, member) == in_2028


def test_kept_status_survives_a_refund_of_this_years_order(session, shop):
    configure(session, shop, tier_window="calendar_year", tier_keep_previous_year=True)
    orders.record_paid_order(session, shop, simple_order(1, 5, "1600.00"), now=CHRISTMAS)
    february = datetime(2027, 2, 1, tzinfo=timezone.utc)
    orders.record_paid_order(session, shop, simple_order(2, 5, "100.00"), now=february)
    orders.record_refund(session, shop, simple_refund(21, 2, "100.00"), now=february)  # re-ranks at once
    assert tier_of(session, find_member(session, shop.id, 5)) == "Gold"  # 2026's Gold holds through 2027


def test_reevaluation_without_keep_drops_last_years_status_on_a_refund(session, shop):
    configure(session, shop, tier_window="calendar_year")
    orders.record_paid_order(session, shop, simple_order(1, 5, "1600.00"), now=CHRISTMAS)
    february = datetime(2027, 2, 1, tzinfo=timezone.utc)
    orders.record_paid_order(session, shop, simple_order(2, 5, "100.00"), now=february)
    orders.record_refund(session, shop, simple_refund(21, 2, "10.00"), now=february)
    assert tier_of(session, find_member(session, shop.id, 5)) == "Bronze"
