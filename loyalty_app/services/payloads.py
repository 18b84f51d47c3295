"""Reading Shopify webhook bodies: typed values out, PayloadError for anything malformed."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any


class PayloadError(ValueError):
    """A webhook body that can never be processed; retrying it would not help."""


def shop_money(node: Any, field: str) -> Decimal:
    """A ``*_set.shop_money.amount`` value: always the shop's currency, whatever the buyer paid in."""
    try:
        amount = Decimal(str(node[field]["shop_money"]["amount"]))
    except (KeyError, TypeError, InvalidOperation) as exc:
        raise PayloadError(f"{field}.shop_money.amount is missing or not a number") from exc
    if not amount.is_finite():
        raise PayloadError(f"{field} is not a finite amount")
    if amount < 0:
        raise PayloadError(f"{field} must not be negative")
    return amount


def parse_id(node: Any, field: str) -> int:
    """A positive integer id (Shopify's REST ids)."""
    value = node.get(field) if isinstance(node, dict) else None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
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
