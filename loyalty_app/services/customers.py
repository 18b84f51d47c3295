"""Customers from Shopify: enrolment, signup bonus, profile and birthday sync."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import EarningRule, Shop, utcnow
from ..program.actions import signup_earned
from .actions import award_action
from .engagement import credit_newsletter
from .members import enrol
from .orders import credit_guest_orders
from .payloads import customer_fields, parse_email
from .shops import program_settings

_BIRTHDAY_TAG = re.compile(r"^birthday[:=](\d{4}-\d{2}-\d{2})$", re.IGNORECASE)


@dataclass(frozen=True)
class CustomerFacts:
    customer_id: int
    email: str | None
    first_name: str | None
    last_name: str | None
    birthday: date | None
    state: str | None  # the classic account state: disabled, invited, enabled or declined
    created_at: datetime | None
    email_subscribed: bool = False  # Shopify's email_marketing_consent.state is "subscribed"


def _birthday(payload: dict[str, Any], source: str, metafield: str) -> date | None:
    """A birthday from a ``birthday:YYYY-MM-DD`` tag or from the configured customer metafield."""
    raw: str | None = None
    if source == "tag":
        tags = payload.get("tags") or ""
        for tag in (t.strip() for t in (tags.split(",") if isinstance(tags, str) else tags)):
            if match := _BIRTHDAY_TAG.match(tag):
                raw = match.group(1)
    else:
        namespace, _, key = metafield.partition(".")
        for field in payload.get("metafields") or []:
            if field.get("namespace") == namespace and field.get("key") == key:
                raw = str(field.get("value"))
    if raw is None:
        return None
    try:
        return date.fromisoformat(raw[:10])
    except ValueError:
        return None  # a merchant's typo in a tag must not fail the whole sync


def customer_facts(payload: Any, birthday_source: str, birthday_metafield: str) -> CustomerFacts:
    """Read a customer webhook body (validated by ``payloads.CustomerSchema``)."""
    data = customer_fields(payload)
    consent = data["email_marketing_consent"] or {}
    return CustomerFacts(data["id"], parse_email(data["email"]), data["first_name"], data["last_name"],
                         _birthday(data, birthday_source, birthday_metafield), data["state"], data["created_at"],
                         consent.get("state") == "subscribed")


def _signup_active(session: Session, shop: Shop) -> bool:
    """Whether the shop runs a signup bonus at all."""
    return session.execute(select(EarningRule.id).where(
        EarningRule.shop_id == shop.id, EarningRule.action == "signup", EarningRule.active.is_(True))).first() is not None


def sync_customer(session: Session, shop: Shop, payload: Any, topic: str, now: datetime | None = None) -> str:
    """Enrol or update a member from a customer webhook; credit any guest orders of theirs.

    The signup bonus is paid once, when the event is the customer getting an account
    (``program.actions.signup_earned``). The newsletter action is paid once Shopify's
    ``email_marketing_consent.state`` says "subscribed" (``engagement.credit_newsletter``). The caller commits.
    """
    now = now or utcnow()
    settings = program_settings(shop)
    facts = customer_facts(payload, settings.birthday_source, settings.birthday_metafield)
    member, created = enrol(session, shop, facts.customer_id, email=facts.email, first_name=facts.first_name,
                            last_name=facts.last_name, birthday=facts.birthday)
    notes = ["enrolled" if created else "updated"]
    if signup_earned(topic, facts.state, facts.created_at, shop.installed_at) and _signup_active(session, shop):
        lifetime = member.lifetime
        award_action(session, shop, member, "signup", now=now)
        if member.lifetime != lifetime:  # a replay, or a second way of saying it, posts nothing
            notes.append("signup bonus")
    if facts.email_subscribed:
        lifetime = member.lifetime
        credit_newsletter(session, shop, member, now)
        if member.lifetime != lifetime:
            notes.append("newsletter")
    guest_points = credit_guest_orders(session, shop, member, now)
    if guest_points:
        notes.append(f"guest orders {guest_points}")
    return ", ".join(notes)
