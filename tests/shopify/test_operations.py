"""Discount codes, metafields, tags and order listing: the variables Shopify receives, checked against its schema."""
import re
from datetime import datetime, timezone
from decimal import Decimal

import pytest
import responses

from loyalty_app.shopify import customers, discounts, orders
from loyalty_app.shopify.client import AdminClient
from loyalty_app.shopify.errors import ShopifyError
from loyalty_app.shopify.documents import document
from tests.fake_admin import FakeAdmin, shaped
from tests.webhooks.test_reconcile import gql_line, gql_order, gql_refund

NOW = datetime(2026, 11, 24, 12, tzinfo=timezone.utc)
CREATED = {"codeDiscountNode": {"id": "gid://shopify/DiscountCodeNode/77"}, "userErrors": []}


@pytest.fixture
def fake():
    with responses.RequestsMock() as rsps:
        yield FakeAdmin(rsps)


@pytest.fixture
def client():
    return AdminClient("demo-shop.myshopify.com", "t", api_version="2026-10", sleep=lambda _: None)


def request(kind, value, **extra):
    return discounts.CodeRequest(code="LOYAL-AAAA-BBBB", title="5 off", kind=kind, value=Decimal(value),
                                 customer_id=207119551, starts_at=NOW, **extra)


def test_codes_are_readable_and_unguessable():
    codes = {discounts.new_code() for _ in range(500)}
    assert len(codes) == 500
    assert all(re.fullmatch(r"LOYAL-[A-HJ-KM-NP-Z2-9]{4}-[A-HJ-KM-NP-Z2-9]{4}", c) for c in codes)
    assert discounts.ours(["loyal-aaaa-bbbb", "TENOFF", "LOYALTY10"]) == {"LOYAL-AAAA-BBBB"}


def test_fixed_amount_code_for_one_customer(fake, client):
    fake.answer({"discountCodeBasicCreate": CREATED})
    assert discounts.create_code(client, request("fixed_amount", "5", minimum_subtotal=Decimal("20"),
                                                 ends_at=NOW.replace(year=2027))) == CREATED["codeDiscountNode"]["id"]
    sent = fake.requests[0]["variables"]["basicCodeDiscount"]
    assert sent["context"] == {"customers": {"add": ["gid://shopify/Customer/207119551"]}}
    assert "customerSelection" not in sent
    assert (sent["usageLimit"], sent["appliesOncePerCustomer"]) == (1, True)
    assert sent["customerGets"]["value"] == {"discountAmount": {"amount": "5", "appliesOnEachItem": False}}
    assert sent["minimumRequirement"] == {"subtotal": {"greaterThanOrEqualToSubtotal": "20"}}


def test_percentage_code(fake, client):
    fake.answer({"discountCodeBasicCreate": CREATED})
    discounts.create_code(client, request("percentage", "10", combines_with={"order_discounts": True}))
    sent = fake.requests[0]["variables"]["basicCodeDiscount"]
    assert sent["customerGets"]["value"] == {"percentage": 0.1}
    assert sent["combinesWith"]["orderDiscounts"] is True


def test_free_shipping_code(fake, client):
    fake.answer({"discountCodeFreeShippingCreate": CREATED})
    discounts.create_code(client, request("free_shipping", "0"))
    sent = fake.requests[0]["variables"]["freeShippingCodeDiscount"]
    assert sent["destination"] == {"all": True} and sent["code"] == "LOYAL-AAAA-BBBB"


def test_deactivate(fake, client):
    fake.answer({"discountCodeDeactivate": CREATED})
    discounts.deactivate_code(client, "gid://shopify/DiscountCodeNode/77")
    assert fake.requests[0]["variables"] == {"id": "gid://shopify/DiscountCodeNode/77"}


def test_usage_count(fake, client):
    fake.answer({"codeDiscountNode": {"codeDiscount": {"__typename": "DiscountCodeFreeShipping",
                                                       "asyncUsageCount": 2}}})
    fake.answer({"codeDiscountNode": None})
    assert discounts.usage_count(client, "gid://shopify/DiscountCodeNode/77") == 2
    assert discounts.usage_count(client, "gid://shopify/DiscountCodeNode/78") is None  # deleted in Shopify
    assert [r["variables"] for r in fake.requests] == [{"id": "gid://shopify/DiscountCodeNode/77"},
                                                       {"id": "gid://shopify/DiscountCodeNode/78"}]


def test_unknown_reward_kind(client):
    with pytest.raises(ValueError):
        discounts.create_code(client, request("gift", "1"))


def test_standings_are_written_25_metafields_a_call(fake, client):
    for _ in range(3):
        fake.answer({"metafieldsSet": {"metafields": [], "userErrors": []}})
    standings = [customers.Standing(1000 + i, i * 10, "Gold" if i % 2 else None) for i in range(30)]
    assert customers.write_standings(client, standings) == 3  # 60 metafields
    sizes = [len(r["variables"]["metafields"]) for r in fake.requests]
    assert sizes == [25, 25, 10]
    first = fake.requests[0]["variables"]["metafields"][:2]
    assert first == [
        {"ownerId": "gid://shopify/Customer/1000", "namespace": "$app:loyalty", "key": "balance",
         "type": "number_integer", "value": "0"},
        {"ownerId": "gid://shopify/Customer/1000", "namespace": "$app:loyalty", "key": "tier",
         "type": "single_line_text_field", "value": ""}]


def test_tier_tags(fake, client):
    fake.answer({"tagsRemove": {"userErrors": []}}).answer({"tagsAdd": {"userErrors": []}})
    customers.set_tier_tag(client, 5, "Gold", ["Bronze", "Silver", "Gold"])
    assert fake.requests[0]["variables"]["tags"] == ["loyalty-tier:Bronze", "loyalty-tier:Silver"]
    assert fake.requests[1]["variables"]["tags"] == ["loyalty-tier:Gold"]


def as_selected(name, data, **variables):
    """``data`` cut down to what document ``name`` selects (our builders carry more than each document asks)."""
    return shaped(document(name), variables, data)


def _order(line_ids, cursor):
    """A whole Admin GraphQL order (the fake refuses any answer Shopify could not send) with one page of lines."""
    order = {k: v for k, v in gql_order(1, 5, [], subtotal="10.00").items() if k != "all_lines"}
    lines = [gql_line(i, "10.00") for i in line_ids]
    return {**order, "lineItems": {"pageInfo": {"hasNextPage": cursor is not None, "endCursor": cursor},
                                   "nodes": lines}}


def test_changed_orders_follow_cursors_and_read_every_line(fake, client):
    query = {"query": "updated_at:>='x'", "after": None}
    fake.answer(as_selected("ChangedOrders", {"orders": {"pageInfo": {"hasNextPage": True, "endCursor": "c1"},
                                                         "nodes": [_order([1], "l1")]}}, **query))
    fake.answer(as_selected("OrderLineItems", {"order": {"lineItems": {
        "pageInfo": {"hasNextPage": False, "endCursor": None}, "nodes": [gql_line(2, "10.00")]}}},
        id="gid://shopify/Order/1", after=None))
    fake.answer(as_selected("ChangedOrders", {"orders": {"pageInfo": {"hasNextPage": False, "endCursor": None},
                                                         "nodes": [_order([1], None), _order([1], None)]}}, **query))
    found = list(orders.changed_orders(client, NOW.replace(day=1), NOW))
    assert len(found) == 3
    assert [len(o["lineItems"]["nodes"]) for o in found] == [2, 1, 1]
    assert [r["variables"]["after"] for r in fake.requests] == [None, "l1", "c1"]
    assert fake.requests[1]["variables"]["id"] == "gid://shopify/Order/1"
    assert "financial_status:partially_refunded" in fake.requests[0]["variables"]["query"]


def _refund(line_ids, cursor, adjustments_beyond_page=False):
    refund = {k: v for k, v in gql_refund(9, [(i, 1, "5.00") for i in line_ids]).items() if k != "all_lines"}
    lines = gql_refund(9, [(i, 1, "5.00") for i in line_ids])["all_lines"]
    refund["refundLineItems"] = {"pageInfo": {"hasNextPage": cursor is not None, "endCursor": cursor},
                                 "nodes": lines}
    refund["orderAdjustments"]["pageInfo"]["hasNextPage"] = adjustments_beyond_page
    return as_selected("RefundDetail", {"refund": refund}, id="gid://shopify/Refund/9", after=None)


def test_a_refund_reads_every_page_of_its_lines(fake, client):
    fake.answer(_refund([1], "r1")).answer(_refund([2], None))
    found = orders.refund_detail(client, "gid://shopify/Refund/9")
    assert [line["lineItem"]["id"] for line in found["refundLineItems"]["nodes"]] == \
        ["gid://shopify/LineItem/1", "gid://shopify/LineItem/2"]
    assert [r["variables"]["after"] for r in fake.requests] == [None, "r1"]


def test_a_refund_with_more_adjustments_than_one_page_fails_clearly(fake, client):
    fake.answer(_refund([1], None, adjustments_beyond_page=True))
    with pytest.raises(ShopifyError, match="more than 20 orderAdjustments"):
        orders.refund_detail(client, "gid://shopify/Refund/9")

