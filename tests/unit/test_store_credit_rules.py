"""Cashback maths and the fallback reward: pure rules, no database."""
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loyalty_app.program.store_credit import (RewardOption, cashback_cents, cashback_reversal_cents, fallback_reward,
                                              from_cents, to_cents)


def test_cashback_is_the_percent_of_the_eligible_amount_rounded_down_to_the_cent():
    assert cashback_cents(Decimal("597.00"), Decimal("5")) == 2985
    assert cashback_cents(Decimal("19.99"), Decimal("2.5")) == 49  # 0.49975: never over-paid
    assert cashback_cents(Decimal("100"), Decimal("0")) == 0
    with pytest.raises(ValueError):
        cashback_cents(Decimal("-1"), Decimal("5"))
    with pytest.raises(ValueError):
        cashback_cents(Decimal("1"), Decimal("-5"))


def test_cents_round_trip():
    assert to_cents(Decimal("19.57")) == 1957 and from_cents(1957) == Decimal("19.57")


@given(granted=st.integers(0, 10**7), eligible=st.decimals("0.01", "100000", places=2),
       refunds=st.lists(st.decimals("0", "50000", places=2), max_size=6), cancel=st.booleans())
def test_reversals_never_exceed_what_the_order_granted_and_a_cancel_takes_the_rest(granted, eligible, refunds, cancel):
    taken, refunded = 0, Decimal("0")
    for refund in refunds:
        refunded += refund
        delta = cashback_reversal_cents(granted, taken, eligible, refunded, False)
        assert delta >= 0
        taken += delta
        assert taken <= granted
    if cancel:
        taken += cashback_reversal_cents(granted, taken, eligible, refunded, True)
        assert taken == granted


def test_the_fallback_is_the_closest_amount_off_code_reward():
    credit = RewardOption(1, "store_credit", 1000, Decimal("10"))
    rewards = [credit, RewardOption(2, "percentage", 1000, Decimal("10")),
               RewardOption(3, "fixed_amount", 500, Decimal("5")), RewardOption(4, "fixed_amount", 1100, Decimal("10")),
               RewardOption(5, "fixed_amount", 900, Decimal("10"), active=False)]
    assert fallback_reward(credit, rewards) == 4
    assert fallback_reward(credit, [credit, RewardOption(2, "free_shipping", 750, Decimal("0"))]) == 2
    assert fallback_reward(credit, [credit]) is None  # no code reward at all: nothing to offer
