"""Birthdays: the shopper sets theirs once, the merchant may change it, and a job credits it once a year.

The birthday action is credited on the member's birthday as the shop's calendar has it (the shop's
IANA time zone), keyed ``action:birthday:<member>:<year>``: by the year, not the date, so a birthday
changed after it was celebrated this year waits until next year, and a job run twice, or an hour
later, or on two machines, posts nothing more.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import String, and_, cast, exists, extract, literal, or_, select
from sqlalchemy.orm import Session

from .. import ledger
from ..models import LedgerEntry, Member, Shop, utcnow
from ..program.birthdays import celebrated_days
from .actions import award_action, find_rule, shop_zone
from .members import enrol


class BirthdayLocked(Exception):
    """The shopper already has a birthday: only the merchant can change it."""


def set_by_shopper(session: Session, shop: Shop, customer_id: int, birthday: date,
                   now: datetime | None = None) -> Member:
    """The shopper's own birthday, once; raises BirthdayLocked when one is set. The caller commits.

    Once, so a shopper cannot move their birthday to today for the points; a real mistake is
    fixed by the merchant (``set_by_merchant``).
    """
    member, _ = enrol(session, shop, customer_id)  # enrol locks the member row: two tabs cannot both set it
    if member.birthday is not None:
        raise BirthdayLocked("the birthday is already set; ask the shop to change it")
    member.birthday, member.birthday_set_by, member.birthday_set_at = birthday, "shopper", now or utcnow()
    session.flush()
    return member


def set_by_merchant(session: Session, member: Member, birthday: date | None, now: datetime | None = None) -> Member:
    """Set, change or clear a member's birthday from the admin. The caller commits.

    A change never pays twice in a year: the credit is keyed by the year.
    """
    member.birthday, member.birthday_set_by = birthday, "merchant" if birthday else None
    member.birthday_set_at = now or utcnow()
    session.flush()
    return member


def credit_birthdays(session: Session, shop: Shop, now: datetime | None = None) -> int:
    """Credit every member whose birthday is today in the shop's time zone; returns entries posted.

    Safe to run any number of times a day (the job runs hourly so each shop's day is caught soon
    after its midnight). A shop without an active birthday rule is skipped. The caller commits.
    """
    now = now or utcnow()
    if find_rule(session, shop, "birthday") is None:
        return 0
    today = now.astimezone(shop_zone(shop)).date()
    days = celebrated_days(today)
    born_today = or_(*(and_(extract("month", Member.birthday) == month, extract("day", Member.birthday) == day)
                       for month, day in days))
    # Those already paid this year are left out in SQL (one unique-index probe each), so the day's other runs
    # cost one scan of the shop's members, not a transaction per member.
    key = literal("action:birthday:") + cast(Member.id, String) + literal(f":{today.year}")
    paid = exists().where(LedgerEntry.shop_id == shop.id, LedgerEntry.idempotency_key == key)
    members = session.execute(
        select(Member).where(Member.shop_id == shop.id, Member.redacted_at.is_(None), Member.birthday.is_not(None),
                             born_today, ~paid).order_by(Member.id)
    ).scalars().all()
    posted = 0
    for member in members:
        member = ledger.lock_member(session, member.id)  # so ``before`` is not another worker's stale read
        before = member.lifetime
        entry = award_action(session, shop, member, "birthday", reference=str(today.year), now=now,
                             detail={"birthday": member.birthday.strftime("%m-%d"), "celebrated_on": today.isoformat()})
        if entry is not None and member.lifetime != before:  # None: over the rule's limit; same: a replay
            posted += 1
    return posted
