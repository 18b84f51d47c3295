"""``loyalty explain DOMAIN ORDER_ID``: every webhook and entry of one order, and why it earned what it did."""
from tests.conftest import SHOP_DOMAIN
from tests.helpers import refund_of, simple_order


def explain(runner, order_id):
    return runner.invoke(args=["loyalty", "explain", SHOP_DOMAIN, str(order_id)])


def test_explains_an_earned_order(runner, deliver, shop):
    deliver("orders/paid", simple_order(1, 5, "120.00"), webhook_id="paid-1")
    result = explain(runner, 1)
    assert result.exit_code == 0, result.output
    assert "order 1: earned 120, reversed 0, stands at 120" in result.output
    assert "orders/paid [paid-1] processed: earned 120" in result.output
    assert "earn +120 [order:1] available" in result.output
    assert "formula: floor(120.00 × 1 × 1 × 1) = 120" in result.output
    assert "program_version: 1" in result.output


def test_explains_a_guest_order(runner, deliver, shop):
    deliver("orders/paid", simple_order(2, None, "80.00"), webhook_id="guest-2")
    result = explain(runner, 2)
    assert result.exit_code == 0, result.output
    assert "order 2: earned nothing: ignored: guest order" in result.output
    assert "guest (no customer)" in result.output
    assert "entries:\n  none" in result.output


def test_explains_a_refunded_order(runner, deliver, shop):
    deliver("orders/paid", simple_order(3, 5, "100.00", total_price_set={
        "shop_money": {"amount": "100.00", "currency_code": "USD"}}), webhook_id="paid-3")
    deliver("refunds/create", refund_of(31, 3, discrepancy="-40.00", paid="40.00"), webhook_id="refund-31")
    result = explain(runner, 3)
    assert result.exit_code == 0, result.output
    assert "order 3: earned 100, reversed 40, stands at 60" in result.output
    assert "refunds/create [refund-31] processed: reversed 40" in result.output
    assert "refund 31: took 40.0000 of the eligible amount" in result.output
    assert "reversal -40 [refund:31] available — Refund 31" in result.output
    assert "refunded_eligible: 40.0000" in result.output


def test_explains_a_test_order_and_an_unknown_one(runner, deliver, shop):
    deliver("orders/paid", simple_order(4, 5, "50.00", test=True), webhook_id="test-4")
    result = explain(runner, 4)
    assert "order 4: never earned: ignored: test order" in result.output
    unknown = explain(runner, 999)
    assert unknown.exit_code == 1
    assert "unknown: no webhook or entry for this order" in unknown.output


def test_explain_refuses_bad_input(runner, shop):
    assert runner.invoke(args=["loyalty", "explain", "nope.myshopify.com", "1"]).exit_code == 1
    bad = runner.invoke(args=["loyalty", "explain", SHOP_DOMAIN, "-3"])
    assert bad.exit_code == 2 and "ORDER_ID" in bad.output
