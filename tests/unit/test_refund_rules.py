"""The pure refund rules: what one refund takes away from an order's eligible amount."""
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loyalty_app.program.orders import OrderBasis, RefundFacts, RefundLine, refunded_eligible

ORDER = OrderBasis(eligible=D("100"), total=D("120"), presentment_total=D("1200"), currency="USD",
                   taxes_included=False, line_eligible={1: (2, D("80")), 2: (1, D("20"))})


def refund(*lines, discrepancy="0", money=None, currency="USD", shipping="0"):
    return RefundFacts(9, 1, tuple(RefundLine(*line) for line in lines), D(discrepancy),
                       None if money is None else D(money), currency, D(shipping))


@pytest.mark.parametrize("facts, money_mode, items_mode", [
    (refund((1, 1, D("45"))), D("40"), D("40")),                             # by line: half of line 1's 80
    (refund((1, 1, D("45")), discrepancy="40", money="0"), D("0"), D("40")),  # restock, nothing paid back
    (refund((1, 1, D("45")), discrepancy="10", money="30"), D("30"), D("40")),  # 10 of the line kept
    (refund(discrepancy="-60", money="60"), D("50"), D("0")),                 # half the order's money
    (refund(money="600", currency="NOK"), D("50"), D("0")),                   # half, in the buyer's currency
    (refund(money="12", shipping="12"), D("0"), D("0")),                      # shipping only
    (refund((3, 1, D("10"), D("0"), "tip"), money="10"), D("0"), D("0")),     # a tip
    (refund((4, 1, D("25"), D("0"), "gift_card"), money="25"), D("0"), D("0")),
    (refund((9, 1, D("7"), D("0"))), D("7"), D("7")),                        # a line we never recorded
])
def test_refunded_eligible(facts, money_mode, items_mode):
    assert refunded_eligible(facts, ORDER, "money_refunded") == money_mode
    assert refunded_eligible(facts, ORDER, "items_returned") == items_mode


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError):
        refunded_eligible(refund(), ORDER, "vibes")


@given(st.lists(st.tuples(st.sampled_from([1, 2, 9]), st.integers(0, 5), st.decimals(0, 500, places=2)), max_size=4),
       st.decimals(-500, 500, places=2), st.one_of(st.none(), st.decimals(0, 2000, places=2)))
def test_never_negative_and_json_round_trips(lines, discrepancy, money):
    facts = refund(*lines, discrepancy=str(discrepancy), money=None if money is None else str(money))
    for mode in ("money_refunded", "items_returned"):
        assert refunded_eligible(facts, ORDER, mode) >= 0
    assert RefundFacts.from_json(9, 1, facts.to_json()) == facts
