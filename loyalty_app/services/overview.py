"""The figures the admin's Home page opens with, each one query over our own tables."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import Member, Shop, Tier, WebhookEvent, utcnow
from .analytics import Analytics, Window, analytics


@dataclass(frozen=True)
class Overview:
    """Is the program running, how big is it, and does anything need the merchant's attention."""

    program_version: int
    members: int
    points_outstanding: int
    points_pending: int
    tiers: int
    failed_events: int
    last_event_at: datetime | None
    recent: Analytics
    """The last 30 days' figures, as the Analytics page shows them by default."""


def overview(session: Session, shop: Shop, now: datetime | None = None) -> Overview:
    """Home's figures for ``shop``; reads only."""
    now = now or utcnow()
    members, outstanding, pending = session.execute(
        select(func.count(Member.id), func.coalesce(func.sum(Member.balance), 0), func.coalesce(func.sum(Member.pending), 0))
        .where(Member.shop_id == shop.id, Member.redacted_at.is_(None))).one()
    tiers = session.execute(select(func.count(Tier.id)).where(Tier.shop_id == shop.id)).scalar_one()
    failed, last = session.execute(
        select(func.count(WebhookEvent.id).filter(WebhookEvent.status == "failed",
                                                   WebhookEvent.received_at >= now - timedelta(days=30)),
               func.max(WebhookEvent.received_at))
        .where(WebhookEvent.shop_id == shop.id)).one()
    return Overview(shop.program_version, members, int(outstanding), int(pending), tiers, failed, last,
                    analytics(session, shop, Window.last_days(now.date())))
