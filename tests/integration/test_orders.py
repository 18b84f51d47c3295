"""Orders earn, refunds and cancellations reverse what was actually earned, in any arrival order.

Bodies are Shopify's published samples (tests/helpers.py), re-keyed where the arithmetic is ours.
"""
from decimal import Decimal as D

import pytest

from loyalty_app import ledger
from loyalty_app.models import Campaign, LedgerEntry, Member, Tier, utcnow
from loyalty_app.services import orders
from loyalty_app.services.members import find_member
from loyalty_app.services.payloads import PayloadError
from tests.helpers import cancelled_order, money, payload, simple_order, simple_refund


def balance(session, shop, customer_id):
    member = find_member(session, shop.id, customer_id)
    return None if member is None else member.balance


def test_shopify_sample_order_earns_on_shop_money(session, shop):
    order = payload("rest-2026-07/order_450789469.json")
    result = orders.record_paid_order(session, shop, order)
    session.commit()
    # subtotal_price_set.shop_money is 597.00, no gift cards, tax not included: 597 points at 1/unit.
    assert result == "earned 597"
    member = find_member(session, shop.id, 207119551)
    assert member.email == "bob.norman@mail.example.com"
    # 597 reaches Silver at once (threshold 500) and its 100-point entry bonus.
    assert member.balance == 697
    assert session.get(Tier, member.tier_id).name == "Silver"


def test_presentment_currency_is_ignored(session, shop):
    order = simple_order(1, 5, "100.00")
    order["subtotal_price_set"] = {"shop_money": {"amount": "100.00", "currency_code": "USD"},
                                   "presentment_money": {"amount": "1080.00", "currency_code": "NOK"}}
    orders.record_paid_order(session, shop, order)
    assert balance(session, shop, 5) == 100


def test_shipping_and_tax_do_not_earn(session, shop):
    order = simple_order(1, 5, "50.00", total_shipping_price_set=money("9.00"), total_tax_set=money("12.50"),
                         total_price_set=money("71.50"))
    orders.record_paid_order(session, shop, order)
    assert balance(session, shop, 5) == 50


def test_included_tax_is_taken_out(session, shop):
    order = simple_order(1, 5, "125.00", taxes_included=True)
    order["line_items"][0]["tax_lines"] = [{"price": "25.00", "price_set": money("25.00"), "rate": 0.25,
                                            "title": "MVA"}]
    orders.record_paid_order(session, shop, order)
    assert balance(session, shop, 5) == 100


def test_gift_cards_do_not_earn(session, shop):
    order = simple_order(1, 5, "150.00")
    gift = dict(order["line_items"][0], id=99, gift_card=True, price="50.00", price_set=money("50.00"), quantity=1)
    order["line_items"].append(gift)
    orders.record_paid_order(session, shop, order)
    assert balance(session, shop, 5) == 100


def test_discounts_are_already_in_the_subtotal(session, shop):
    # Shopify's subtotal is after discounts: 80.00 of goods after a 20.00 code earns 80.
    order = simple_order(1, 5, "80.00", total_discounts_set=money("20.00"))
    orders.record_paid_order(session, shop, order)
    assert balance(session, shop, 5) == 80


def test_rate_and_rounding_settings(session, shop):
    shop.settings = {**shop.settings, "points_per_unit": "2.5", "rounding": "half_up"}
    orders.record_paid_order(session, shop, simple_order(1, 5, "10.30"))
    assert balance(session, shop, 5) == 26  # 25.75 rounds half up


def test_campaign_multiplier(session, shop):
    now = utcnow()
    session.add(Campaign(shop_id=shop.id, name="Double", multiplier=D("2"), starts_at=now.replace(year=2000),
                         ends_at=now.replace(year=2100)))
    orders.record_paid_order(session, shop, simple_order(1, 5, "100.00"))
    assert balance(session, shop, 5) == 200


def test_pending_period(session, shop):
    shop.settings = {**shop.settings, "pending_days": 30}
    orders.record_paid_order(session, shop, simple_order(1, 5, "100.00"))
    member = find_member(session, shop.id, 5)
    assert (member.balance, member.pending) == (0, 100)


def test_same_order_twice_earns_once(session, shop):
    orders.record_paid_order(session, shop, simple_order(1, 5, "100.00"))
    assert orders.record_paid_order(session, shop, simple_order(1, 5, "100.00")).startswith("duplicate")
    assert balance(session, shop, 5) == 100


def test_test_orders_ignored_unless_allowed(session, shop):
    assert orders.record_paid_order(session, shop, simple_order(1, 5, "100.00", test=True)).startswith("ignored")
    assert balance(session, shop, 5) is None
    shop.settings = {**shop.settings, "include_test_orders": True}
    orders.record_paid_order(session, shop, simple_order(1, 5, "100.00", test=True))
    assert balance(session, shop, 5) == 100


def test_partial_then_full_refund(session, shop):
    orders.record_paid_order(session, shop, simple_order(1, 5, "200.00"))
    assert orders.record_refund(session, shop, simple_refund(11, 1, "50.00")) == "reversed 50"
    assert orders.record_refund(session, shop, simple_refund(12, 1, "150.00")) == "reversed 150"
    assert balance(session, shop, 5) == 0


def test_refund_reverses_what_was_earned_not_the_current_rule(session, shop):
    orders.record_paid_order(session, shop, simple_order(1, 5, "100.00"))
    shop.settings = {**shop.settings, "points_per_unit": "10"}
    orders.record_refund(session, shop, simple_refund(11, 1, "100.00"))
    assert balance(session, shop, 5) == 0


def test_refund_in_tax_inclusive_shop(session, shop):
    order = simple_order(1, 5, "125.00", taxes_included=True)
    order["line_items"][0]["tax_lines"] = [{"price": "25.00", "price_set": money("25.00"), "title": "MVA"}]
    orders.record_paid_order(session, shop, order)
    orders.record_refund(session, shop, simple_refund(11, 1, "62.50", tax="12.50"))
    assert balance(session, shop, 5) == 50


def test_replayed_refund_reverses_once(session, shop):
    orders.record_paid_order(session, shop, simple_order(1, 5, "100.00"))
    orders.record_refund(session, shop, simple_refund(11, 1, "40.00"))
    assert orders.record_refund(session, shop, simple_refund(11, 1, "40.00")).startswith("duplicate")
    assert balance(session, shop, 5) == 60


def test_cancellation_reverses_the_rest_and_refund_after_it_nothing(session, shop):
    orders.record_paid_order(session, shop, simple_order(1, 5, "100.00"))
    orders.record_refund(session, shop, simple_refund(11, 1, "30.00"))
    assert orders.record_cancellation(session, shop, cancelled_order(1)) == "reversed 70"
    assert orders.record_refund(session, shop, simple_refund(12, 1, "70.00")) == "reversed 0"
    assert balance(session, shop, 5) == 0
    entries = session.query(LedgerEntry).filter_by(kind="reversal").all()
    assert sum(e.amount for e in entries) == -100


def test_refund_and_cancel_before_paid_are_held(session, shop):
    assert orders.record_refund(session, shop, simple_refund(11, 1, "25.00")).startswith("held")
    assert orders.record_cancellation(session, shop, cancelled_order(1)).startswith("held")
    assert balance(session, shop, 5) is None
    orders.record_paid_order(session, shop, simple_order(1, 5, "100.00"))
    assert balance(session, shop, 5) == 0
    kinds = sorted((e.kind, e.amount) for e in session.query(LedgerEntry).all())
    assert kinds == [("earn", 100), ("reversal", -75), ("reversal", -25)]


def test_reversal_of_pending_points_stays_pending(session, shop):
    shop.settings = {**shop.settings, "pending_days": 14}
    orders.record_paid_order(session, shop, simple_order(1, 5, "100.00"))
    orders.record_refund(session, shop, simple_refund(11, 1, "100.00"))
    member = find_member(session, shop.id, 5)
    assert (member.balance, member.pending) == (0, 0)
    assert ledger.audit(session) == []


def test_guest_order_credited_when_customer_appears(session, shop):
    shop.settings = {**shop.settings, "credit_guest_orders": True}
    guest = simple_order(1, None, "100.00", email="Guest@Example.com")
    assert orders.record_paid_order(session, shop, guest) == "held: guest order"
    member = Member(shop_id=shop.id, customer_id=77, email="guest@example.com", balance=0, pending=0, lifetime=0)
    session.add(member)
    session.flush()
    assert orders.credit_guest_orders(session, shop, member) == 100
    assert member.balance == 100


def test_guest_orders_not_credited_when_disabled(session, shop):
    orders.record_paid_order(session, shop, simple_order(1, None, "100.00", email="g@example.com"))
    member = Member(shop_id=shop.id, customer_id=77, email="g@example.com", balance=0, pending=0, lifetime=0)
    session.add(member)
    session.flush()
    assert orders.credit_guest_orders(session, shop, member) == 0


@pytest.mark.parametrize("mutate", [
    lambda o: o.pop("id"),
    lambda o: o.update(id=-4),
    lambda o: o.update(subtotal_price_set={"shop_money": {"amount": "-5.00"}}),
    lambda o: o.update(subtotal_price_set={"shop_money": {"amount": "NaN"}}),
    lambda o: o.pop("subtotal_price_set"),
    lambda o: o.update(processed_at="yesterday"),
])
def test_malformed_orders_are_payload_errors(session, shop, mutate):
    order = simple_order(1, 5, "10.00")
    mutate(order)
    with pytest.raises(PayloadError):
        orders.record_paid_order(session, shop, order)
    assert session.query(LedgerEntry).count() == 0


def test_negative_refund_is_a_payload_error(session, shop):
    with pytest.raises(PayloadError):
        orders.record_refund(session, shop, simple_refund(11, 1, "-5.00"))
