"""One-click actions the widget offers (social follow, newsletter), each within its rule's limit.

A follow cannot be verified (the networks do not say who followed), so it is one click within the
rule's limit, replay-safe by the widget's idempotency key. The newsletter pays only for Shopify's
own record of email-marketing consent, never for the click: the click asks Shopify (the Admin API),
and a customers/* webhook that carries ``email_marketing_consent.state == "subscribed"`` credits it
without a click. Both post the same key, ``action:newsletter:<member>:subscribed``, so a customer is
paid once for subscribing, whichever arrives first, and not again after unsubscribing and
subscribing anew.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import ledger
from ..models import LedgerEntry, Member, Shop, utcnow
from ..program.actions import ActionLimit, action_allowed
from .actions import award_action, find_rule, shop_zone
from .members import enrol
from .refusals import Refused

CLICK_ACTIONS = ("social_follow", "newsletter")
NEWSLETTER_REFERENCE = "subscribed"


class ClickRefused(Refused):
    """Why a click earned nothing: ``unknown_action``, ``consent_required`` or ``limit_reached``."""


@dataclass(frozen=True)
class Claim:
    """A credited click: its entry, the member's balance after it, and what the widget shows now."""

    entry: LedgerEntry
    balance: int
    state: str  # done | limit_reached (this click used the last claim of the period)


def credit_newsletter(session: Session, shop: Shop, member: Member, now: datetime | None = None) -> LedgerEntry | None:
    """Credit the newsletter action for a customer Shopify says has consented; None over the limit or no rule.

    Call only with Shopify's consent in hand. Posting again returns the same entry. The caller commits.
    """
    if find_rule(session, shop, "newsletter") is None:
        return None
    return award_action(session, shop, member, "newsletter", reference=NEWSLETTER_REFERENCE, now=now)


def _state(session: Session, shop: Shop, member: Member, action: str, now: datetime) -> str:
    """``limit_reached`` when one more claim now would be over the rule's limit, else ``done``."""
    rule = find_rule(session, shop, action)
    assert rule is not None
    claims = session.execute(select(LedgerEntry.created_at).where(
        LedgerEntry.member_id == member.id, LedgerEntry.kind == "action", LedgerEntry.source == f"action:{action}")
    ).scalars().all()
    zone = shop_zone(shop)
    limit = ActionLimit(rule.limit_kind, rule.limit_count, rule.period_days)
    if limit.kind == "per_period" and not action_allowed(limit, [c.astimezone(zone) for c in claims],
                                                         now.astimezone(zone)):
        return "limit_reached"
    return "done"


def claim_click(session: Session, shop: Shop, customer_id: int, action: str, idempotency_key: str,
                consented: Callable[[], bool], now: datetime | None = None) -> Claim:
    """Credit a widget click on ``action``; raises ClickRefused. The caller commits.

    ``consented`` asks Shopify whether the customer subscribed to email marketing; it is called
    for the newsletter only, and only when the newsletter was not credited already (a repeated
    click costs no Shopify call).
    """
    now = now or utcnow()
    if action not in CLICK_ACTIONS or find_rule(session, shop, action) is None:
        raise ClickRefused("unknown_action", f"this shop does not run the {action!r} action")
    member, _ = enrol(session, shop, customer_id)
    if action == "newsletter":
        entry = ledger.find_entry(session, shop.id, f"action:newsletter:{member.id}:{NEWSLETTER_REFERENCE}")
        if entry is None:
            if not consented():
                raise ClickRefused("consent_required", "subscribe to the newsletter first; Shopify has no consent")
            entry = credit_newsletter(session, shop, member, now)
    else:
        entry = award_action(session, shop, member, action, reference=f"click:{idempotency_key}", now=now)
    if entry is None:
        raise ClickRefused("limit_reached", f"{action} has reached its limit")
    member = ledger.lock_member(session, member.id)
    return Claim(entry, member.balance, _state(session, shop, member, action, now))
