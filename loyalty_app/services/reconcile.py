"""Reconciliation: credit paid orders the webhook pipeline missed, through the same path as the webhook."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from ..models import Shop
from ..program.earning import OrderAmounts
from ..shopify.client import AdminClient
from ..shopify.orders import paid_orders
from ..program.orders import Customer, OrderFacts
from .orders import record_paid_facts
from .payloads import PayloadError, parse_datetime, parse_email


def _amount(node: Any, *path: str) -> Decimal:
    try:
        for key in path:
            node = node[key]
        value = Decimal(str(node))
    except (KeyError, TypeError, ArithmeticError) as exc:
        raise PayloadError(f"{'.'.join(path)} is missing or not a number") from exc
    if value < 0:
        raise PayloadError(f"{'.'.join(path)} must not be negative")
    return value


def graphql_order_facts(node: dict[str, Any]) -> OrderFacts:
    """An Admin GraphQL ``Order`` (PaidOrders.graphql) as the facts the webhook path uses."""
    gift_cards = included_tax = Decimal("0")
    taxes_included = bool(node.get("taxesIncluded"))
    for line in (node.get("lineItems") or {}).get("nodes", []):
        discounts = sum((_amount(d, "allocatedAmountSet", "shopMoney", "amount")
                         for d in line.get("discountAllocations") or []), Decimal("0"))
        if line.get("isGiftCard"):
            gift_cards += _amount(line, "originalUnitPriceSet", "shopMoney", "amount") * int(line["quantity"]) - discounts
        elif taxes_included:
            included_tax += sum((_amount(t, "priceSet", "shopMoney", "amount") for t in line.get("taxLines") or []),
                                Decimal("0"))
    customer = node.get("customer")
    return OrderFacts(
        order_id=int(node["legacyResourceId"]),
        customer=Customer(int(customer["legacyResourceId"]), parse_email(customer.get("email")),
                          customer.get("firstName"), customer.get("lastName")) if customer else None,
        email=parse_email(node.get("email")),
        amounts=OrderAmounts(_amount(node, "subtotalPriceSet", "shopMoney", "amount"), max(gift_cards, Decimal("0")),
                             included_tax),
        taxes_included=taxes_included,
        placed_at=parse_datetime(node.get("processedAt")),
        test=bool(node.get("test")),
    )


@dataclass(frozen=True)
class ReconcileResult:
    seen: int
    credited: int
    points: int


def reconcile(session: Session, shop: Shop, client: AdminClient, since: datetime, until: datetime,
              checkpoint: Callable[[], None] = lambda: None) -> ReconcileResult:
    """Credit every paid order in [since, until) that has not earned yet; safe to run any number of times.

    ``checkpoint`` runs after each order (the caller commits there), so a long window keeps its progress.
    """
    seen = credited = points = 0
    for node in paid_orders(client, since, until):
        seen += 1
        result = record_paid_facts(session, shop, graphql_order_facts(node))
        if result.startswith("earned"):
            credited += 1
            points += int(result.split()[1])
        checkpoint()
    return ReconcileResult(seen, credited, points)
