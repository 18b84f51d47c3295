"""Members: enrolment, balances and VIP tiers."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import ledger
from ..models import LedgerEntry, Member, OrderRecord, Shop, Tier, utcnow
from ..program.tiers import TierRule, resolve_tier, tier_with_key, window_start
from ..sql import transaction_cache, upsert_locked
from .shops import program_settings

TIER_POINT_KINDS = ("earn", "action", "bonus", "reversal")
"""What counts towards a points tier: everything earned, net of refunds (member.lifetime's kinds)."""


def find_member(session: Session, shop_id: int, customer_id: int) -> Member | None:
    """The member for a Shopify customer id, if enrolled."""
    return session.execute(
        select(Member).where(Member.shop_id == shop_id, Member.customer_id == customer_id)
    ).scalar_one_or_none()


def enrol(session: Session, shop: Shop, customer_id: int, **profile: Any) -> tuple[Member, bool]:
    """The member for a customer, created if new and locked; returns (member, created).

    Profile fields (email, first_name, last_name, birthday) given as non-None update the member.
    """
    known = {k: v for k, v in profile.items() if v is not None}
    values = {"shop_id": shop.id, "customer_id": customer_id, "balance": 0, "pending": 0, "lifetime": 0,
              "created_at": utcnow(), **known}
    return upsert_locked(session, Member, values, on=["shop_id", "customer_id"], updated=tuple(sorted(known)))


def tier_rules(session: Session, shop_id: int) -> list[TierRule]:
    """The shop's tiers as the pure rules see them (read once per transaction)."""
    cache = transaction_cache(session)
    if ("tiers", shop_id) not in cache:
        tiers = session.execute(select(Tier).where(Tier.shop_id == shop_id).order_by(Tier.threshold)).scalars()
        cache["tiers", shop_id] = [TierRule(t.id, t.name, t.threshold, t.multiplier, t.entry_bonus) for t in tiers]
    return cache["tiers", shop_id]


def tier_progress(session: Session, shop: Shop, member: Member, now: datetime | None = None) -> Decimal:
    """The member's points earned, or money spent, within the shop's tier window.

    Points over the lifetime are the member's cached ``lifetime``: no scan of their history.
    """
    settings = program_settings(shop)
    since = window_start(settings.tier_window, now or utcnow())
    if settings.tier_basis == "points" and since is None:
        return Decimal(member.lifetime)
    if settings.tier_basis == "points":
        query = select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
            LedgerEntry.member_id == member.id, LedgerEntry.kind.in_(TIER_POINT_KINDS)
        )
        if since is not None:
            query = query.where(LedgerEntry.created_at >= since)
    else:
        query = select(
            func.coalesce(func.sum(OrderRecord.eligible_amount - OrderRecord.refunded_amount), 0)
        ).where(OrderRecord.member_id == member.id, OrderRecord.points_earned.is_not(None),
                OrderRecord.cancelled.is_(False))
        if since is not None:
            query = query.where(OrderRecord.placed_at >= since)
    return Decimal(session.execute(query).scalar_one())


def update_tier(session: Session, shop: Shop, member: Member, now: datetime | None = None,
                reevaluating: bool = False) -> TierRule | None:
    """Promote the member at once, or (re-evaluating) move them to the tier they qualify for.

    The caller holds the member's lock (it has just posted for them, or locked them to re-rank).

    A promotion posts the new tier's entry bonus once per member and tier, whatever happens later.
    """
    now = now or utcnow()
    rules = tier_rules(session, shop.id)
    current = tier_with_key(rules, member.tier_id)
    target = resolve_tier(rules, current, tier_progress(session, shop, member, now), reevaluating)
    target_id = target.key if target else None
    if target_id != member.tier_id:
        promoted = target is not None and (current is None or target.threshold > current.threshold)
        member.tier_id = target_id
        if promoted and target.entry_bonus > 0:
            ledger.post(session, member.id, amount=target.entry_bonus, kind="bonus",
                        key=f"tier-bonus:{member.id}:{target.key}", source=f"tier:{target.key}",
                        note=f"Welcome to {target.name}", now=now)
        session.flush()
    return target


def reevaluate_tiers(session: Session, shop: Shop, now: datetime | None = None) -> int:
    """Re-rank every member of a shop over the current window (the only path to demotion)."""
    changed = 0
    for member_id in session.execute(select(Member.id).where(Member.shop_id == shop.id)).scalars().all():
        member = ledger.lock_member(session, member_id)
        before = member.tier_id
        update_tier(session, shop, member, now, reevaluating=True)
        changed += member.tier_id != before
    return changed


def tier_name(session: Session, member: Member) -> str | None:
    """The name of the member's tier, if any."""
    tier = session.get(Tier, member.tier_id) if member.tier_id else None
    return tier.name if tier else None
