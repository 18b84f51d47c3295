"""Refunds follow the money that left the order's eligible amount; edits earn or reverse the difference.

Bodies are Shopify's published order and refund samples (tests/helpers.py), re-keyed with our own arithmetic.
"""
import pytest

from loyalty_app.models import LedgerEntry, OrderLine
from loyalty_app.services import orders
from loyalty_app.services.members import find_member
from loyalty_app.services.payloads import PayloadError, order_facts
from loyalty_app.services.shops import update_settings
from tests.helpers import line_item, money, refund_of, simple_order

LINE = 466157049  # the line id simple_order keeps from Shopify's sample


def balance(session, shop, customer_id=5):
    member = find_member(session, shop.id, customer_id)
    return None if member is None else member.balance


def test_money_only_refund_of_50_on_a_100_order_reverses_50(session, shop):
    orders.record_paid_order(session, shop, simple_order(1, 5, "100.00", total_price_set=money("100.00")))
    refund = refund_of(11, 1, discrepancy="-50.00", paid="50.00")
    assert orders.record_refund(session, shop, refund) == "reversed 50"
    assert balance(session, shop) == 50


def test_money_only_refund_without_adjustment_counts_its_transactions(session, shop):
    orders.record_paid_order(session, shop, simple_order(1, 5, "100.00", total_price_set=money("100.00")))
    assert orders.record_refund(session, shop, refund_of(11, 1, paid="30.00")) == "reversed 30"


def test_money_only_refund_counts_only_the_eligible_share_of_the_order(session, shop):
    # 100 of goods + 10 shipping + 10 tax = 120 paid; 60 given back is half the order: half the goods.
    orders.record_paid_order(session, shop, simple_order(1, 5, "100.00", total_price_set=money("120.00")))
    assert orders.record_refund(session, shop, refund_of(11, 1, discrepancy="-60.00", paid="60.00")) == "reversed 50"


def test_zero_money_restock_reverses_nothing(session, shop):
    orders.record_paid_order(session, shop, simple_order(1, 5, "100.00"))
    restock = refund_of(11, 1, [(LINE, 1, "100.00")], discrepancy="100.00")
    assert orders.record_refund(session, shop, restock) == "reversed 0"
    exchange = refund_of(12, 1, [(LINE, 1, "100.00")], paid="0.00")
    assert orders.record_refund(session, shop, exchange) == "reversed 0"
    assert balance(session, shop) == 100


def test_items_returned_setting_reverses_returned_lines_whatever_was_paid(session, shop):
    update_settings(shop, {"reverse_on": "items_returned"})
    orders.record_paid_order(session, shop, simple_order(1, 5, "100.00"))
    restock = refund_of(11, 1, [(LINE, 1, "100.00")], discrepancy="100.00")
    assert orders.record_refund(session, shop, restock) == "reversed 100"
    goodwill = refund_of(12, 1, discrepancy="-20.00", paid="20.00")
    assert orders.record_refund(session, shop, goodwill) == "reversed 0"


def test_tip_line_refund_reverses_nothing_and_tips_never_earn(session, shop):
    order = simple_order(1, 5, "100.00")
    order["line_items"].append(line_item(900, "15.00", tip_payment_gateway="shopify_payments",
                                         tip_payment_method="card"))
    assert orders.record_paid_order(session, shop, order) == "earned 100"
    tip = refund_of(11, 1, [(900, 1, "15.00")], paid="15.00",
                    line_extra={"tip_payment_gateway": "shopify_payments", "tip_payment_method": "card"})
    assert orders.record_refund(session, shop, tip) == "reversed 0"
    assert balance(session, shop) == 100


def test_shipping_only_refund_reverses_nothing(session, shop):
    orders.record_paid_order(session, shop, simple_order(1, 5, "100.00", total_price_set=money("110.00")))
    assert orders.record_refund(session, shop, refund_of(11, 1, shipping="10.00", paid="10.00")) == "reversed 0"


def test_refund_reverses_by_line_item_what_that_line_earned(session, shop):
    # Two lines: 60 with a 10 discount (earns 50) and 50. Returning the first takes back 50, not its 60 price.
    order = simple_order(1, 5, "100.00")
    first = line_item(LINE, "60.00", discount_allocations=[{"amount": "10.00", "amount_set": money("10.00"),
                                                            "discount_application_index": 0}])
    order["line_items"] = [first, line_item(2, "25.00", quantity=2)]
    orders.record_paid_order(session, shop, order)
    assert orders.record_refund(session, shop, refund_of(11, 1, [(LINE, 1, "60.00")], paid="60.00")) == "reversed 50"
    # One of the two units of the second line: half of its 50.
    assert orders.record_refund(session, shop, refund_of(12, 1, [(2, 1, "25.00")], paid="25.00")) == "reversed 25"
    assert balance(session, shop) == 25


def test_refunds_never_reverse_more_than_the_order_earned(session, shop):
    orders.record_paid_order(session, shop, simple_order(1, 5, "100.00", total_price_set=money("100.00")))
    orders.record_refund(session, shop, refund_of(11, 1, [(LINE, 1, "100.00")], paid="100.00"))
    assert orders.record_refund(session, shop, refund_of(12, 1, discrepancy="-40.00", paid="40.00")) == "reversed 0"
    assert sum(e.amount for e in session.query(LedgerEntry).filter_by(kind="reversal")) == -100


def test_held_refund_is_measured_against_the_lines_when_the_order_earns(session, shop):
    assert orders.record_refund(session, shop, refund_of(11, 1, discrepancy="-50.00", paid="50.00")).startswith("held")
    orders.record_paid_order(session, shop, simple_order(1, 5, "100.00", total_price_set=money("100.00")))
    assert balance(session, shop) == 50


def edited(order_id, updated_at, added=(), removed=()):
    """``orders/updated`` after an edit: Shopify keeps the original subtotal and adds or zeroes lines."""
    order = simple_order(order_id, 5, "100.00", updated_at=updated_at)
    for line_id, price in added:
        order["line_items"].append(line_item(line_id, price))
    for line_id in removed:
        next(line for line in order["line_items"] if line["id"] == line_id)["current_quantity"] = 0
    return order


def test_edit_adding_60_to_a_paid_100_order_earns_60(deliver, session, shop):
    deliver("orders/paid", simple_order(1, 5, "100.00", updated_at="2026-11-20T10:00:00-05:00"))
    assert deliver("orders/updated", edited(1, "2026-11-20T11:00:00-05:00", added=[(700, "60.00")])).status_code == 200
    assert balance(session, shop) == 160
    entry = session.query(LedgerEntry).filter(LedgerEntry.idempotency_key.like("edit:1:%")).one()
    assert (entry.kind, entry.amount, entry.detail["eligible_after"]) == ("earn", 60, "160.0000")


def test_edits_replayed_or_reordered_end_at_the_same_points(session, shop):
    orders.record_paid_order(session, shop, simple_order(1, 5, "100.00", updated_at="2026-11-20T10:00:00Z"))
    added = order_facts(edited(1, "2026-11-20T11:00:00Z", added=[(700, "60.00")]))
    removed = order_facts(edited(1, "2026-11-20T12:00:00Z", added=[(700, "60.00")], removed=[LINE]))
    # The newest state first, then the older one and a replay: the older change nothing.
    assert orders.record_order_edit(session, shop, removed) == "edited: -40 points"
    assert orders.record_order_edit(session, shop, added).startswith("no change")
    assert orders.record_order_edit(session, shop, removed).startswith("no change")
    assert balance(session, shop) == 60
    # A refund of the added line afterwards reverses what that line earned.
    assert orders.record_refund(session, shop, refund_of(11, 1, [(700, 1, "60.00")], paid="60.00")) == "reversed 60"
    assert balance(session, shop) == 0


def test_edit_in_order_gives_the_same_as_out_of_order(session, shop):
    orders.record_paid_order(session, shop, simple_order(1, 5, "100.00", updated_at="2026-11-20T10:00:00Z"))
    assert orders.record_order_edit(session, shop, order_facts(
        edited(1, "2026-11-20T11:00:00Z", added=[(700, "60.00")]))) == "edited: +60 points"
    assert orders.record_order_edit(session, shop, order_facts(
        edited(1, "2026-11-20T12:00:00Z", added=[(700, "60.00")], removed=[LINE]))) == "edited: -100 points"
    assert balance(session, shop) == 60
    assert {line.line_item_id: line.quantity for line in session.query(OrderLine)} == {LINE: 0, 700: 1}


def test_refund_is_not_taken_for_an_edit(session, shop):
    """``current_quantity`` drops for a refund too; the order's refunds put it back, so only the refund reverses."""
    orders.record_paid_order(session, shop, simple_order(1, 5, "100.00", updated_at="2026-11-20T10:00:00Z"))
    orders.record_refund(session, shop, refund_of(11, 1, [(LINE, 1, "100.00")], paid="100.00"))
    after = edited(1, "2026-11-20T11:00:00Z", removed=[LINE])
    after["refunds"] = [{"id": 11, "refund_line_items": [{"line_item_id": LINE, "quantity": 1}]}]
    assert orders.record_order_edit(session, shop, order_facts(after)).startswith("no change")
    assert balance(session, shop) == 0


def test_the_paid_order_is_the_baseline_for_later_edits(session, shop):
    order = edited(1, "2026-11-20T11:00:00Z", added=[(700, "60.00")])
    assert orders.record_paid_order(session, shop, order) == "earned 100"
    assert orders.record_order_edit(session, shop, order_facts(order)).startswith("no change")
    later = edited(1, "2026-11-20T12:00:00Z", added=[(700, "60.00")], removed=[700])
    assert orders.record_order_edit(session, shop, order_facts(later)) == "edited: -60 points"


def test_edit_of_an_order_that_never_earned_changes_nothing(session, shop):
    facts = order_facts(edited(1, "2026-11-20T11:00:00Z", added=[(700, "60.00")]))
    assert orders.record_order_edit(session, shop, facts) == "no change: order has not earned"
    assert balance(session, shop) is None


@pytest.mark.parametrize("mutate, message", [
    (lambda o: o["line_items"].append("not an object"), "line_items.1"),
    (lambda o: o.update(id=2**64), "id"),
    (lambda o: o["line_items"][0].pop("id"), "line_items.0.id"),
    (lambda o: o.update(line_items={"id": 1}), "line_items"),
])
def test_malformed_lines_fail_with_a_readable_error(session, shop, mutate, message):
    order = simple_order(1, 5, "10.00")
    mutate(order)
    with pytest.raises(PayloadError, match=message.replace(".", r"\.")):
        orders.record_paid_order(session, shop, order)


def test_refund_with_a_line_that_is_not_an_object_is_a_payload_error(session, shop):
    refund = refund_of(11, 1)
    refund["refund_line_items"] = [7]
    with pytest.raises(PayloadError, match="refund_line_items.0"):
        orders.record_refund(session, shop, refund)


def test_minimum_order_and_excluded_members_earn_nothing(session, shop):
    update_settings(shop, {"minimum_order_amount": "50"})
    assert orders.record_paid_order(session, shop, simple_order(1, 5, "49.99")) == "ignored: below the minimum of 50"
    find_member(session, shop.id, 5).excluded = True
    assert orders.record_paid_order(session, shop, simple_order(2, 5, "80.00")).startswith("ignored: member excluded")
    assert balance(session, shop) == 0


def test_every_order_entry_says_what_produced_it(session, shop):
    version = shop.program_version
    update_settings(shop, {"points_per_unit": "2"})
    assert shop.program_version == version + 1
    update_settings(shop, {"points_per_unit": "2"})  # no change, no new version
    assert shop.program_version == version + 1
    orders.record_paid_order(session, shop, simple_order(1, 5, "10.50"))
    earn = session.query(LedgerEntry).filter_by(kind="earn").one()
    assert earn.detail["program_version"] == version + 1
    assert earn.detail["formula"] == "floor(10.50 × 2 × 1 × 1) = 21"
    orders.record_refund(session, shop, refund_of(11, 1, [(LINE, 1, "10.50")], paid="10.50"))
    reversal = session.query(LedgerEntry).filter_by(kind="reversal").one()
    assert (reversal.amount, reversal.detail["refunded_eligible"], reversal.detail["reverse_on"]) == \
        (-21, "10.5000", "money_refunded")
