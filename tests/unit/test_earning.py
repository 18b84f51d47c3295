"""Earning maths: eligible amount and points, with no database."""
from decimal import Decimal as D

import pytest

from loyalty_app.program.earning import (
    InvalidAmount, OrderAmounts, best_campaign_multiplier, eligible_amount, order_points, round_points,
)


def test_eligible_amount_is_subtotal_without_gift_cards_or_included_tax():
    assert eligible_amount(OrderAmounts(D("120.00"), gift_cards=D("20.00"), included_tax=D("20.00"))) == D("80.00")


def test_eligible_amount_never_negative():
    assert eligible_amount(OrderAmounts(D("10"), gift_cards=D("15"))) == D("0")


@pytest.mark.parametrize("field", ["subtotal", "gift_cards", "included_tax"])
def test_negative_amounts_are_refused(field):
    amounts = {"subtotal": D("10"), field: D("-1")}
    with pytest.raises(InvalidAmount):
        eligible_amount(OrderAmounts(**amounts))


def test_points_floor_by_default():
    assert order_points(D("99.99"), D("1")) == 99


@pytest.mark.parametrize(("mode", "expected"), [("floor", 12), ("half_up", 13), ("ceil", 13)])
def test_rounding_modes(mode, expected):
    assert order_points(D("12.50"), D("1"), rounding=mode) == expected


def test_tier_and_campaign_multipliers_multiply():
    assert order_points(D("100"), D("2"), D("1.25"), D("2")) == 500


def test_fractional_rate():
    assert order_points(D("199.00"), D("0.1")) == 19


def test_unknown_rounding_mode():
    with pytest.raises(ValueError):
        round_points(D("1.5"), "bankers")


def test_negative_rate_refused():
    with pytest.raises(InvalidAmount):
        order_points(D("10"), D("-1"))


def test_campaigns_do_not_stack():
    assert best_campaign_multiplier([D("2"), D("1.5")]) == D("2")
    assert best_campaign_multiplier([]) == D("1")
