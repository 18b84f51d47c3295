"""Tiers, actions and expiry applied to the database."""
from datetime import datetime, timedelta, timezone

import pytest

from loyalty_app import ledger
from loyalty_app.models import LedgerEntry, Tier
from loyalty_app.services import orders
from loyalty_app.services.actions import ActionError, award_action
from loyalty_app.services.expiry import expire_inactive
from loyalty_app.services.members import enrol, find_member, reevaluate_tiers, update_tier
from tests.helpers import simple_order

NOW = datetime(2026, 11, 24, 12, tzinfo=timezone.utc)


def tier_of(session, member):
    return session.get(Tier, member.tier_id).name if member.tier_id else None


def test_entry_bonus_posted_once_per_tier(session, shop):
    orders.record_paid_order(session, shop, simple_order(1, 5, "600.00"), now=NOW)
    member = find_member(session, shop.id, 5)
    assert tier_of(session, member) == "Silver"
    update_tier(session, shop, member, NOW)
    bonuses = session.query(LedgerEntry).filter_by(kind="bonus").all()
    assert [(b.amount, b.idempotency_key.startswith("tier-bonus:")) for b in bonuses] == [(100, True)]


def test_tier_multiplier_applies_to_next_order(session, shop):
    orders.record_paid_order(session, shop, simple_order(1, 5, "600.00"), now=NOW)  # Silver, x1.25
    orders.record_paid_order(session, shop, simple_order(2, 5, "100.00"), now=NOW)
    assert session.query(LedgerEntry).filter_by(idempotency_key="order:2").one().amount == 125


def test_calendar_year_window_demotes_in_the_new_year(session, shop):
    shop.settings = {**shop.settings, "tier_window": "calendar_year"}
    orders.record_paid_order(session, shop, simple_order(1, 5, "600.00"), now=NOW)
    member = find_member(session, shop.id, 5)
    assert tier_of(session, member) == "Silver"
    reevaluate_tiers(session, shop, NOW + timedelta(days=60))
    assert tier_of(session, member) == "Bronze"


def test_rolling_window(session, shop):
    shop.settings = {**shop.settings, "tier_window": "rolling_12_months"}
    orders.record_paid_order(session, shop, simple_order(1, 5, "600.00"), now=NOW)
    member = find_member(session, shop.id, 5)
    reevaluate_tiers(session, shop, NOW + timedelta(days=364))
    assert tier_of(session, member) == "Silver"
    reevaluate_tiers(session, shop, NOW + timedelta(days=366))
    assert tier_of(session, member) == "Bronze"


def test_spend_basis_counts_money_not_points(session, shop):
    shop.settings = {**shop.settings, "tier_basis": "spend", "points_per_unit": "0.1"}
    orders.record_paid_order(session, shop, simple_order(1, 5, "1600.00"), now=NOW)  # 160 points, 1600 spent
    assert tier_of(session, find_member(session, shop.id, 5)) == "Gold"


def test_signup_once(session, shop):
    member, _ = enrol(session, shop, 5)
    first = award_action(session, shop, member, "signup", now=NOW)
    again = award_action(session, shop, member, "signup", now=NOW + timedelta(days=1))
    assert again.id == first.id
    assert member.balance == 100


def test_birthday_once_a_year(session, shop):
    member, _ = enrol(session, shop, 5)
    assert award_action(session, shop, member, "birthday", now=NOW) is not None
    assert award_action(session, shop, member, "birthday", now=NOW.replace(year=2027)) is not None
    assert member.balance == 400


def test_reviews_limited_per_period(session, shop):
    member, _ = enrol(session, shop, 5)
    awarded = [award_action(session, shop, member, "product_review", reference=f"review-{i}",
                            now=NOW + timedelta(minutes=i)) for i in range(7)]
    assert sum(entry is not None for entry in awarded) == 5
    with pytest.raises(ActionError):
        award_action(session, shop, member, "product_review", now=NOW)


def test_unknown_action(session, shop):
    member, _ = enrol(session, shop, 5)
    with pytest.raises(ActionError):
        award_action(session, shop, member, "custom", now=NOW)


def test_expiry_after_inactivity(session, shop):
    shop.settings = {**shop.settings, "expiry_months": 6}
    member, _ = enrol(session, shop, 5)
    ledger.post(session, member.id, amount=80, kind="earn", key="order:1", source="order:1", now=NOW)
    assert expire_inactive(session, shop, NOW + timedelta(days=150)) == 0
    assert expire_inactive(session, shop, NOW + timedelta(days=190)) == 80
    assert expire_inactive(session, shop, NOW + timedelta(days=400)) == 0
    assert (member.balance, member.lifetime) == (0, 80)
    assert ledger.audit(session) == []


def test_no_expiry_by_default(session, shop):
    member, _ = enrol(session, shop, 5)
    ledger.post(session, member.id, amount=80, kind="earn", key="order:1", source="order:1", now=NOW)
    assert expire_inactive(session, shop, NOW + timedelta(days=4000)) == 0
