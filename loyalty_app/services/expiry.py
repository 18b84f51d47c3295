"""Expiry of available points after a shop's inactivity period, as ledger entries."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import ledger
from ..models import Member, Shop, utcnow
from ..program.expiry import add_months, expiry_due
from .shops import program_settings


def expire_inactive(session: Session, shop: Shop, now: datetime | None = None) -> int:
    """Expire the available points of members idle for the shop's expiry period; returns points expired."""
    now = now or utcnow()
    months = program_settings(shop).expiry_months
    if not months:
        return 0
    cutoff = add_months(now, -months)
    candidates = session.execute(
        select(Member.id).where(Member.shop_id == shop.id, Member.balance > 0, Member.last_activity_at <= cutoff)
    ).scalars().all()
    expired = 0
    for member_id in candidates:
        member = ledger.lock_member(session, member_id)
        if not expiry_due(member.last_activity_at, months, member.balance, now):
            continue
        assert member.last_activity_at is not None
        amount = member.balance
        ledger.post(session, member.id, amount=-amount, kind="expire",
                    key=f"expire:{member.id}:{member.last_activity_at.isoformat()}", source="expiry",
                    note=f"No activity for {months} months", now=now)
        expired += amount
    return expired
