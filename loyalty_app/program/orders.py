"""What an order, its refunds and its edits mean in points, as plain values.

The webhook bodies (REST shapes) and the reconciliation's GraphQL nodes are both read into
these facts, so the two paths cannot disagree. All money is in the shop's currency unless
a field says otherwise.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from .earning import OrderAmounts

ZERO = Decimal("0")
LINE_KINDS = ("goods", "gift_card", "tip")
REVERSE_ON = ("money_refunded", "items_returned")


@dataclass(frozen=True)
class Customer:
    customer_id: int
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None


@dataclass(frozen=True)
class LineFacts:
    """One line of an order.

    ``eligible`` is the money ``quantity`` units earn on: price × quantity, less the discounts
    allocated to the line, less its tax when the shop's prices include tax. Gift cards and tips
    never earn. ``current_quantity`` is Shopify's quantity after edits and refunds.
    """

    line_item_id: int
    quantity: int
    eligible: Decimal
    kind: str = "goods"
    current_quantity: int | None = None

    @property
    def earns(self) -> bool:
        return self.kind == "goods" and self.quantity > 0


@dataclass(frozen=True)
class OrderFacts:
    """What the program needs from an order, however it reached us."""

    order_id: int
    customer: Customer | None
    email: str | None
    amounts: OrderAmounts
    taxes_included: bool
    placed_at: datetime | None
    test: bool
    lines: tuple[LineFacts, ...] = ()
    total: Decimal | None = None
    presentment_total: Decimal | None = None
    updated_at: datetime | None = None
    refunded_quantities: dict[int, int] = field(default_factory=dict)
    """Units of each line already refunded (the order's ``refunds``), to tell edits from refunds."""
    discount_codes: tuple[str, ...] = ()
    financial_status: str | None = None
    cancelled: bool = False


@dataclass(frozen=True)
class RefundLine:
    line_item_id: int
    quantity: int
    subtotal: Decimal
    tax: Decimal = ZERO
    kind: str = "goods"


@dataclass(frozen=True)
class RefundFacts:
    """What one refund moved.

    ``discrepancy`` is the sum of its refund-discrepancy order adjustments, signed as Shopify
    signs them: the refund paid out ``lines - discrepancy``, so -50 is 50 given back with no
    line returned and +100 is a line returned with 100 less paid back. ``money`` is the refund's
    successful refund transactions in ``money_currency`` (None when the payload lists none).
    """

    refund_id: int
    order_id: int
    lines: tuple[RefundLine, ...] = ()
    discrepancy: Decimal = ZERO
    money: Decimal | None = None
    money_currency: str | None = None
    shipping: Decimal = ZERO

    def to_json(self) -> dict[str, object]:
        return {
            "lines": [[line.line_item_id, line.quantity, str(line.subtotal), str(line.tax), line.kind]
                      for line in self.lines],
            "discrepancy": str(self.discrepancy), "money": None if self.money is None else str(self.money),
            "money_currency": self.money_currency, "shipping": str(self.shipping),
        }

    @classmethod
    def from_json(cls, refund_id: int, order_id: int, data: dict[str, object]) -> RefundFacts:
        lines = tuple(RefundLine(int(i), int(q), Decimal(s), Decimal(t), str(k))
                      for i, q, s, t, k in data.get("lines") or [])  # type: ignore[union-attr, misc]
        money = data.get("money")
        return cls(refund_id, order_id, lines, Decimal(str(data.get("discrepancy") or "0")),
                   None if money is None else Decimal(str(money)), data.get("money_currency"),  # type: ignore[arg-type]
                   Decimal(str(data.get("shipping") or "0")))


@dataclass(frozen=True)
class OrderBasis:
    """An earned order as its refunds are measured against it."""

    eligible: Decimal
    total: Decimal | None
    presentment_total: Decimal | None
    currency: str
    taxes_included: bool
    line_eligible: dict[int, tuple[int, Decimal]]
    """line_item_id → (quantity, eligible) of the goods lines it earned on."""


def refunded_lines(refund: RefundFacts, order: OrderBasis) -> Decimal:
    """The eligible money of the goods units a refund returns, by ``line_item_id``.

    A line the order earned on gives back its own eligible share per unit; a line we never
    recorded (an order earned before lines were kept) falls back to the refund's own subtotal.
    """
    total = ZERO
    for line in refund.lines:
        if line.kind != "goods" or line.quantity <= 0:
            continue
        known = order.line_eligible.get(line.line_item_id)
        if known is not None and known[0] > 0:
            quantity, eligible = known
            total += eligible * min(line.quantity, quantity) / quantity
        else:
            total += line.subtotal - (line.tax if order.taxes_included else ZERO)
    return max(ZERO, total)


def _unattributed_share(amount: Decimal, currency: str | None, order: OrderBasis) -> Decimal:
    """Eligible money inside a refund of ``amount`` that names no line: its share of the order."""
    if amount <= 0:
        return ZERO
    in_shop_money = currency is None or currency == order.currency
    total = order.total if in_shop_money else order.presentment_total
    if not total or total <= 0:
        return amount if in_shop_money else ZERO
    return order.eligible * min(Decimal("1"), amount / total)


def refunded_eligible(refund: RefundFacts, order: OrderBasis, reverse_on: str) -> Decimal:
    """How much of the order's eligible amount one refund took away.

    ``items_returned``: the eligible money of the returned units, whatever was paid back.
    ``money_refunded`` (the default): money that left the order's eligible amount. Returned
    lines count less any part the merchant kept (a positive discrepancy); money given back
    without lines (a negative discrepancy, or transactions alone) counts in proportion to the
    eligible share of the order. Shipping, tips and gift cards never count, and a refund that
    paid nothing back (a restock or an exchange) takes nothing away.
    """
    if reverse_on not in REVERSE_ON:
        raise ValueError(f"unknown reversal mode {reverse_on!r}")
    lines = refunded_lines(refund, order)
    if reverse_on == "items_returned":
        return lines
    if refund.money is not None and refund.money <= 0 and refund.discrepancy >= 0:
        return ZERO  # no money moved: a restock, an exchange, or a refund of nothing
    kept = max(ZERO, refund.discrepancy)
    extra = max(ZERO, -refund.discrepancy)
    from_lines = max(ZERO, lines - kept)
    if extra > 0:
        return from_lines + _unattributed_share(extra, None, order)
    if not refund.lines and refund.money is not None:
        return _unattributed_share(max(ZERO, refund.money - refund.shipping), refund.money_currency, order)
    return from_lines


def edited_lines(facts: OrderFacts) -> dict[int, tuple[int, Decimal]]:
    """The goods lines as the order's edits left them: line_item_id → (quantity, eligible).

    Shopify's ``current_quantity`` drops for refunds as well as edits; refunded units are added
    back, because the refund path reverses them, not the edit path.
    """
    result: dict[int, tuple[int, Decimal]] = {}
    for line in facts.lines:
        if line.kind != "goods" or line.quantity <= 0:
            continue
        current = line.quantity if line.current_quantity is None else line.current_quantity
        quantity = min(line.quantity, current + facts.refunded_quantities.get(line.line_item_id, 0))
        result[line.line_item_id] = (quantity, line.eligible * quantity / line.quantity)
    return result
