"""Reading orders and refunds for reconciliation, one cursor page at a time."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

from .client import AdminClient
from .errors import ShopifyError

POINT_STATES = ("paid", "partially_paid", "partially_refunded", "refunded")
"""Financial states in which an order can carry points (``financial_status`` search values)."""


def _moment(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def changed_orders_query(since: datetime, until: datetime) -> str:
    """The search for orders updated in [since, until) in any state that can carry points.

    Shopify's search syntax wants dates quoted and groups alternatives in parentheses.
    """
    states = " OR ".join(f"financial_status:{state}" for state in POINT_STATES)
    return f"updated_at:>='{_moment(since)}' AND updated_at:<'{_moment(until)}' AND ({states})"


def changed_orders(client: AdminClient, since: datetime, until: datetime) -> Iterator[dict[str, Any]]:
    """Every order changed in [since, until) that can carry points, with all its line items."""
    query = changed_orders_query(since, until)
    after = None
    while True:
        page = client.execute("ChangedOrders", {"query": query, "after": after})["orders"]
        for node in page["nodes"]:
            lines = node["lineItems"]
            if lines["pageInfo"]["hasNextPage"]:
                lines["nodes"] = [*lines["nodes"], *order_line_items(client, node["id"],
                                                                     lines["pageInfo"]["endCursor"])]
                lines["pageInfo"] = {"hasNextPage": False, "endCursor": None}
            yield node
        if not page["pageInfo"]["hasNextPage"]:
            return
        after = page["pageInfo"]["endCursor"]


def order_line_items(client: AdminClient, order_gid: str, after: str | None) -> Iterator[dict[str, Any]]:
    """An order's line items after the cursor ``after``, following cursors to the end."""
    while True:
        order = client.execute("OrderLineItems", {"id": order_gid, "after": after})["order"]
        if order is None:
            raise ShopifyError(f"OrderLineItems: no order {order_gid}")
        page = order["lineItems"]
        yield from page["nodes"]
        if not page["pageInfo"]["hasNextPage"]:
            return
        after = page["pageInfo"]["endCursor"]


def tip_line_ids(client: AdminClient, order_gid: str) -> set[str]:
    """The ids (gids) of an order's line items that are tips, read from its sales agreements."""
    found: set[str] = set()
    after = None
    while True:
        order = client.execute("OrderTipLines", {"id": order_gid, "after": after})["order"]
        if order is None:
            raise ShopifyError(f"OrderTipLines: no order {order_gid}")
        page = order["agreements"]
        for agreement in page["nodes"]:
            if agreement["sales"]["pageInfo"]["hasNextPage"]:
                raise ShopifyError(f"OrderTipLines: an agreement of {order_gid} has more than 100 sales")
            found.update(sale["lineItem"]["id"] for sale in agreement["sales"]["nodes"] if sale.get("lineItem"))
        if not page["pageInfo"]["hasNextPage"]:
            return found
        after = page["pageInfo"]["endCursor"]


def refund_detail(client: AdminClient, refund_gid: str) -> dict[str, Any]:
    """One refund with all its refund line items (their pages joined)."""
    refund = client.execute("RefundDetail", {"id": refund_gid, "after": None})["refund"]
    if refund is None:
        raise ShopifyError(f"RefundDetail: no refund {refund_gid}")
    for name in ("orderAdjustments", "transactions", "refundShippingLines"):
        if refund[name]["pageInfo"]["hasNextPage"]:
            raise ShopifyError(f"RefundDetail: refund {refund_gid} has more than 20 {name}")
    lines = refund["refundLineItems"]
    while lines["pageInfo"]["hasNextPage"]:
        more = client.execute("RefundDetail", {"id": refund_gid, "after": lines["pageInfo"]["endCursor"]})["refund"]
        lines = {"pageInfo": more["refundLineItems"]["pageInfo"],
                 "nodes": [*lines["nodes"], *more["refundLineItems"]["nodes"]]}
    refund["refundLineItems"] = lines
    return refund
