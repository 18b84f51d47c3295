"""Tier maths: windows, qualification, promotion at once, demotion only on re-evaluation."""
from datetime import datetime, timezone
from decimal import Decimal as D

import pytest

from loyalty_app.program.tiers import (
    TierRule, kept_tier, next_tier, previous_calendar_year, qualifying_tier, resolve_tier, tier_with_key, window_start,
)

BRONZE = TierRule(1, "Bronze", D("0"))
SILVER = TierRule(2, "Silver", D("500"), D("1.25"), 100)
GOLD = TierRule(3, "Gold", D("1500"), D("1.5"), 250)
TIERS = [GOLD, BRONZE, SILVER]
NOW = datetime(2026, 11, 24, 15, 30, tzinfo=timezone.utc)


def test_windows():
    assert window_start("lifetime", NOW) is None
    assert window_start("calendar_year", NOW) == datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert window_start("rolling_12_months", NOW) == datetime(2025, 11, 24, 15, 30, tzinfo=timezone.utc)
    with pytest.raises(ValueError):
        window_start("fortnight", NOW)


@pytest.mark.parametrize(("value", "tier"), [(D("0"), BRONZE), (D("499"), BRONZE), (D("500"), SILVER),
                                             (D("1499.99"), SILVER), (D("9000"), GOLD)])
def test_qualifying_tier(value, tier):
    assert qualifying_tier(TIERS, value) == tier


def test_no_tier_below_lowest_threshold():
    assert qualifying_tier([SILVER], D("10")) is None


def test_promotion_is_immediate():
    assert resolve_tier(TIERS, BRONZE, D("600"), reevaluating=False) == SILVER


def test_no_demotion_between_evaluations():
    assert resolve_tier(TIERS, GOLD, D("100"), reevaluating=False) == GOLD


def test_demotion_on_reevaluation():
    assert resolve_tier(TIERS, GOLD, D("100"), reevaluating=True) == BRONZE


def test_next_tier():
    assert next_tier(TIERS, D("120")) == (SILVER, D("380"))
    assert next_tier(TIERS, D("2000")) is None


def test_tier_with_key():
    assert tier_with_key(TIERS, 2) == SILVER
    assert tier_with_key(TIERS, None) is None and tier_with_key(TIERS, 99) is None


def test_previous_calendar_year():
    assert previous_calendar_year(NOW) == (datetime(2025, 1, 1, tzinfo=timezone.utc),
                                           datetime(2026, 1, 1, tzinfo=timezone.utc))
    assert previous_calendar_year(datetime(2027, 1, 1, tzinfo=timezone.utc))[0] == datetime(
        2026, 1, 1, tzinfo=timezone.utc)


@pytest.mark.parametrize(("this_year", "last_year", "tier"), [
    (D("0"), D("1600"), GOLD),       # January: last year's Gold holds
    (D("600"), D("1600"), GOLD),
    (D("1600"), D("600"), GOLD),     # this year's activity is better
    (D("100"), D("600"), SILVER),
    (D("100"), D("100"), BRONZE),
    (D("600"), None, SILVER),        # nothing kept
])
def test_kept_tier_is_the_best_of_this_and_last_year(this_year, last_year, tier):
    assert kept_tier(TIERS, this_year, last_year) == tier


def test_reevaluation_keeps_last_years_status():
    assert resolve_tier(TIERS, GOLD, D("0"), reevaluating=True, previous_value=D("1600")) == GOLD
    assert resolve_tier(TIERS, GOLD, D("0"), reevaluating=True, previous_value=D("600")) == SILVER
    assert resolve_tier(TIERS, GOLD, D("0"), reevaluating=True) == BRONZE
