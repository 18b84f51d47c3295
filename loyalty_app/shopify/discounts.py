"""Discount codes for redeemed rewards: created for one customer, usable once, deactivated to release."""
from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from .client import AdminClient
from .errors import ShopifyError, UserErrors

# No 0/O, 1/I/L: a code read aloud or typed from a receipt is unambiguous.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_PREFIX = "LOYAL-"


def new_code() -> str:
    """An unguessable, readable code such as ``LOYAL-7KQ3-M9XD`` (8 symbols: about 40 bits)."""
    symbols = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
    return f"{CODE_PREFIX}{symbols[:4]}-{symbols[4:]}"


def ours(codes: Iterable[str]) -> set[str]:
    """The codes, upper-cased as we store them, that this app could have made (the merchant's own are not)."""
    return {code.upper() for code in codes if code.upper().startswith(CODE_PREFIX)}


def customer_gid(customer_id: int) -> str:
    return f"gid://shopify/Customer/{customer_id}"


@dataclass(frozen=True)
class CodeRequest:
    """Everything Shopify needs to create one reward's code for one customer.

    ``customer_id`` None: any buyer may use it (a referred friend's code, made before they have
    an account); it is still usable once.
    """

    code: str
    title: str
    kind: str  # fixed_amount | percentage | free_shipping
    value: Decimal
    customer_id: int | None
    starts_at: datetime
    ends_at: datetime | None = None
    minimum_subtotal: Decimal | None = None
    combines_with: dict[str, bool] = field(default_factory=dict)


def _common(request: CodeRequest) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "title": request.title,
        "code": request.code,
        "startsAt": request.starts_at.isoformat(),
        "endsAt": request.ends_at.isoformat() if request.ends_at else None,
        # `context`, not the `customerSelection` deprecated since 2026-04.
        "context": {"customers": {"add": [customer_gid(request.customer_id)]}} if request.customer_id is not None
        else {"all": "ALL"},
        "usageLimit": 1,
        "appliesOncePerCustomer": True,
        "combinesWith": {
            "orderDiscounts": bool(request.combines_with.get("order_discounts", False)),
            "productDiscounts": bool(request.combines_with.get("product_discounts", True)),
            "shippingDiscounts": bool(request.combines_with.get("shipping_discounts", True)),
        },
    }
    if request.minimum_subtotal:
        fields["minimumRequirement"] = {"subtotal": {"greaterThanOrEqualToSubtotal": str(request.minimum_subtotal)}}
    return fields


def create_code(client: AdminClient, request: CodeRequest) -> str:
    """Create the code in Shopify; returns the discount node's id."""
    if request.kind == "free_shipping":
        result = client.mutate("DiscountCodeFreeShippingCreate", "discountCodeFreeShippingCreate", {
            "freeShippingCodeDiscount": {**_common(request), "destination": {"all": True}}})
    else:
        if request.kind == "percentage":
            value: dict[str, Any] = {"percentage": float(request.value / 100)}
        elif request.kind == "fixed_amount":
            value = {"discountAmount": {"amount": str(request.value), "appliesOnEachItem": False}}
        else:
            raise ValueError(f"unknown reward kind {request.kind!r}")
        result = client.mutate("DiscountCodeBasicCreate", "discountCodeBasicCreate", {
            "basicCodeDiscount": {**_common(request), "customerGets": {"value": value, "items": {"all": True}}}})
    return result["codeDiscountNode"]["id"]


def find_code(client: AdminClient, code: str) -> str | None:
    """The id of the discount that holds ``code`` in this shop, or None: how an unknown outcome is settled.

    Codes are unique within a shop, and each redemption's code is fixed before Shopify is
    asked, so a create that timed out has made this code or none.
    """
    node = client.execute("DiscountCodeLookup", {"code": code}).get("codeDiscountNodeByCode")
    return node["id"] if node else None


def code_taken(exc: ShopifyError) -> bool:
    """Whether Shopify declined a create because the code exists (perhaps from our own attempt that timed out)."""
    return isinstance(exc, UserErrors) and any(e.get("code") == "TAKEN" for e in exc.errors)


def deactivate_code(client: AdminClient, discount_id: str) -> None:
    """Deactivate a code so it can no longer be used (the record stays in Shopify)."""
    client.mutate("DiscountCodeDeactivate", "discountCodeDeactivate", {"id": discount_id})


def usage_count(client: AdminClient, discount_id: str) -> int | None:
    """How many orders used the code, as Shopify counts it; None if the discount no longer exists there.

    Shopify updates ``asyncUsageCount`` asynchronously, so it can lag an order by moments: ask
    some time after the code stopped being usable, not at the instant it expires.
    """
    node = client.execute("DiscountUsage", {"id": discount_id}).get("codeDiscountNode")
    if node is None:
        return None
    count = (node.get("codeDiscount") or {}).get("asyncUsageCount")
    if isinstance(count, bool) or not isinstance(count, int):
        raise ShopifyError(f"DiscountUsage: no usage count for {discount_id}")
    return count
