"""Points for non-purchase actions (signup, birthday, review, …) within each rule's limit."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import ledger
from ..models import EarningRule, LedgerEntry, Member, Shop, utcnow
from ..program.actions import ActionLimit, action_allowed, action_bucket
from .members import update_tier


class ActionError(ValueError):
    """The action cannot be awarded as asked (unknown, inactive, or missing its reference)."""


def shop_zone(shop: Shop) -> ZoneInfo:
    """The shop's time zone, UTC when it has none we know."""
    try:
        return ZoneInfo(shop.timezone or "UTC")
    except (ValueError, KeyError):  # ZoneInfoNotFoundError is a KeyError
        return ZoneInfo("UTC")


def find_rule(session: Session, shop: Shop, action: str) -> EarningRule | None:
    """The shop's active rule for ``action``, if it runs one."""
    return session.execute(
        select(EarningRule).where(EarningRule.shop_id == shop.id, EarningRule.action == action,
                                  EarningRule.active.is_(True))
    ).scalar_one_or_none()


def award_action(session: Session, shop: Shop, member: Member, action: str, *,
                 reference: str | None = None, now: datetime | None = None, extra_points: int = 0,
                 detail: dict[str, object] | None = None) -> LedgerEntry | None:
    """Post an action's points; None when the member has reached the action's limit.

    ``reference`` names the occurrence (a review id, a referred order): the same reference
    never earns twice. Limits of one a year or once ever need none. A calendar year is the
    shop's (its time zone): a birthday credited just after midnight on 1 January in Auckland
    is already that shop's new year. ``extra_points`` (a review's photo bonus) is added to the
    rule's points in the same entry, with ``detail`` saying why. The caller commits.
    """
    now = now or utcnow()
    zone = shop_zone(shop)
    rule = find_rule(session, shop, action)
    if rule is None:
        raise ActionError(f"the shop has no active rule for {action!r}")
    limit = ActionLimit(rule.limit_kind, rule.limit_count, rule.period_days)
    suffix = reference or action_bucket(limit, now.astimezone(zone))
    if suffix is None:
        raise ActionError(f"{action!r} can earn more than once a year: give a reference")
    key = f"action:{action}:{member.id}:{suffix}"

    member = ledger.lock_member(session, member.id)  # serialise concurrent claims before counting them
    existing = ledger.find_entry(session, shop.id, key)
    if existing is not None:
        return existing
    claims = session.execute(
        select(LedgerEntry.created_at).where(LedgerEntry.member_id == member.id, LedgerEntry.kind == "action",
                                             LedgerEntry.source == f"action:{action}")
    ).scalars().all()
    if not action_allowed(limit, [claim.astimezone(zone) for claim in claims], now.astimezone(zone)):
        return None
    entry = ledger.post(session, member.id, amount=rule.points + extra_points, kind="action", key=key,
                        source=f"action:{action}", now=now,
                        detail={"rule_points": rule.points, **(detail or {})} if extra_points or detail else None)
    update_tier(session, shop, member, now, trigger=entry)
    return entry
