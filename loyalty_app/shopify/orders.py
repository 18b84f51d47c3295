"""Listing paid orders for reconciliation, one cursor page at a time."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from .client import AdminClient


def paid_orders(client: AdminClient, since: datetime, until: datetime) -> Iterator[dict[str, Any]]:
    """Every paid order processed in [since, until), as GraphQL nodes, following cursors."""
    query = (f"processed_at:>='{since.isoformat()}' AND processed_at:<'{until.isoformat()}' "
             "AND financial_status:paid")
    after = None
    while True:
        page = client.execute("PaidOrders", {"query": query, "after": after})["orders"]
        yield from page["nodes"]
        if not page["pageInfo"]["hasNextPage"]:
            return
        after = page["pageInfo"]["endCursor"]
