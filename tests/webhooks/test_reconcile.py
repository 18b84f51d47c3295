"""Reconciliation credits paid orders the webhooks missed, on the same path and keys as the webhook."""
import responses

from loyalty_app.models import LedgerEntry
from loyalty_app.services.members import find_member
from loyalty_app.services.reconcile import graphql_order_facts
from tests.conftest import SHOP_DOMAIN
from tests.fake_admin import FakeAdmin
from tests.helpers import simple_order


def node(order_id, customer_id, subtotal, *, test=False, gift_card=None, taxes_included=False, tax="0.00"):
    """An Admin GraphQL Order shaped like PaidOrders.graphql selects it."""
    lines = [{"isGiftCard": False, "quantity": 1, "originalUnitPriceSet": {"shopMoney": {"amount": subtotal}},
              "discountAllocations": [], "taxLines": [{"priceSet": {"shopMoney": {"amount": tax}}}]}]
    if gift_card:
        lines.append({"isGiftCard": True, "quantity": 1, "originalUnitPriceSet": {"shopMoney": {"amount": gift_card}},
                      "discountAllocations": [], "taxLines": []})
    return {"id": f"gid://shopify/Order/{order_id}", "legacyResourceId": str(order_id), "test": test,
            "email": f"c{customer_id}@example.com", "processedAt": "2026-11-23T10:00:00Z",
            "taxesIncluded": taxes_included, "displayFinancialStatus": "PAID",
            "subtotalPriceSet": {"shopMoney": {"amount": subtotal, "currencyCode": "USD"}},
            "customer": {"legacyResourceId": str(customer_id), "email": f"c{customer_id}@example.com",
                         "firstName": "Kari", "lastName": "Nordmann"},
            "lineItems": {"nodes": lines}}


def page(nodes, cursor=None):
    return {"orders": {"pageInfo": {"hasNextPage": cursor is not None, "endCursor": cursor}, "nodes": nodes}}


def test_graphql_order_facts_match_the_webhook_rules():
    facts = graphql_order_facts(node(9, 5, "150.00", gift_card="50.00"))
    assert (facts.order_id, facts.customer.customer_id, facts.amounts.subtotal, facts.amounts.gift_cards) == \
        (9, 5, 150, 50)
    taxed = graphql_order_facts(node(9, 5, "125.00", taxes_included=True, tax="25.00"))
    assert taxed.amounts.included_tax == 25


def test_reconcile_credits_only_what_was_missed(runner, deliver, session, shop):
    deliver("orders/paid", simple_order(1, 5, "100.00"))
    with responses.RequestsMock() as rsps:
        fake = FakeAdmin(rsps)
        fake.answer(page([node(1, 5, "100.00"), node(2, 5, "40.00")], cursor="next"))
        fake.answer(page([node(3, 6, "70.00", test=True)]))
        result = runner.invoke(args=["loyalty", "reconcile", SHOP_DOMAIN, "--hours", "24"])
        assert result.exit_code == 0, result.output
        assert "3 paid orders seen, 1 credited (40 points)" in result.output
        fake.answer(page([node(1, 5, "100.00"), node(2, 5, "40.00")]))
        again = runner.invoke(args=["loyalty", "reconcile", SHOP_DOMAIN])
        assert "2 paid orders seen, 0 credited" in again.output
    assert find_member(session, shop.id, 5).balance == 140
    assert session.query(LedgerEntry).filter_by(kind="earn").count() == 2
    assert find_member(session, shop.id, 6) is None


def test_reconcile_unknown_shop(runner, shop):
    result = runner.invoke(args=["loyalty", "reconcile", "nobody.myshopify.com"])
    assert result.exit_code == 1 and "no shop" in result.output
