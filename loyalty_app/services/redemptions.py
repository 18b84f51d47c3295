"""Redemptions: points exchanged for discount codes, and what became of the codes."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import Redemption, Shop, utcnow
from .payloads import PayloadError, parse_id


def mark_codes_used(session: Session, shop: Shop, payload: Any, now: datetime | None = None) -> str:
    """Mark our codes that an order used (``orders/updated``), for the merchant's analytics."""
    order_id = parse_id(payload, "id")
    codes = payload.get("discount_codes") or []
    if not isinstance(codes, list):
        raise PayloadError("discount_codes must be a list")
    names = [c["code"].upper() for c in codes if isinstance(c, dict) and isinstance(c.get("code"), str)]
    if not names:
        return "no discount codes"
    used = session.execute(
        select(Redemption).where(Redemption.shop_id == shop.id, func.upper(Redemption.code).in_(names),
                                 Redemption.state == "active")
    ).scalars().all()
    for redemption in used:
        redemption.state, redemption.used_at, redemption.order_id = "used", now or utcnow(), order_id
    session.flush()
    return f"{len(used)} code(s) used"
