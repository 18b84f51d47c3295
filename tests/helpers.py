"""Test helpers: Shopify's published payloads, signed the way Shopify signs them."""
from __future__ import annotations

import copy
import itertools
import json
import time
from functools import cache
from pathlib import Path
from typing import Any

import jwt

from loyalty_app.models import utcnow
from loyalty_app.security import webhook_hmac

# Shopify's published material, copied into the repository (provenance in its README.md).
SHOPIFY_DATA = Path(__file__).resolve().parent / "data" / "shopify"
PAYLOADS = SHOPIFY_DATA / "payloads"


@cache
def _load(relative: str) -> Any:
    return json.loads((PAYLOADS / relative).read_text())


def payload(relative: str, shop: str = "demo-shop.myshopify.com") -> dict[str, Any]:
    """A fresh copy of one of Shopify's sample bodies, unwrapped to the bare resource as delivered.

    The body names ``shop`` where Shopify's would name the shop it is sent for: the compliance
    samples' ``{shop}`` placeholder and the shop sample's ``myshopify_domain``.
    """
    data = copy.deepcopy(_load(relative))
    if relative.startswith("compliance/"):
        data["shop_domain"] = shop
    if relative.endswith("/shop.json"):
        data["shop"]["myshopify_domain"] = shop
    for wrapper in ("order", "refund", "customer", "shop"):
        if relative.startswith("rest-") and isinstance(data.get(wrapper), dict):
            return data[wrapper]
    return data


def money(amount: str, currency: str = "USD") -> dict[str, Any]:
    """A Shopify money bag with the same amount in shop and presentment currency."""
    return {"shop_money": {"amount": amount, "currency_code": currency},
            "presentment_money": {"amount": amount, "currency_code": currency}}


def simple_order(order_id: int, customer_id: int | None, subtotal: str, **extra: Any) -> dict[str, Any]:
    """Shopify's sample order, re-keyed and with one plain line so the arithmetic is ours."""
    order = payload("rest-2026-07/order_450789469.json")
    order["id"] = order_id
    order["subtotal_price_set"] = money(subtotal)
    order["subtotal_price"] = subtotal
    order["taxes_included"] = False
    order["test"] = False
    line = order["line_items"][0]
    line.update(gift_card=False, quantity=1, current_quantity=1, price=subtotal, price_set=money(subtotal),
                discount_allocations=[])
    order["line_items"] = [line]
    order["refunds"] = []
    if customer_id is None:
        order["customer"] = None
    else:
        order["customer"]["id"] = customer_id
        order["customer"]["email"] = f"c{customer_id}@example.com"
    order.update(extra)
    return order


def simple_refund(refund_id: int, order_id: int, subtotal: str, tax: str = "0.00") -> dict[str, Any]:
    """Shopify's sample refund with one non-gift-card line refunding ``subtotal``."""
    refund = payload("rest-2026-07/refund_509562969.json")
    refund["id"] = refund_id
    refund["order_id"] = order_id
    item = refund["refund_line_items"][0]
    item.update(subtotal=float(subtotal), subtotal_set=money(subtotal), total_tax_set=money(tax))
    item["line_item"]["gift_card"] = False
    refund["refund_line_items"] = [item]
    return refund


def line_item(line_id: int, price: str, quantity: int = 1, **extra: Any) -> dict[str, Any]:
    """Another line of Shopify's sample order, re-keyed and re-priced."""
    line = copy.deepcopy(payload("rest-2026-07/order_450789469.json")["line_items"][0])
    line.update(id=line_id, admin_graphql_api_id=f"gid://shopify/LineItem/{line_id}", gift_card=False,
                quantity=quantity, current_quantity=quantity, price=price, price_set=money(price),
                discount_allocations=[], tax_lines=[])
    line.update(extra)
    return line


def refund_of(refund_id: int, order_id: int, lines: list[tuple[int, int, str]] = (), *,  # type: ignore[assignment]
              discrepancy: str | None = None, paid: str | None = None, shipping: str | None = None,
              line_extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Shopify's sample refund with our own lines ``(line_item_id, quantity, subtotal)``, refund-discrepancy
    adjustment, shipping refund and money paid back (a successful refund transaction; None: no transactions)."""
    refund = payload("rest-2026-07/refund_509562969.json")
    refund.update(id=refund_id, order_id=order_id)
    template = refund["refund_line_items"][0]
    items = []
    for line_id, quantity, subtotal in lines:
        item = copy.deepcopy(template)
        item.update(line_item_id=line_id, quantity=quantity, subtotal=float(subtotal), subtotal_set=money(subtotal),
                    total_tax=0.0, total_tax_set=money("0.00"))
        item["line_item"].update(id=line_id, gift_card=False, **(line_extra or {}))
        items.append(item)
    refund["refund_line_items"] = items
    adjustments = []
    if discrepancy is not None:
        adjustments.append({"id": refund_id * 10, "order_id": order_id, "refund_id": refund_id, "amount": discrepancy,
                            "amount_set": money(discrepancy), "tax_amount": "0.00", "tax_amount_set": money("0.00"),
                            "kind": "refund_discrepancy", "reason": "Refund discrepancy"})
    if shipping is not None:
        adjustments.append({"id": refund_id * 10 + 1, "order_id": order_id, "refund_id": refund_id,
                            "amount": f"-{shipping}", "amount_set": money(f"-{shipping}"), "tax_amount": "0.00",
                            "tax_amount_set": money("0.00"), "kind": "shipping_refund", "reason": "Shipping refund"})
    refund["order_adjustments"] = adjustments
    transaction = refund["transactions"][0]
    refund["transactions"] = [] if paid is None else [dict(transaction, order_id=order_id, amount=paid)]
    return refund


def cancelled_order(order_id: int) -> dict[str, Any]:
    """Shopify's sample ``orders/cancelled`` body for another order id."""
    order = payload("rest-2026-07/order_450789469_cancel.json")
    order["id"] = order_id
    return order


def signed(body: dict[str, Any] | bytes, secret: str) -> tuple[bytes, str]:
    """The exact bytes to send and their ``X-Shopify-Hmac-Sha256`` header."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return raw, webhook_hmac(secret, raw)


_webhook_ids = itertools.count(1)


def post_webhook(client: Any, topic: str, body: Any, *, webhook_id: str | None = None,
                 secret: str = "test-api-secret-0123456789abcdef", domain: str = "demo-shop.myshopify.com",
                 headers: dict[str, str | None] | None = None) -> Any:
    """POST ``body`` to /webhooks with every header Shopify sends; ``headers`` overrides (None drops one)."""
    raw, hmac_header = signed(body, secret)
    sent: dict[str, str | None] = {
        "X-Shopify-Hmac-Sha256": hmac_header, "X-Shopify-Topic": topic, "X-Shopify-Shop-Domain": domain,
        "X-Shopify-Webhook-Id": webhook_id or f"wh-{next(_webhook_ids)}", "X-Shopify-Event-Id": "ev-1",
        "X-Shopify-Triggered-At": "2026-11-24T12:00:00Z", "X-Shopify-API-Version": "2026-10",
        "Content-Type": "application/json",
    }
    sent.update(headers or {})
    return client.post("/webhooks", data=raw, headers={k: v for k, v in sent.items() if v is not None})


def proxy_query(customer_id: int | None, *, secret: str = "test-api-secret-0123456789abcdef",
                shop: str = "demo-shop.myshopify.com", timestamp: int | None = None) -> list[tuple[str, str]]:
    """The query Shopify's app proxy adds to a forwarded request, signed as Shopify signs it."""
    import time

    from loyalty_app.security import proxy_signature

    params = [("shop", shop), ("logged_in_customer_id", "" if customer_id is None else str(customer_id)),
              ("path_prefix", "/apps/loyalty"), ("timestamp", str(int(time.time()) if timestamp is None else timestamp))]
    return params + [("signature", proxy_signature(secret, params))]


def simple_customer(state: str = "enabled", created_at: str | None = None, **extra: Any) -> dict[str, Any]:
    """Shopify's sample customer (``customers/create|update|enable``) with its account state and creation time.

    ``created_at`` defaults to now, so the customer is newer than any shop installed before the call.
    """
    customer = payload("rest-2026-07/customer_207119551.json")
    customer["state"] = state
    customer["created_at"] = created_at or utcnow().isoformat()
    customer.update(extra)
    return customer


def session_token(secret: str, api_key: str, shop: str, sub: str = "1", lifetime: int = 60, **override: Any) -> str:
    """An App Bridge session token for a staff member of ``shop``, signed as Shopify signs them."""
    now = int(time.time())
    claims = {"iss": f"https://{shop}/admin", "dest": f"https://{shop}", "aud": api_key, "sub": sub,
              "exp": now + lifetime, "nbf": now - 1, "iat": now, "jti": f"jti-{now}", "sid": "sid-1"}
    claims.update(override)
    return jwt.encode(claims, secret, algorithm="HS256")


class AdminApi:
    """A test client that calls ``/admin/api`` with a bearer credential (a session token or an API key)."""

    def __init__(self, client: Any, credential: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {credential}"}

    def open(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.client.open(f"/admin/api{path}", method=method, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.open("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.open("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Any:
        return self.open("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.open("DELETE", path, **kwargs)
