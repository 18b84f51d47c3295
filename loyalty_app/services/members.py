"""Members: enrolment, balances and VIP tiers."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import ledger
from ..models import LedgerEntry, Member, OrderRecord, Shop, Tier, utcnow
from ..program.tiers import TierRule, previous_calendar_year, resolve_tier, tier_with_key, window_start
from ..sql import transaction_cache, upsert_locked
from . import flow_outbox
from .shops import program_settings

TIER_POINT_KINDS = ("earn", "action", "bonus", "reversal")
"""What counts towards a points tier: everything earned, net of refunds (member.lifetime's kinds);
entry bonuses only when the shop's ``tier_bonus_counts`` says so."""


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

    Points over the lifetime are the member's cached ``lifetime`` (less their tier entry bonuses,
    unless the shop counts those): no scan of their history.
    """
    settings = program_settings(shop)
    since = window_start(settings.tier_window, now or utcnow())
    if settings.tier_basis == "points" and since is None:
        lifetime = Decimal(member.lifetime)
        return lifetime if settings.tier_bonus_counts else lifetime - _bonus_total(session, shop, member)
    return _activity(session, shop, member, since)


def _bonus_total(session: Session, shop: Shop, member: Member) -> Decimal:
    """The entry bonuses the member holds, found by their keys (one index probe per tier, not a history scan)."""
    keys = [_bonus_key(member, tier) for tier in tier_rules(session, shop.id)]
    if not keys:
        return Decimal("0")
    return Decimal(session.execute(select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
        LedgerEntry.shop_id == shop.id, LedgerEntry.idempotency_key.in_(keys))).scalar_one())


def _bonus_key(member: Member, tier: TierRule) -> str:
    return f"tier-bonus:{member.id}:{tier.key}"


def _activity(session: Session, shop: Shop, member: Member, since: datetime | None,
              until: datetime | None = None) -> Decimal:
    """Points earned (net of reversals) or money spent between ``since`` and ``until``."""
    settings = program_settings(shop)
    if settings.tier_basis == "points":
        kinds = TIER_POINT_KINDS if settings.tier_bonus_counts else tuple(k for k in TIER_POINT_KINDS if k != "bonus")
        query = select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
            LedgerEntry.member_id == member.id, LedgerEntry.kind.in_(kinds))
        moment = LedgerEntry.created_at
    else:
        query = select(
            func.coalesce(func.sum(OrderRecord.eligible_amount - OrderRecord.refunded_amount), 0)
        ).where(OrderRecord.member_id == member.id, OrderRecord.points_earned.is_not(None),
                OrderRecord.cancelled.is_(False))
        moment = OrderRecord.placed_at
    if since is not None:
        query = query.where(moment >= since)
    if until is not None:
        query = query.where(moment < until)
    return Decimal(session.execute(query).scalar_one())


def update_tier(session: Session, shop: Shop, member: Member, now: datetime | None = None,
                reevaluating: bool = False, trigger: LedgerEntry | None = None) -> TierRule | None:
    """Promote the member at once, or (re-evaluating) move them to the tier they qualify for.

    The caller holds the member's lock (it has just posted for them, or locked them to re-rank).

    A promotion posts the new tier's entry bonus once per member and tier, whatever happens later.
    ``trigger`` is the entry that reached the tier (an order's earn, an action): the bonus is
    posted in its state, pending until the same ``available_at`` when it is pending, so
    ``ledger.mature`` makes both available together. When the shop counts bonuses towards the
    next tier, a bonus may itself promote again. With calendar-year tiers kept a year, a
    re-evaluation also counts last calendar year's activity.
    """
    now = now or utcnow()
    settings = program_settings(shop)
    rules = tier_rules(session, shop.id)
    previous = None
    if reevaluating and settings.tier_keep_previous_year and settings.tier_window == "calendar_year":
        previous = _activity(session, shop, member, *previous_calendar_year(now))
    while True:  # each round promotes strictly higher, so this ends within the number of tiers
        current = tier_with_key(rules, member.tier_id)
        target = resolve_tier(rules, current, tier_progress(session, shop, member, now), reevaluating, previous)
        if (target.key if target else None) == member.tier_id:
            return target
        promoted = target is not None and (current is None or target.threshold > current.threshold)
        member.tier_id = target.key if target else None
        ledger.touch(session, member.id)  # the mirrored tier changes too
        session.flush()
        flow_outbox.record_tier_change(session, shop.id, member.id, current.name if current else None,
                                       target.name if target else None, promoted, now)
        if not (promoted and target is not None and target.entry_bonus > 0):
            return target
        state, available_at = ledger.same_state_as(trigger)
        ledger.post(session, member.id, amount=target.entry_bonus, kind="bonus", key=_bonus_key(member, target),
                    source=f"tier:{target.key}", note=f"Welcome to {target.name}", now=now,
                    state=state, available_at=available_at)
        if not settings.tier_bonus_counts:
            return target


def reevaluate_member(session: Session, shop: Shop, member_id: int, now: datetime | None = None,
                      trigger: LedgerEntry | None = None) -> TierRule | None:
    """Re-rank one member at once, demotion allowed: a refund or cancellation took points back.

    Locks the member; the caller owns the transaction. ``trigger`` as for ``update_tier``.
    """
    return update_tier(session, shop, ledger.lock_member(session, member_id), now, reevaluating=True, trigger=trigger)


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
