"""Reading Shopify webhook bodies: marshmallow schemas in, plain facts out, PayloadError for anything malformed.

A body that fails here can never be processed, so the inbox fails it at once with the schema's
own words (``line_items.0: Not a valid mapping type.``) instead of retrying it as transient.
Only the fields the program reads are declared; everything else Shopify sends is ignored.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load, validate

from ..program.earning import OrderAmounts
from ..program.orders import ZERO, Customer, LineFacts, OrderFacts, RefundFacts, RefundLine

MAX_ID = 2**63 - 1
"""Shopify's ids are 64-bit; anything larger cannot be stored, so it is refused, not a 500."""


class PayloadError(ValueError):
    """A webhook body that can never be processed; retrying it would not help."""


def _flatten(messages: Any, prefix: str = "") -> list[str]:
    if isinstance(messages, dict):
        return [text for key, value in messages.items() for text in _flatten(value, f"{prefix}{key}.")]
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return [f"{prefix.rstrip('.')}: {' '.join(messages)}"]
    return [f"{prefix.rstrip('.')}: {messages}"]


def load(schema: Schema, payload: Any) -> Any:
    """Load a body with ``schema``; raises PayloadError naming every bad field."""
    if not isinstance(payload, dict):
        raise PayloadError("the payload must be a JSON object")
    try:
        return schema.load(payload)
    except ValidationError as exc:
        raise PayloadError("; ".join(_flatten(exc.messages))) from None


class _Base(Schema):
    class Meta:
        unknown = EXCLUDE


def Id(**kwargs: Any) -> fields.Integer:  # noqa: N802 - a field factory, named like the fields it makes
    """A Shopify REST id: a positive 64-bit integer."""
    return fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_ID), **kwargs)


class MoneyBag(fields.Field):
    """``*_set``: the same amount in the shop's and the buyer's currency, read as ``(shop, presentment)``.

    A field rather than nested schemas: an order carries dozens of these, and a nested load
    costs several times as much.
    """

    def __init__(self, *, non_negative: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.non_negative = non_negative

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> tuple[Decimal, Decimal | None]:
        shop = _amount(value, "shop_money")
        if shop is None:
            raise ValidationError("shop_money.amount is missing or not a number")
        if self.non_negative and shop < 0:
            raise ValidationError("must not be negative")
        return shop, _amount(value, "presentment_money")


def _amount(bag: Any, currency: str) -> Decimal | None:
    try:
        amount = Decimal(str(bag[currency]["amount"]))
    except (KeyError, TypeError, InvalidOperation):
        return None
    return amount if amount.is_finite() else None


def _shop(bag: tuple[Decimal, Decimal | None] | None) -> Decimal:
    return bag[0] if bag else ZERO


def _presentment(bag: tuple[Decimal, Decimal | None] | None) -> Decimal | None:
    return bag[1] if bag else None


class MoneySum(fields.Field):
    """A list of objects each carrying a money bag under ``key`` (discount allocations, tax lines), summed."""

    def __init__(self, key: str, **kwargs: Any) -> None:
        super().__init__(load_default=ZERO, **kwargs)
        self.key = key
        self.bag = MoneyBag()

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal:
        if not isinstance(value, list):
            raise ValidationError("Not a valid list.")
        total = ZERO
        for index, item in enumerate(value):
            if not isinstance(item, dict) or self.key not in item:
                raise ValidationError({index: [f"{self.key} is missing"]})
            try:
                total += self.bag.deserialize(item[self.key])[0]
            except ValidationError as exc:
                raise ValidationError({index: {self.key: exc.messages}}) from None
        return total


class LineItemSchema(_Base):
    id = Id(required=True)
    quantity = fields.Integer(strict=True, required=True, validate=validate.Range(min=0, max=10**9))
    current_quantity = fields.Integer(strict=True, load_default=None, validate=validate.Range(min=0, max=10**9))
    price_set = MoneyBag(required=True)
    gift_card = fields.Boolean(load_default=False)
    tip_payment_gateway = fields.String(load_default=None, allow_none=True)
    tip_payment_method = fields.String(load_default=None, allow_none=True)
    discount_allocations = MoneySum("amount_set")
    tax_lines = MoneySum("price_set")


def line_kind(line: dict[str, Any]) -> str:
    """goods, gift_card or tip: only goods earn. Shopify marks a tip line by its tip payment fields."""
    if line.get("gift_card"):
        return "gift_card"
    return "tip" if line.get("tip_payment_gateway") or line.get("tip_payment_method") else "goods"


def line_facts(line: dict[str, Any], taxes_included: bool) -> LineFacts:
    """A line item as the program sees it (eligible money for its whole quantity)."""
    kind = line_kind(line)
    discounts = line["discount_allocations"]
    tax = line["tax_lines"] if taxes_included and kind == "goods" else ZERO
    eligible = max(ZERO, _shop(line["price_set"]) * line["quantity"] - discounts - tax)
    return LineFacts(line["id"], line["quantity"], eligible, kind, line["current_quantity"])


class _CustomerRef(_Base):
    id = Id(load_default=None, allow_none=True)
    email = fields.String(load_default=None, allow_none=True)
    first_name = fields.String(load_default=None, allow_none=True)
    last_name = fields.String(load_default=None, allow_none=True)


class _RefundLineRef(_Base):
    line_item_id = Id(required=True)
    quantity = fields.Integer(strict=True, required=True, validate=validate.Range(min=0, max=10**9))


class _RefundRef(_Base):
    refund_line_items = fields.List(fields.Nested(_RefundLineRef), load_default=list)


class _DiscountCode(_Base):
    code = fields.String(required=True)


class OrderSchema(_Base):
    """The bare order resource of ``orders/create|paid|updated|cancelled``."""

    id = Id(required=True)
    email = fields.String(load_default=None, allow_none=True)
    contact_email = fields.String(load_default=None, allow_none=True)
    customer = fields.Nested(_CustomerRef, load_default=None, allow_none=True)
    subtotal_price_set = MoneyBag(required=True)
    total_price_set = MoneyBag(load_default=None)
    taxes_included = fields.Boolean(load_default=False, allow_none=True)
    processed_at = fields.AwareDateTime(load_default=None, allow_none=True)
    created_at = fields.AwareDateTime(load_default=None, allow_none=True)
    updated_at = fields.AwareDateTime(load_default=None, allow_none=True)
    cancelled_at = fields.AwareDateTime(load_default=None, allow_none=True)
    test = fields.Boolean(load_default=False, allow_none=True)
    financial_status = fields.String(load_default=None, allow_none=True)
    line_items = fields.List(fields.Nested(LineItemSchema), load_default=list)
    refunds = fields.List(fields.Nested(_RefundRef), load_default=list)
    discount_codes = fields.List(fields.Nested(_DiscountCode), load_default=list)

    @post_load
    def _facts(self, data: dict[str, Any], **_: Any) -> OrderFacts:
        taxes_included = bool(data["taxes_included"])
        lines = tuple(line_facts(line, taxes_included) for line in data["line_items"])
        gift_cards = sum((line.eligible for line in lines if line.kind == "gift_card"), ZERO)
        included_tax = ZERO
        if taxes_included:
            included_tax = sum((line["tax_lines"] for line in data["line_items"] if not line["gift_card"]), ZERO)
        node = data["customer"]
        customer = None
        if node and node["id"]:
            customer = Customer(node["id"], parse_email(node["email"]), node["first_name"], node["last_name"])
        refunded: dict[int, int] = {}
        for refund in data["refunds"]:
            for item in refund["refund_line_items"]:
                refunded[item["line_item_id"]] = refunded.get(item["line_item_id"], 0) + item["quantity"]
        return OrderFacts(
            order_id=data["id"], customer=customer,
            email=parse_email(data["email"] or data["contact_email"]),
            amounts=OrderAmounts(_shop(data["subtotal_price_set"]), gift_cards, included_tax),
            taxes_included=taxes_included,
            placed_at=data["processed_at"] or data["created_at"],
            test=bool(data["test"]),
            lines=lines,
            total=_shop(data["total_price_set"]) if data["total_price_set"] else None,
            presentment_total=_presentment(data["total_price_set"]),
            updated_at=data["updated_at"],
            refunded_quantities=refunded,
            discount_codes=tuple(code["code"] for code in data["discount_codes"]),
            financial_status=data["financial_status"],
            cancelled=data["cancelled_at"] is not None,
        )


class _RefundLineItem(_Base):
    line_item_id = Id(required=True)
    quantity = fields.Integer(strict=True, required=True, validate=validate.Range(min=0, max=10**9))
    subtotal_set = MoneyBag(required=True)
    total_tax_set = MoneyBag(load_default=None)
    line_item = fields.Nested(LineItemSchema(partial=True), load_default=None)


class _OrderAdjustment(_Base):
    kind = fields.String(load_default=None, allow_none=True)
    amount_set = MoneyBag(required=True, non_negative=False)


class _Transaction(_Base):
    kind = fields.String(load_default=None, allow_none=True)
    status = fields.String(load_default=None, allow_none=True)
    amount = fields.Decimal(required=True, allow_nan=False, validate=validate.Range(min=0))
    currency = fields.String(load_default=None, allow_none=True)


class _ShippingLine(_Base):
    subtotal_amount_set = MoneyBag(load_default=None)


class RefundSchema(_Base):
    """The bare refund resource of ``refunds/create``."""

    id = Id(required=True)
    order_id = Id(required=True)
    refund_line_items = fields.List(fields.Nested(_RefundLineItem), load_default=list)
    order_adjustments = fields.List(fields.Nested(_OrderAdjustment), load_default=list)
    transactions = fields.List(fields.Nested(_Transaction), load_default=None)
    refund_shipping_lines = fields.List(fields.Nested(_ShippingLine), load_default=list)

    @post_load
    def _facts(self, data: dict[str, Any], **_: Any) -> RefundFacts:
        lines = []
        for item in data["refund_line_items"]:
            line = item["line_item"] or {}
            kind = line_kind(line)
            lines.append(RefundLine(item["line_item_id"], item["quantity"], _shop(item["subtotal_set"]),
                                    _shop(item["total_tax_set"]), kind))
        adjustments = data["order_adjustments"]
        discrepancy = sum((_shop(a["amount_set"]) for a in adjustments if a["kind"] == "refund_discrepancy"), ZERO)
        shipping = -sum((_shop(a["amount_set"]) for a in adjustments if a["kind"] == "shipping_refund"), ZERO)
        shipping += sum((_shop(s["subtotal_amount_set"]) for s in data["refund_shipping_lines"]), ZERO)
        money = currency = None
        if data["transactions"] is not None:
            paid = [t for t in data["transactions"] if t["kind"] == "refund" and t["status"] == "success"]
            money = sum((t["amount"] for t in paid), ZERO)
            currency = next((t["currency"] for t in paid if t["currency"]), None)
        return RefundFacts(data["id"], data["order_id"], tuple(lines), discrepancy, money, currency, max(ZERO, shipping))


class CustomerSchema(_Base):
    """The bare customer resource of ``customers/create|update|enable``: who, and whether they have an account.

    ``tags`` and ``metafields`` stay raw: where a birthday is read from is the shop's setting.
    """

    id = Id(required=True)
    email = fields.String(load_default=None, allow_none=True)
    first_name = fields.String(load_default=None, allow_none=True)
    last_name = fields.String(load_default=None, allow_none=True)
    state = fields.String(load_default=None, allow_none=True)
    created_at = fields.AwareDateTime(load_default=None, allow_none=True)
    tags = fields.Raw(load_default=None, allow_none=True)
    metafields = fields.List(fields.Dict(), load_default=list, allow_none=True)
    email_marketing_consent = fields.Dict(load_default=None, allow_none=True)  # {"state": "subscribed", …}


_order_schema = OrderSchema()
_customer_schema = CustomerSchema()
_refund_schema = RefundSchema()


def order_facts(payload: Any) -> OrderFacts:
    """Read an order webhook body (the bare order resource)."""
    return load(_order_schema, payload)


def customer_fields(payload: Any) -> dict[str, Any]:
    """Read a customer webhook body into its validated fields."""
    return load(_customer_schema, payload)


def refund_facts(payload: Any) -> RefundFacts:
    """Read a refund webhook body."""
    return load(_refund_schema, payload)


def id_or_none(node: Any, field: str) -> int | None:
    """``node[field]`` when it is a positive 64-bit integer id (Shopify's REST ids), else None."""
    value = node.get(field) if isinstance(node, dict) else None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ID:
        return None
    return value


def parse_id(node: Any, field: str) -> int:
    """A positive 64-bit integer id (Shopify's REST ids); PayloadError otherwise."""
    value = id_or_none(node, field)
    if value is None:
        raise PayloadError(f"{field} must be a positive integer id")
    return value


def parse_datetime(value: Any) -> datetime | None:
    """An ISO 8601 timestamp with its offset, or None when absent."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise PayloadError(f"bad timestamp {value!r}") from exc
    if moment.tzinfo is None:
        raise PayloadError(f"timestamp without offset {value!r}")
    return moment


def parse_email(value: Any) -> str | None:
    """An email address, trimmed and lower-cased, or None."""
    return value.strip().lower() if isinstance(value, str) and value.strip() else None
