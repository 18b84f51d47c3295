"""Shopify's signatures: webhook HMAC, app proxy signature, shop-domain validation.

ShopifyAPI covers the OAuth query HMAC but not these, so they live here, small and tested
against the vectors Shopify's own libraries use. Every comparison is constant-time.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from collections.abc import Iterable

_SHOP_DOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]*[a-z0-9]\.myshopify\.com$")


def sanitize_shop_domain(value: str | None) -> str | None:
    """The canonical ``name.myshopify.com`` for what a shop or user typed, or None if it is not one."""
    if not value:
        return None
    domain = value.strip().lower()
    domain = re.sub(r"^https?://", "", domain).rstrip("/")
    if domain and "." not in domain:
        domain += ".myshopify.com"
    return domain if _SHOP_DOMAIN.match(domain) else None


def is_valid_shop_domain(value: str | None) -> bool:
    """Whether ``value`` is already exactly a canonical myshopify domain."""
    return value is not None and _SHOP_DOMAIN.match(value) is not None


def webhook_hmac(secret: str, body: bytes) -> str:
    """The ``X-Shopify-Hmac-Sha256`` header Shopify sends for ``body``."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def verify_webhook(body: bytes, header: str | None, secrets: Iterable[str | None]) -> bool:
    """Check the raw body's HMAC against the current secret and, during rotation, the previous one."""
    if not header:
        return False
    valid = False
    for secret in secrets:
        if secret:
            valid |= hmac.compare_digest(webhook_hmac(secret, body).encode(), header.encode())
    return valid


def proxy_message(params: Iterable[tuple[str, str]]) -> str:
    """What Shopify signs for an app proxy request: sorted ``key=v1,v2`` strings joined with nothing."""
    grouped: dict[str, list[str]] = {}
    for key, value in params:
        if key != "signature":
            grouped.setdefault(key, []).append(value)
    return "".join(sorted(f"{key}={','.join(values)}" for key, values in grouped.items()))


def proxy_signature(secret: str, params: Iterable[tuple[str, str]]) -> str:
    """The ``signature`` query parameter Shopify adds to an app proxy request."""
    return hmac.new(secret.encode(), proxy_message(params).encode(), hashlib.sha256).hexdigest()


class ProxySignatureError(ValueError):
    """An app proxy request that Shopify did not sign, or signed too long ago."""


def verify_proxy(
    params: list[tuple[str, str]], secret: str, max_age: int, now: float | None = None
) -> None:
    """Raise ProxySignatureError unless the query is Shopify's, signed within ``max_age`` seconds."""
    names = [key for key, _ in params]
    for unique in ("signature", "shop", "timestamp"):
        if names.count(unique) != 1:
            raise ProxySignatureError(f"query parameter {unique!r} must appear exactly once")
    given = dict(params)["signature"]
    if not hmac.compare_digest(proxy_signature(secret, params).encode(), given.encode()):
        raise ProxySignatureError("signature does not match")
    try:
        age = (time.time() if now is None else now) - int(dict(params)["timestamp"])
    except ValueError:
        raise ProxySignatureError("timestamp is not a number") from None
    if abs(age) > max_age:
        raise ProxySignatureError("timestamp is too old or in the future")
