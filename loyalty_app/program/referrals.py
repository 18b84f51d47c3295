"""Referral rules: reading a referred order, the fraud checks, and when a referral pays or is void.

Pure functions over plain values, so each rule is tested without a database. The order's
identifying details (IP, device, shipping address, email) are compared as salted digests.
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

CART_ATTRIBUTE = "loyalty_referral"
"""The cart attribute the landing page sets; Shopify copies it to the order's ``note_attributes``."""
CODE_PATTERN = re.compile(r"^[a-z2-9]{10}$")
CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: readable when shared by hand

SELF_REFERRAL = "self_referral"
SAME_EMAIL = "same_email"
SAME_ADDRESS = "same_address"
SAME_IP = "same_ip"
SAME_DEVICE = "same_device"
OVER_CAP = "over_cap"
REASONS = (SELF_REFERRAL, SAME_EMAIL, SAME_ADDRESS, SAME_IP, SAME_DEVICE, OVER_CAP)
REFUSED_OUTRIGHT = frozenset({SELF_REFERRAL, SAME_EMAIL})
"""Certain: the referrer referred themselves. The others may be a household or a shared office: the merchant decides."""

UNSPECIFIED_IPS = frozenset({"0.0.0.0", "::"})
"""What Shopify's samples and imported orders carry when no browser placed the order: no evidence of anything."""

STATUSES = ("pending", "flagged", "paid", "void", "denied")


@dataclass(frozen=True)
class Fingerprint:
    """Who placed an order, as digests (None when the order does not say)."""

    customer_id: int | None = None
    email: str | None = None
    ip: str | None = None
    device: str | None = None
    address: str | None = None


def digest(shop_id: int, kind: str, value: str | None) -> str | None:
    """A salted SHA-256 of a normalised value, or None for nothing: equal inputs give equal digests per shop."""
    if value is None:
        return None
    text = " ".join(str(value).lower().split())
    if not text:
        return None
    return hashlib.sha256(f"{shop_id}:{kind}:{text}".encode()).hexdigest()[:64]


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def address_text(address: Any) -> str | None:
    """A shipping address reduced to what makes it the same place (street, postcode, country), or None."""
    if not isinstance(address, dict):
        return None
    parts = [_text(address.get(key)) for key in ("address1", "address2", "zip", "country_code")]
    if not parts[0] or not (parts[2] or parts[3]):
        return None
    return "|".join(re.sub(r"[^\w]", "", part.lower()) if part else "" for part in parts)


def device_text(client_details: Any) -> str | None:
    """The browser that placed the order: Shopify's ``session_hash`` or the user agent with language and size.

    A user agent alone is shared by millions; with the accept-language and window size it names one browser.
    """
    if not isinstance(client_details, dict):
        return None
    session_hash = _text(client_details.get("session_hash"))
    if session_hash:
        return f"session:{session_hash}"
    agent = _text(client_details.get("user_agent"))
    if not agent:
        return None
    return "|".join(str(client_details.get(key)) for key in ("accept_language", "browser_width", "browser_height")) \
        + f"|{agent}"


def order_fingerprint(shop_id: int, order: dict[str, Any]) -> Fingerprint:
    """The digests of an order webhook body (``browser_ip``, ``client_details``, ``shipping_address``, email)."""
    customer = order.get("customer") if isinstance(order.get("customer"), dict) else {}
    customer_id = customer.get("id") if isinstance(customer.get("id"), int) and not isinstance(customer.get("id"), bool) \
        else None
    details = order.get("client_details") if isinstance(order.get("client_details"), dict) else {}
    ip = _text(order.get("browser_ip")) or _text(details.get("browser_ip"))
    ip = None if ip in UNSPECIFIED_IPS else ip
    return Fingerprint(customer_id=customer_id,
                       email=digest(shop_id, "email", _text(order.get("email")) or _text(customer.get("email"))),
                       ip=digest(shop_id, "ip", ip), device=digest(shop_id, "device", device_text(details)),
                       address=digest(shop_id, "address", address_text(order.get("shipping_address"))))


def referral_attribute(order: dict[str, Any]) -> str | None:
    """The referral code the order carries in ``note_attributes`` (the cart attribute), if well formed."""
    attributes = order.get("note_attributes")
    if not isinstance(attributes, list):
        return None
    for attribute in attributes:
        if isinstance(attribute, dict) and attribute.get("name") == CART_ATTRIBUTE:
            value = attribute.get("value")
            if isinstance(value, str) and CODE_PATTERN.match(value.strip().lower()):
                return value.strip().lower()
    return None


def fraud_reasons(friend: Fingerprint, referrer_email: str | None, referrer_customer_id: int,
                  referrer_orders: Iterable[Fingerprint], referrals_in_period: int, cap: int) -> tuple[str, ...]:
    """Every fraud rule a referred order matches, in ``REASONS`` order (empty: a clean referral).

    ``referrer_email`` is the referrer's digested email; ``referrer_orders`` the referrer's own
    orders; ``referrals_in_period`` how many referrals the referrer already has within the cap's
    period (not counting this one).
    """
    found: set[str] = set()
    if friend.customer_id is not None and friend.customer_id == referrer_customer_id:
        found.add(SELF_REFERRAL)
    own = list(referrer_orders)
    emails = {referrer_email} | {order.email for order in own}
    if friend.email is not None and friend.email in emails:
        found.add(SAME_EMAIL)
    for kind, attribute in ((SAME_ADDRESS, "address"), (SAME_IP, "ip"), (SAME_DEVICE, "device")):
        value = getattr(friend, attribute)
        if value is not None and any(getattr(order, attribute) == value for order in own):
            found.add(kind)
    if referrals_in_period >= cap:
        found.add(OVER_CAP)
    return tuple(reason for reason in REASONS if reason in found)


def initial_status(reasons: Iterable[str]) -> str:
    """``denied`` for a certain self-referral, ``flagged`` for the merchant to judge, else ``pending``."""
    matched = set(reasons)
    if matched & REFUSED_OUTRIGHT:
        return "denied"
    return "flagged" if matched else "pending"


def due_at(paid_at: datetime, pending_days: int) -> datetime:
    """When the referrer may be paid: the end of the shop's pending period after the order was paid."""
    return paid_at + timedelta(days=pending_days)


def settle_decision(status: str, due: datetime, now: datetime, reversed_: bool) -> str:
    """``pay``, ``void`` or ``wait`` for a referral at ``now``.

    A refund or cancellation before the referral is paid voids it, whenever it is seen; a flagged
    referral waits for the merchant whatever the time; a pending one pays once its period is over.
    """
    if status not in ("pending", "flagged"):
        return "wait"
    if reversed_:
        return "void"
    if status == "flagged":
        return "wait"
    return "pay" if now >= due else "wait"


def in_cap_period(created: datetime, now: datetime, period_days: int) -> bool:
    """Whether a referral made at ``created`` counts towards the referrer's cap at ``now``."""
    return created > now - timedelta(days=period_days)
