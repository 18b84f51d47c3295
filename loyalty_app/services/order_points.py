"""What one order earns, as the customer account's order-status block and the thank-you page show it.

An order the program has recorded answers from its row and its ledger entry (points net of
reversals, pending until the entry matures). An order not recorded yet (not paid, or its
webhook still on its way) gets an estimate from today's rules for this member: the same pure
formula the order will earn by (program/earning.py), so the two only differ if the rules,
the member's tier or a campaign change before payment. Nothing here writes or commits.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import ledger
from ..models import Member, OrderRecord, Shop, utcnow
from ..program.earning import order_points
from ..program.tiers import tier_with_key
from .members import tier_rules
from .orders import active_campaign_multiplier
from .shops import program_settings


def recorded_points(session: Session, shop: Shop, order_id: int, member: Member) -> dict[str, Any] | None:
    """The member's points on an order the program has earned, or None if it has not (or it is not theirs)."""
    record = session.execute(select(OrderRecord).where(OrderRecord.shop_id == shop.id,
                                                       OrderRecord.order_id == order_id)).scalar_one_or_none()
    if record is None or record.points_earned is None or record.member_id != member.id:
        return None
    entry = ledger.find_entry(session, shop.id, f"order:{order_id}")
    pending = entry is not None and entry.state == "pending"
    return {"state": "pending" if pending else "earned", "points": record.points_earned - record.points_reversed,
            "available_at": entry.available_at.isoformat() if pending and entry.available_at else None}


def estimated_points(session: Session, shop: Shop, member: Member | None, subtotal: Decimal, currency: str,
                     now: datetime | None = None) -> dict[str, Any]:
    """About what an order of ``subtotal`` would earn today; ``points`` is None when it cannot be said.

    Points are counted in the shop's currency, so a subtotal in another (a market's) currency
    gets no number rather than a wrong one. A guest is estimated at the base rate.
    """
    settings = program_settings(shop)
    if currency.upper() != shop.currency.upper() or (member is not None and member.excluded):
        return {"state": "estimate", "points": None, "available_at": None}
    if subtotal < settings.minimum_order_amount:
        return {"state": "estimate", "points": 0, "available_at": None}
    tier = tier_with_key(tier_rules(session, shop.id), member.tier_id) if member is not None else None
    points = order_points(subtotal, settings.points_per_unit, tier.multiplier if tier else Decimal("1"),
                          active_campaign_multiplier(session, shop.id, now or utcnow()), settings.rounding)
    return {"state": "estimate", "points": points, "available_at": None}
