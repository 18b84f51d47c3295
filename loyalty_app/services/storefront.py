"""What the storefront widget shows: a member's standing, rewards, ways to earn and recent activity.

Every query here is bounded (an indexed lookup, the last ten entries), so a member with
100,000 entries costs what a new member costs.
"""
from __future__ import annotations

import hashlib
import hmac
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import EarningRule, LedgerEntry, Member, Reward, Shop
from ..program.tiers import next_tier, qualifying_tier, tier_with_key
from .members import tier_progress, tier_rules
from .referrals import referral_url
from .shops import program_settings

ACTIVITY_ENTRIES = 10


def decimal_text(value: Decimal) -> str:
    """``Decimal('400.00')`` → ``'400'``, ``Decimal('1.250')`` → ``'1.25'``: plain, never exponent notation."""
    return format(value.normalize(), "f")


def referral_code(secret: str, shop_id: int, member_id: int) -> str:
    """A short code that names the member without exposing their customer id."""
    digest = hmac.new(secret.encode(), f"{shop_id}:{member_id}".encode(), hashlib.sha256).hexdigest()
    return digest[:10]


def _rewards(session: Session, shop_id: int, balance: int | None) -> list[dict[str, Any]]:
    rewards = session.execute(select(Reward).where(Reward.shop_id == shop_id, Reward.active.is_(True))
                              .order_by(Reward.cost)).scalars()
    return [{"id": r.id, "name": r.name, "cost": r.cost, "kind": r.kind, "value": decimal_text(r.value),
             "affordable": balance is not None and balance >= r.cost} for r in rewards]


def _ways_to_earn(session: Session, shop: Shop) -> list[dict[str, Any]]:
    settings = program_settings(shop)
    ways: list[dict[str, Any]] = [{"action": "order", "points": decimal_text(settings.points_per_unit),
                                   "per": shop.currency, "limit": None}]
    rules = session.execute(select(EarningRule).where(EarningRule.shop_id == shop.id, EarningRule.active.is_(True))
                            .order_by(EarningRule.id)).scalars()
    ways += [{"action": r.action, "points": r.points, "limit": r.limit_kind} for r in rules]
    return ways


def guest_view(session: Session, shop: Shop) -> dict[str, Any]:
    """The program explainer for a shopper who is not signed in."""
    return {"customer_id": None, "balance": None, "pending": None, "lifetime": None, "tier": None,
            "next_tier": None, "rewards": _rewards(session, shop.id, None), "ways_to_earn": _ways_to_earn(session, shop),
            "activity": [], "referral_url": None,
            "links": {"sign_in": "/account/login", "join": "/account/register"}}


def member_view(session: Session, shop: Shop, customer_id: int, secret: str) -> dict[str, Any]:
    """A signed-in shopper's standing (a customer who has not earned yet is shown at zero, not enrolled)."""
    member = session.execute(select(Member).where(Member.shop_id == shop.id, Member.customer_id == customer_id)
                             ).scalar_one_or_none()
    rules = tier_rules(session, shop.id)
    balance = member.balance if member else 0
    progress = tier_progress(session, shop, member) if member else Decimal("0")
    tier = (tier_with_key(rules, member.tier_id) if member else None) or qualifying_tier(rules, progress)
    upcoming = next_tier(rules, progress)
    activity = []
    if member is not None:
        entries = session.execute(select(LedgerEntry).where(LedgerEntry.member_id == member.id)
                                  .order_by(LedgerEntry.id.desc()).limit(ACTIVITY_ENTRIES)).scalars()
        activity = [{"amount": e.amount, "kind": e.kind, "state": e.state, "note": e.note,
                     "created_at": e.created_at.isoformat()} for e in entries]
    return {
        "customer_id": customer_id,
        "balance": balance,
        "pending": member.pending if member else 0,
        "lifetime": member.lifetime if member else 0,
        "tier": {"name": tier.name, "multiplier": decimal_text(tier.multiplier)} if tier else None,
        "next_tier": {"name": upcoming[0].name, "remaining": decimal_text(upcoming[1])} if upcoming else None,
        "rewards": _rewards(session, shop.id, balance),
        "ways_to_earn": _ways_to_earn(session, shop),
        "activity": activity,
        "referral_url": referral_url(session, shop, member, secret) if member else None,
    }
