"""Reconciliation: catch up on every order change the webhooks missed, through the webhooks' own paths.

An Admin GraphQL order or refund is rewritten into the REST shape of its webhook body and read by
the webhook's own schema (payloads.py), so both arrive at the very same facts; then the same
services run: ``record_paid_facts`` for an order that has not earned, ``record_order_edit`` for
one that has, ``record_refund_facts`` for each refund and ``cancel_order`` for a cancellation.
Keys are Shopify's ids, so a second run changes nothing.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from ..models import Shop
from ..program.orders import OrderFacts, RefundFacts
from ..shopify.client import AdminClient
from ..shopify.orders import changed_orders, refund_detail, tip_line_ids
from .orders import cancel_order, record_order_edit, record_paid_facts, record_refund_facts
from .payloads import MAX_ID, PayloadError, order_facts, refund_facts

_GID = re.compile(r"gid://shopify/[A-Za-z]+/(\d+)")


def _id(value: Any) -> int:
    """A REST id from a GraphQL ``legacyResourceId`` (an UnsignedInt64 string) or a gid."""
    match = _GID.fullmatch(value) if isinstance(value, str) and value.startswith("gid://") else None
    text = match.group(1) if match else str(value)
    if not text.isdigit() or not 0 < int(text) <= MAX_ID:
        raise PayloadError(f"not a Shopify id: {value!r}")
    return int(text)


def _bag(bag: dict[str, Any] | None) -> dict[str, Any] | None:
    """A GraphQL MoneyBag as REST's ``*_set``."""
    if bag is None:
        return None
    rest = {"shop_money": {"amount": bag["shopMoney"]["amount"]}}
    if bag.get("presentmentMoney"):
        rest["presentment_money"] = {"amount": bag["presentmentMoney"]["amount"]}
    return rest


def _line(line: dict[str, Any]) -> dict[str, Any]:
    return {"id": _id(line["id"]), "quantity": line["quantity"], "current_quantity": line.get("currentQuantity"),
            "gift_card": bool(line.get("isGiftCard")), "price_set": _bag(line["originalUnitPriceSet"]),
            "discount_allocations": [{"amount_set": _bag(d["allocatedAmountSet"])}
                                     for d in line.get("discountAllocations") or []],
            "tax_lines": [{"price_set": _bag(t["priceSet"])} for t in line.get("taxLines") or []]}


def _as_rest(what: str, build: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run a GraphQL → REST rewrite, turning a node missing what the document selects into a PayloadError."""
    try:
        return build()
    except (KeyError, TypeError, AttributeError) as exc:
        raise PayloadError(f"malformed GraphQL {what}: missing or wrong {exc}") from None


def graphql_order_facts(node: dict[str, Any], tip_lines: Iterable[int] = (),
                        refunds: Iterable[RefundFacts] = ()) -> OrderFacts:
    """An Admin GraphQL ``Order`` (ChangedOrders.graphql) as the facts its webhook body gives.

    ``tip_lines`` are the ids of its tip line items (GraphQL's LineItem carries no tip flag);
    ``refunds`` its refunds, whose returned units tell refunds from edits as REST's ``refunds`` do.
    """
    def build() -> dict[str, Any]:
        customer = node.get("customer")
        status = node.get("displayFinancialStatus")
        return {
            "id": _id(node["legacyResourceId"]), "email": node.get("email"),
            "customer": None if not customer else {
                "id": _id(customer["legacyResourceId"]), "email": customer.get("email"),
                "first_name": customer.get("firstName"), "last_name": customer.get("lastName")},
            "subtotal_price_set": _bag(node["subtotalPriceSet"]), "total_price_set": _bag(node.get("totalPriceSet")),
            "taxes_included": node.get("taxesIncluded"), "test": node.get("test"),
            "processed_at": node.get("processedAt"), "updated_at": node.get("updatedAt"),
            "cancelled_at": node.get("cancelledAt"), "financial_status": status.lower() if status else None,
            "line_items": [_line(line) for line in node["lineItems"]["nodes"]],
            "refunds": [{"refund_line_items": [{"line_item_id": line.line_item_id, "quantity": line.quantity}
                                               for line in refund.lines]} for refund in refunds],
            "discount_codes": [{"code": code} for code in node.get("discountCodes") or []],
        }

    return _with_tips(order_facts(_as_rest("order", build)), tip_lines)


def graphql_refund_facts(node: dict[str, Any], order_id: int, tip_lines: Iterable[int] = ()) -> RefundFacts:
    """An Admin GraphQL ``Refund`` (RefundDetail.graphql) as the facts its ``refunds/create`` body gives.

    GraphQL's order adjustments are all refund discrepancies (REST's ``kind: refund_discrepancy``),
    signed the same way; refunded shipping is in ``refundShippingLines``.
    """
    def build() -> dict[str, Any]:
        return {
            "id": _id(node["legacyResourceId"]), "order_id": order_id,
            "refund_line_items": [
                {"line_item_id": _id(item["lineItem"]["id"]), "quantity": item["quantity"],
                 "subtotal_set": _bag(item["subtotalSet"]), "total_tax_set": _bag(item.get("totalTaxSet")),
                 "line_item": {"gift_card": bool(item["lineItem"].get("isGiftCard"))}}
                for item in node["refundLineItems"]["nodes"]],
            "order_adjustments": [{"kind": "refund_discrepancy", "amount_set": _bag(adjustment["amountSet"])}
                                  for adjustment in node["orderAdjustments"]["nodes"]],
            "transactions": [{"kind": str(t["kind"]).lower(), "status": str(t["status"]).lower(),
                              "amount": t["amountSet"]["presentmentMoney"]["amount"],
                              "currency": t["amountSet"]["presentmentMoney"].get("currencyCode")}
                             for t in node["transactions"]["nodes"]],
            "refund_shipping_lines": [{"subtotal_amount_set": _bag(line["subtotalAmountSet"])}
                                      for line in node["refundShippingLines"]["nodes"]],
        }

    return _with_tips(refund_facts(_as_rest("refund", build)), tip_lines)


_Facts = TypeVar("_Facts", OrderFacts, RefundFacts)


def _with_tips(facts: _Facts, tip_lines: Iterable[int]) -> _Facts:
    """The facts with the lines GraphQL named as tips (TipSale) marked so: REST marks them on the line itself."""
    tips = set(tip_lines)
    if not tips:
        return facts
    return replace(facts, lines=tuple(replace(line, kind="tip") if line.line_item_id in tips else line
                                      for line in facts.lines))


def _has_tip(node: dict[str, Any]) -> bool:
    try:
        return Decimal(str(node["totalTipReceivedSet"]["shopMoney"]["amount"])) > 0
    except (KeyError, TypeError, InvalidOperation):
        return False


@dataclass(frozen=True)
class ReconcileResult:
    seen: int
    credited: int
    points: int
    refunds: int = 0
    cancelled: int = 0
    edited: int = 0


def reconcile_order(session: Session, shop: Shop, client: AdminClient, node: dict[str, Any]) -> list[str]:
    """Apply one changed order: earn (or edit), then its refunds, then its cancellation.

    Returns what each step did, in the services' own words. A ``partially_paid`` order that
    has not earned is left alone: the webhooks credit an order once it is paid in full.
    """
    tips = {_id(gid) for gid in tip_line_ids(client, node["id"])} if _has_tip(node) else set()
    order_id = _id(node.get("legacyResourceId"))
    refunds = [graphql_refund_facts(refund_detail(client, ref["id"]), order_id, tips)
               for ref in node.get("refunds") or []]
    facts = graphql_order_facts(node, tips, refunds)
    done = []
    paid = record_paid_facts(session, shop, facts) if facts.financial_status != "partially_paid" else None
    if paid is not None:
        done.append(paid)
    if paid is None or paid.startswith("duplicate"):
        done.append(record_order_edit(session, shop, facts))
    done += [f"refund {record_refund_facts(session, shop, refund)}" for refund in refunds]
    if facts.cancelled:
        done.append(f"cancel {cancel_order(session, shop, facts.order_id)}")
    return done


def reconcile(session: Session, shop: Shop, client: AdminClient, since: datetime, until: datetime,
              checkpoint: Callable[[], None] = lambda: None) -> ReconcileResult:
    """Catch up on every order changed in [since, until); safe to run any number of times.

    Does not commit: ``checkpoint`` runs after each order (the caller commits there), so a
    long window keeps its progress.
    """
    seen = credited = points = refunds = cancelled = edited = 0
    for node in changed_orders(client, since, until):
        seen += 1
        for step in reconcile_order(session, shop, client, node):
            if earned := re.match(r"earned (\d+)", step):
                credited += 1
                points += int(earned.group(1))
            edited += "edited:" in step
            refunds += step.startswith(("refund reversed", "refund held"))
            cancelled += step.startswith(("cancel reversed", "cancel held"))
        checkpoint()
    return ReconcileResult(seen, credited, points, refunds, cancelled, edited)
