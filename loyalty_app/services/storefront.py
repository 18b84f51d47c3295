"""What the storefront widget shows: a member's standing, rewards, ways to earn, codes and recent activity.

Every query here is bounded (an indexed lookup, the last ten entries, the member's action claims
through their partial index, the active codes), so a member with 100,000 entries costs what a new
member costs. Nothing here writes: callers need not commit.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import EarningRule, LedgerEntry, Member, Redemption, Reward, Shop, Tier, utcnow
from ..program.actions import ActionLimit, action_state, shown_to_shopper
from ..program.tiers import TierRule, next_tier, progress_percent, qualifying_tier, tier_with_key
from ..schemas import RedemptionSchema
from .members import tier_progress, tier_rules
from .referrals import referral_url
from .redemptions import shown_state
from .shops import program_settings

ACTIVITY_ENTRIES = 10
CODES_SHOWN = 10
_redemption_schema = RedemptionSchema()


def decimal_text(value: Decimal) -> str:
    """``Decimal('400.00')`` → ``'400'``, ``Decimal('1.250')`` → ``'1.25'``: plain, never exponent notation."""
    return format(value.normalize(), "f")


def localized(name: str, translations: dict[str, str] | None, locale: str | None) -> str:
    """The merchant's name for ``locale`` (``pt-BR``, then ``pt``), or the plain name when they gave none."""
    if not locale or not translations:
        return name
    return translations.get(locale) or translations.get(locale.split("-")[0]) or name


def code_item(redemption: Redemption, now: datetime) -> dict[str, Any]:
    """A code as the shopper sees it, in the shape of ``/proxy/codes`` items (an expired code says so)."""
    item: dict[str, Any] = _redemption_schema.dump(redemption)
    item["state"] = shown_state(redemption, now)
    return item


def _active_codes(session: Session, member_id: int, now: datetime) -> list[dict[str, Any]]:
    """The member's newest codes that can still be used, so the widget shows them after a reload."""
    rows = session.execute(select(Redemption).where(Redemption.member_id == member_id, Redemption.state == "active")
                           .order_by(Redemption.id.desc()).limit(CODES_SHOWN)).scalars()
    return [item for item in (code_item(row, now) for row in rows) if item["state"] == "active"]


def _rewards(session: Session, shop: Shop, balance: int | None, locale: str | None) -> list[dict[str, Any]]:
    rewards = session.execute(select(Reward).where(Reward.shop_id == shop.id, Reward.active.is_(True))
                              .order_by(Reward.cost, Reward.id)).scalars()
    return [{"id": r.id, "name": localized(r.name, r.translations, locale), "cost": r.cost, "kind": r.kind,
             "value": decimal_text(r.value), "currency": shop.currency,
             "affordable": balance is not None and balance >= r.cost,
             "missing": max(r.cost - balance, 0) if balance is not None else None} for r in rewards]


def _claims(session: Session, member_id: int, actions: list[str]) -> dict[str, list[datetime]]:
    """When the member was credited for each action (read through the action entries' partial index)."""
    claims: dict[str, list[datetime]] = {action: [] for action in actions}
    rows = session.execute(select(LedgerEntry.source, LedgerEntry.created_at).where(
        LedgerEntry.member_id == member_id, LedgerEntry.kind == "action",
        LedgerEntry.source.in_([f"action:{action}" for action in actions])))
    for source, created_at in rows:
        claims[source.removeprefix("action:")].append(created_at)
    return claims


def _ways_to_earn(session: Session, shop: Shop, member: Member | None, signed_in: bool,
                  now: datetime) -> list[dict[str, Any]]:
    """Orders, then every active action the app can credit, with the shopper's state under its limit.

    A guest sees every such action as available (they would be, once they join).
    """
    settings = program_settings(shop)
    ways: list[dict[str, Any]] = [{"action": "order", "points": decimal_text(settings.points_per_unit),
                                   "per": shop.currency, "limit": None, "state": "available"}]
    rules = list(session.execute(select(EarningRule).where(EarningRule.shop_id == shop.id,
                                                           EarningRule.active.is_(True))
                                 .order_by(EarningRule.id)).scalars())
    claims = _claims(session, member.id, [r.action for r in rules]) if member is not None and rules else {}
    for rule in rules:
        claimed = claims.get(rule.action, [])
        if not shown_to_shopper(rule.action, signed_in, bool(claimed)):
            continue
        limit = ActionLimit(rule.limit_kind, rule.limit_count, rule.period_days)
        way = {"action": rule.action, "points": rule.points, "limit": rule.limit_kind,
               "state": action_state(limit, claimed, now)}
        if rule.action == "social_follow" and (rule.settings or {}).get("follow_urls"):
            way["url"] = rule.settings["follow_urls"][0]  # the profile the Follow button opens
        ways.append(way)
    return ways


def _tier_names(session: Session, shop_id: int, locale: str | None) -> dict[int, str]:
    """Each tier's name in the shopper's language, by id."""
    return {tier_id: localized(name, translations, locale) for tier_id, name, translations in session.execute(
        select(Tier.id, Tier.name, Tier.translations).where(Tier.shop_id == shop_id))}


def _tier_progress(rules: list[TierRule], tier: TierRule | None, progress: Decimal,
                   names: dict[int, str]) -> dict[str, Any] | None:
    """``{current, next, remaining, percent}`` towards the next tier (None for a shop without tiers)."""
    if not rules:
        return None
    upcoming = next_tier(rules, progress)
    return {"current": names.get(tier.key, tier.name) if tier else None,
            "next": names.get(upcoming[0].key, upcoming[0].name) if upcoming else None,
            "remaining": decimal_text(upcoming[1]) if upcoming else "0",
            "percent": progress_percent(rules, progress)}


def guest_view(session: Session, shop: Shop, locale: str | None = None) -> dict[str, Any]:
    """The program explainer for a shopper who is not signed in."""
    return {"customer_id": None, "balance": None, "pending": None, "lifetime": None, "tier": None,
            "next_tier": None, "tier_progress": None, "currency": shop.currency, "birthday": None,
            "rewards": _rewards(session, shop, None, locale),
            "ways_to_earn": _ways_to_earn(session, shop, None, False, utcnow()),
            "activity": [], "codes": [], "referral_url": None,
            "links": {"sign_in": "/account/login", "join": "/account/register"}}


def member_view(session: Session, shop: Shop, customer_id: int, secret: str,
                locale: str | None = None) -> dict[str, Any]:
    """A signed-in shopper's standing (a customer who has not earned yet is shown at zero, not enrolled).

    Names of rewards and tiers are in ``locale`` when the merchant translated them.
    """
    now = utcnow()
    member = session.execute(select(Member).where(Member.shop_id == shop.id, Member.customer_id == customer_id)
                             ).scalar_one_or_none()
    rules = tier_rules(session, shop.id)
    names = _tier_names(session, shop.id, locale) if rules else {}
    balance = member.balance if member else 0
    progress = tier_progress(session, shop, member) if member else Decimal("0")
    tier = (tier_with_key(rules, member.tier_id) if member else None) or qualifying_tier(rules, progress)
    upcoming = next_tier(rules, progress)
    activity: list[dict[str, Any]] = []
    codes: list[dict[str, Any]] = []
    if member is not None:
        entries = session.execute(select(LedgerEntry).where(LedgerEntry.member_id == member.id)
                                  .order_by(LedgerEntry.id.desc()).limit(ACTIVITY_ENTRIES)).scalars()
        activity = [{"amount": e.amount, "kind": e.kind, "state": e.state, "note": e.note,
                     "created_at": e.created_at.isoformat()} for e in entries]
        codes = _active_codes(session, member.id, now)
    return {
        "customer_id": customer_id,
        "balance": balance,
        "pending": member.pending if member else 0,
        "lifetime": member.lifetime if member else 0,
        "tier": {"name": names.get(tier.key, tier.name), "multiplier": decimal_text(tier.multiplier)} if tier else None,
        "next_tier": ({"name": names.get(upcoming[0].key, upcoming[0].name), "remaining": decimal_text(upcoming[1])}
                      if upcoming else None),
        "tier_progress": _tier_progress(rules, tier, progress, names),
        "currency": shop.currency,
        "birthday": member.birthday.strftime("%m-%d") if member and member.birthday else None,
        "rewards": _rewards(session, shop, balance, locale),
        "ways_to_earn": _ways_to_earn(session, shop, member, True, now),
        "activity": activity,
        "codes": codes,
        "referral_url": referral_url(session, shop, member, secret) if member else None,
    }
