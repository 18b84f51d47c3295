"""Rate limits on what costs us a Shopify call or ledger work (redemptions, action clicks, reviews), kept in Redis when there is one.

Built on ``limits``, the library Flask-Limiter runs on. Flask-Limiter itself hooks every request
of the app, and measured on this machine those hooks cost about 0.8 ms per request, doubling
the cost of acknowledging a webhook; only the routes that need a limit ask here.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import Flask, current_app
from limits import RateLimitItem, parse_many
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

log = logging.getLogger(__name__)


@dataclass
class Limits:
    """One app's limiter and the limits it applies to redemptions, action clicks and signed review calls."""

    limiter: MovingWindowRateLimiter
    redeem: list[RateLimitItem]
    click: list[RateLimitItem]
    review: list[RateLimitItem]

    def allow(self, limits: list[RateLimitItem], *key: str) -> bool:
        """Count one hit for ``key`` unless any limit is already reached; a broken store lets the hit through."""
        try:
            if not all(self.limiter.test(limit, *key) for limit in limits):
                return False
            for limit in limits:
                self.limiter.hit(limit, *key)
        except Exception:  # the limit protects Shopify's quota; the shopper's redemption matters more
            log.warning("rate limit store unavailable; letting the request through", exc_info=True)
        return True


def init_app(app: Flask) -> None:
    """Keep the app's limits in ``app.extensions["rate_limits"]`` (memory without Redis)."""
    url = app.config.get("REDIS_URL")
    storage = (storage_from_string(url, socket_timeout=0.2, socket_connect_timeout=0.2) if url
               else storage_from_string("memory://"))
    app.extensions["rate_limits"] = Limits(MovingWindowRateLimiter(storage), parse_many(app.config["REDEEM_RATE_LIMIT"]),
                                           parse_many(app.config["CLICK_RATE_LIMIT"]),
                                           parse_many(app.config["REVIEW_RATE_LIMIT"]))


def redemption_allowed(shop_id: int, customer_id: int) -> bool:
    """Whether this shopper may try another redemption now (and count it)."""
    limits: Limits = current_app.extensions["rate_limits"]
    return limits.allow(limits.redeem, "redeem", str(shop_id), str(customer_id))


def click_allowed(shop_id: int, customer_id: int) -> bool:
    """Whether this shopper may click another earning action now (a newsletter click asks Shopify)."""
    limits: Limits = current_app.extensions["rate_limits"]
    return limits.allow(limits.click, "click", str(shop_id), str(customer_id))


def review_allowed(shop_id: int) -> bool:
    """Whether the shop's review endpoint takes another request now (a leaked secret cannot flood the ledger)."""
    limits: Limits = current_app.extensions["rate_limits"]
    return limits.allow(limits.review, "review", str(shop_id))
