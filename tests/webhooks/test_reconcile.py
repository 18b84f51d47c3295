"""Reconciliation catches up on what the webhooks missed (payments, refunds, cancellations, edits)
through the webhooks' own paths and keys, from Admin GraphQL answers shaped by our documents."""
from datetime import datetime, timezone

import pytest
import responses

from loyalty_app.models import LedgerEntry, OrderLine, OrderRecord
from loyalty_app.services.members import find_member
from loyalty_app.services.payloads import PayloadError, order_facts, refund_facts
from loyalty_app.services.reconcile import graphql_order_facts, graphql_refund_facts, reconcile
from loyalty_app.shopify.documents import document
from loyalty_app.shopify.orders import changed_orders_query
from tests.conftest import SHOP_DOMAIN
from tests.fake_admin import FakeAdmin
from tests.helpers import money, simple_order, simple_refund

PAID_AT = "2026-11-23T10:00:00Z"
REFUNDED_AT = "2026-11-23T15:00:00Z"


def bag(amount, currency="USD"):
    """A GraphQL MoneyBag with the same amount in shop and presentment currency."""
    return {"shopMoney": {"amount": amount, "currencyCode": currency},
            "presentmentMoney": {"amount": amount, "currencyCode": currency}}


def gql_line(line_id, unit, quantity=1, current=None, gift_card=False):
    """An Admin GraphQL LineItem as ChangedOrders.graphql selects it."""
    return {"id": f"gid://shopify/LineItem/{line_id}", "quantity": quantity,
            "currentQuantity": quantity if current is None else current, "isGiftCard": gift_card,
            "originalUnitPriceSet": bag(unit), "discountAllocations": [], "taxLines": []}


def gql_order(order_id, customer_id, lines, *, subtotal, status="PAID", refunds=(), updated_at=PAID_AT,
              cancelled_at=None, tip="0.00", test=False):
    """An Admin GraphQL Order as ChangedOrders.graphql selects it, with all its line items."""
    return {"id": f"gid://shopify/Order/{order_id}", "legacyResourceId": str(order_id), "test": test,
            "email": f"c{customer_id}@example.com", "processedAt": PAID_AT, "updatedAt": updated_at,
            "cancelledAt": cancelled_at, "taxesIncluded": False, "displayFinancialStatus": status,
            "discountCodes": [], "subtotalPriceSet": bag(subtotal), "totalPriceSet": bag(subtotal),
            "totalTipReceivedSet": bag(tip),
            "customer": {"legacyResourceId": str(customer_id), "email": f"c{customer_id}@example.com",
                         "firstName": "Kari", "lastName": "Nordmann"},
            "refunds": [{"id": f"gid://shopify/Refund/{r}"} for r in refunds],
            "all_lines": lines}


def gql_refund(refund_id, lines=(), *, money_back=None, adjustments=(), shipping=()):
    """An Admin GraphQL Refund as RefundDetail.graphql selects it; ``lines`` are (line_id, quantity, subtotal)."""
    return {"legacyResourceId": str(refund_id),
            "all_lines": [{"quantity": q, "lineItem": {"id": f"gid://shopify/LineItem/{i}", "isGiftCard": False},
                           "subtotalSet": bag(s), "totalTaxSet": bag("0.00")} for i, q, s in lines],
            "orderAdjustments": {"pageInfo": {"hasNextPage": False},
                                 "nodes": [{"reason": "REFUND_DISCREPANCY", "amountSet": bag(a)} for a in adjustments]},
            "transactions": {"pageInfo": {"hasNextPage": False}, "nodes": [] if money_back is None else [
                {"kind": "REFUND", "status": "SUCCESS", "amountSet": bag(money_back)}]},
            "refundShippingLines": {"pageInfo": {"hasNextPage": False},
                                    "nodes": [{"subtotalAmountSet": bag(s)} for s in shipping]}}


def _page(items, after, size):
    start = int(after or 0)
    return {"pageInfo": {"hasNextPage": start + size < len(items), "endCursor": str(start + size)},
            "nodes": items[start:start + size]}


class Store:
    """A shop's orders and refunds behind the fake Admin endpoint, paged the way our documents ask."""

    def __init__(self, fake):
        self.orders, self.refunds, self.tips = [], {}, {}
        fake.serve("ChangedOrders", self.changed_orders).serve("OrderLineItems", self.line_items)
        fake.serve("RefundDetail", self.refund).serve("OrderTipLines", self.tip_lines)

    def _order(self, gid):
        return next(o for o in self.orders if o["id"] == gid)

    def changed_orders(self, variables):
        page = _page(self.orders, variables["after"], 8)
        page["nodes"] = [{**o, "lineItems": _page(o["all_lines"], None, 10)} for o in page["nodes"]]
        return {"orders": page}

    def line_items(self, variables):
        return {"order": {"lineItems": _page(self._order(variables["id"])["all_lines"], variables["after"], 100)}}

    def refund(self, variables):
        refund = self.refunds[variables["id"]]
        return {"refund": {**refund, "refundLineItems": _page(refund["all_lines"], variables["after"], 50)}}

    def tip_lines(self, variables):
        tips = self.tips.get(variables["id"], [])
        sales = [{"__typename": "ProductSale"}] + [
            {"__typename": "TipSale", "lineItem": {"id": f"gid://shopify/LineItem/{line_id}"}} for line_id in tips]
        return {"order": {"agreements": {"pageInfo": {"hasNextPage": False, "endCursor": None}, "nodes": [
            {"__typename": "OrderAgreement", "sales": {"pageInfo": {"hasNextPage": False}, "nodes": sales}}]}}}

    def add(self, order, *refunds):
        self.orders.append(order)
        for refund in refunds:
            self.refunds[f"gid://shopify/Refund/{refund['legacyResourceId']}"] = refund


@pytest.fixture
def store():
    with responses.RequestsMock() as rsps:
        fake = FakeAdmin(rsps)
        yield Store(fake), fake


def run(runner, hours=48):
    result = runner.invoke(args=["loyalty", "reconcile", SHOP_DOMAIN, "--hours", str(hours)])
    assert result.exit_code == 0, result.output
    return result.output


def rest_order(order_id, customer_id, lines, subtotal, **extra):
    """The ``orders/paid`` body of the same order: ``lines`` are (line_id, unit price, quantity)."""
    order = simple_order(order_id, customer_id, subtotal, total_price_set=money(subtotal), refunds=[],
                         discount_codes=[], processed_at=PAID_AT, updated_at=PAID_AT, **extra)
    template = order["line_items"][0]
    order["line_items"] = [dict(template, id=i, quantity=q, current_quantity=q, price_set=money(p), tax_lines=[],
                                discount_allocations=[], gift_card=False) for i, p, q in lines]
    return order


def rest_refund(refund_id, order_id, line_id, subtotal, money_back):
    refund = simple_refund(refund_id, order_id, subtotal)
    refund["refund_line_items"][0].update(line_item_id=line_id, total_tax_set=money("0.00"))
    refund["transactions"] = [dict(refund["transactions"][0], amount=money_back, kind="refund", status="success")]
    return refund


def entries(session):
    return session.query(LedgerEntry).order_by(LedgerEntry.id).all()


def test_graphql_facts_are_the_webhook_facts():
    """The same order and refund read from GraphQL and from their webhook bodies give equal facts."""
    rest = rest_order(7, 5, [(11, "60.00", 1), (12, "20.00", 2)], "100.00", financial_status="partially_refunded",
                      email="c5@example.com")
    rest["line_items"][1]["current_quantity"] = 1
    rest["refunds"] = [{"refund_line_items": [{"line_item_id": 12, "quantity": 1}]}]
    rest["customer"].update(first_name="Kari", last_name="Nordmann")
    refund = gql_refund(70, [(12, 1, "20.00")], money_back="20.00")
    refund_node = {**refund, "refundLineItems": {"pageInfo": {"hasNextPage": False}, "nodes": refund["all_lines"]}}
    from_graphql_refund = graphql_refund_facts(refund_node, 7)
    assert from_graphql_refund == refund_facts(rest_refund(70, 7, 12, "20.00", "20.00"))

    node = gql_order(7, 5, [gql_line(11, "60.00"), gql_line(12, "20.00", 2, current=1)], subtotal="100.00",
                     status="PARTIALLY_REFUNDED", refunds=[70])
    node["lineItems"] = {"nodes": node["all_lines"]}
    assert graphql_order_facts(node, refunds=[from_graphql_refund]) == order_facts(rest)


def test_graphql_facts_refuse_a_malformed_node():
    node = gql_order(7, 5, [gql_line(11, "60.00")], subtotal="60.00")
    node["lineItems"] = {"nodes": [{**node["all_lines"][0], "id": "gid://shopify/LineItem/not-a-number"}]}
    with pytest.raises(PayloadError, match="not a Shopify id"):
        graphql_order_facts(node)
    del node["lineItems"]
    with pytest.raises(PayloadError, match="malformed GraphQL order"):
        graphql_order_facts(node)


def test_partly_refunded_order_whose_paid_webhook_was_lost_ends_as_the_webhooks_would(
        runner, deliver, session, shop, store):
    fake_store, fake = store
    # Webhook path, order 101 of customer 5: orders/paid, then refunds/create of line 12.
    deliver("orders/paid", rest_order(101, 5, [(11, "60.00", 1), (12, "40.00", 1)], "100.00"))
    deliver("refunds/create", rest_refund(901, 101, 12, "40.00", "40.00"))
    # Reconciliation, order 102 of customer 6: the same order, whose orders/paid was lost.
    fake_store.add(gql_order(102, 6, [gql_line(11, "60.00"), gql_line(12, "40.00", current=0)], subtotal="100.00",
                             status="PARTIALLY_REFUNDED", refunds=[902], updated_at=REFUNDED_AT),
                   gql_refund(902, [(12, 1, "40.00")], money_back="40.00"))
    output = run(runner)
    assert "1 changed orders seen, 1 credited (100 points), 1 refunds" in output
    webhooks, reconciled = find_member(session, shop.id, 5), find_member(session, shop.id, 6)
    assert webhooks.balance == 60
    assert (reconciled.balance, reconciled.pending, reconciled.lifetime) == \
        (webhooks.balance, webhooks.pending, webhooks.lifetime)
    keys = {e.idempotency_key: e.amount for e in entries(session) if e.member_id == reconciled.id}
    assert keys == {"order:102": 100, "refund:902": -40}


def test_an_order_with_130_line_items_reads_every_page(runner, session, shop, store):
    fake_store, fake = store
    fake_store.add(gql_order(103, 5, [gql_line(5000 + n, "1.00") for n in range(130)], subtotal="130.00"))
    run(runner)
    assert [v["after"] for v in fake.sent("OrderLineItems")] == ["10", "110"]
    record = session.query(OrderRecord).filter_by(order_id=103).one()
    lines = session.query(OrderLine).filter_by(order_record_id=record.id).all()
    assert sorted(line.line_item_id for line in lines) == [5000 + n for n in range(130)]
    assert find_member(session, shop.id, 5).balance == 130


def test_a_cancellation_the_webhooks_missed_reverses_the_order(runner, deliver, session, shop, store):
    fake_store, _ = store
    deliver("orders/paid", rest_order(104, 5, [(11, "80.00", 1)], "80.00"))
    fake_store.add(gql_order(104, 5, [gql_line(11, "80.00")], subtotal="80.00", updated_at=REFUNDED_AT,
                             cancelled_at=REFUNDED_AT))
    output = run(runner)
    assert "0 credited (0 points), 0 refunds, 1 cancellations" in output
    assert find_member(session, shop.id, 5).balance == 0
    assert [(e.idempotency_key, e.amount) for e in entries(session)] == [("order:104", 80), ("cancel:104", -80)]


def test_an_edit_the_webhooks_missed_earns_the_difference(runner, deliver, session, shop, store):
    fake_store, _ = store
    deliver("orders/paid", rest_order(105, 5, [(11, "100.00", 1)], "100.00"))
    fake_store.add(gql_order(105, 5, [gql_line(11, "100.00"), gql_line(13, "60.00")], subtotal="100.00",
                             status="PARTIALLY_PAID", updated_at=REFUNDED_AT))
    assert "1 edits recorded" in run(runner)
    assert find_member(session, shop.id, 5).balance == 160


def test_a_second_run_changes_nothing(runner, deliver, session, shop, store):
    fake_store, _ = store
    deliver("orders/paid", rest_order(106, 5, [(11, "100.00", 1)], "100.00"))
    fake_store.add(gql_order(106, 5, [gql_line(11, "100.00"), gql_line(13, "60.00")], subtotal="100.00",
                             updated_at=REFUNDED_AT))
    fake_store.add(gql_order(107, 5, [gql_line(21, "50.00"), gql_line(22, "50.00", current=0)], subtotal="100.00",
                             status="PARTIALLY_REFUNDED", refunds=[907], updated_at=REFUNDED_AT),
                   gql_refund(907, [(22, 1, "50.00")], money_back="50.00"))
    fake_store.add(gql_order(108, 5, [gql_line(31, "30.00")], subtotal="30.00", status="REFUNDED",
                             refunds=[908], updated_at=REFUNDED_AT, cancelled_at=REFUNDED_AT),
                   gql_refund(908, [(31, 1, "30.00")], money_back="30.00"))
    run(runner)
    first = [(e.idempotency_key, e.amount) for e in entries(session)]
    assert find_member(session, shop.id, 5).balance == 100 + 60 + 50
    assert "0 credited (0 points), 0 refunds, 0 cancellations, 0 edits" in run(runner)
    session.expire_all()
    assert [(e.idempotency_key, e.amount) for e in entries(session)] == first
    assert find_member(session, shop.id, 5).balance == 210


def test_every_state_that_can_carry_points_is_listed_by_change(runner, session, shop, store):
    fake_store, fake = store
    fake_store.add(gql_order(109, 5, [gql_line(41, "70.00")], subtotal="70.00", status="PARTIALLY_PAID"))
    fake_store.add(gql_order(110, 5, [gql_line(51, "20.00", current=0)], subtotal="20.00", status="REFUNDED",
                             refunds=[910], updated_at=REFUNDED_AT),
                   gql_refund(910, [(51, 1, "20.00")], money_back="20.00"))
    run(runner, hours=24)
    [sent] = fake.sent("ChangedOrders")
    assert sent["query"].startswith("updated_at:>='") and " AND updated_at:<'" in sent["query"]
    assert sent["query"].endswith(" AND (financial_status:paid OR financial_status:partially_paid OR "
                                  "financial_status:partially_refunded OR financial_status:refunded)")
    assert "sortKey: UPDATED_AT" in document("ChangedOrders")
    # Partially paid and never earned: the webhooks would not have credited it either.
    assert session.query(OrderRecord).filter_by(order_id=109).one_or_none() is None
    # Refunded in full: earned, then reversed, as orders/paid and refunds/create would have done.
    assert [(e.idempotency_key, e.amount) for e in entries(session)] == [("order:110", 20), ("refund:910", -20)]


def test_the_window_is_quoted_in_utc():
    since = datetime(2026, 11, 21, 12, 0, 0, 123456, tzinfo=timezone.utc)
    until = datetime(2026, 11, 23, 13, 30, tzinfo=timezone.utc)
    assert changed_orders_query(since, until).startswith(
        "updated_at:>='2026-11-21T12:00:00Z' AND updated_at:<'2026-11-23T13:30:00Z' AND (")


def test_a_tip_line_never_earns_or_reverses(runner, session, shop, store):
    fake_store, fake = store
    fake_store.tips["gid://shopify/Order/111"] = [62]
    fake_store.add(gql_order(111, 5, [gql_line(61, "100.00"), gql_line(62, "15.00", current=0)], subtotal="100.00",
                             status="PARTIALLY_REFUNDED", refunds=[911], updated_at=REFUNDED_AT, tip="15.00"),
                   gql_refund(911, [(62, 1, "15.00")], money_back="15.00"))
    run(runner)
    assert len(fake.sent("OrderTipLines")) == 1
    record = session.query(OrderRecord).filter_by(order_id=111).one()
    assert [line.line_item_id for line in session.query(OrderLine).filter_by(order_record_id=record.id)] == [61]
    assert [(e.idempotency_key, e.amount) for e in entries(session)] == [("order:111", 100)]


def test_reconcile_service_commits_through_its_checkpoint(session, shop, store, app):
    fake_store, _ = store
    fake_store.add(gql_order(112, 5, [gql_line(71, "10.00")], subtotal="10.00"),)
    fake_store.add(gql_order(113, 6, [gql_line(72, "10.00")], subtotal="10.00", test=True))
    from loyalty_app.connections import client_for

    checkpoints = []
    result = reconcile(session, shop, client_for(app, session, shop), datetime(2026, 11, 22, tzinfo=timezone.utc),
                       datetime(2026, 11, 24, tzinfo=timezone.utc), checkpoint=lambda: checkpoints.append(1))
    assert (result.seen, result.credited, result.points, len(checkpoints)) == (2, 1, 10, 2)
    assert find_member(session, shop.id, 6) is None


def test_reconcile_unknown_shop(runner, shop):
    result = runner.invoke(args=["loyalty", "reconcile", "nobody.myshopify.com"])
    assert result.exit_code == 1 and "no shop" in result.output
