"""Members as the merchant's admin sees them: search, one member's standing and history, adjustments, exclusion.

Reads are bounded (an indexed page at a time) so a shop with 100,000 members, or a member with
100,000 entries, answers as fast as a new one. Writes flush and leave the commit to the caller.
Redacted members (``customers/redact``) are never found here: their personal data is gone and
their customer id no longer names anyone.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from .. import ledger
from ..models import LedgerEntry, Member, OrderRecord, Redemption, Reward, Shop, StoreCreditGrant
from ..program.tiers import TierRule, next_tier, tier_with_key
from .members import tier_progress, tier_rules
from .shops import program_settings

Row = TypeVar("Row")

RECENT = 20
"""How many codes and orders the member page shows (newest first)."""
MAX_ADJUSTMENT = 1_000_000
"""The largest number of points one adjustment may add or take: a typo of an extra zero or two still passes,
a pasted order number does not."""
MAX_BALANCE = 2**31 - 1
"""The largest balance the members table stores (INTEGER)."""
SEARCH_WINDOW = 1000
"""How many of the newest members a search reads before it turns to the name indexes for older ones."""
MAX_TOKENS = 5
"""Search words beyond the fifth are ignored: every word must match, so more would only narrow."""
_CUSTOMER_ID = re.compile(r"^(?:gid://shopify/Customer/)?([1-9][0-9]{0,18})$")
_BIGINT_MAX = 2**63 - 1


@dataclass(frozen=True)
class Page(Generic[Row]):
    """One page of a keyset-paginated list; ``next_cursor`` is None on the last page."""

    items: list[Row]
    next_cursor: int | None


@dataclass(frozen=True)
class MemberRow:
    """A member as the list shows them."""

    customer_id: int
    email: str | None
    first_name: str | None
    last_name: str | None
    balance: int
    pending: int
    lifetime: int
    tier: str | None
    excluded: bool
    enrolled_at: datetime
    last_activity_at: datetime | None


@dataclass(frozen=True)
class TierStanding:
    """The member's tier, what counts towards the next one, and how far it is."""

    basis: str  # "points" earned or money "spend"
    progress: Decimal
    current: TierRule | None
    next: TierRule | None
    remaining: Decimal | None


@dataclass(frozen=True)
class Code:
    """A discount code the member redeemed, and what became of it."""

    code: str
    state: str
    cost: int
    reward: str | None
    created_at: datetime
    expires_at: datetime | None
    used_at: datetime | None
    order_id: int | None


@dataclass(frozen=True)
class MemberDetail(MemberRow):
    """Everything the member page shows except the ledger (which pages on its own)."""

    birthday: date | None
    standing: TierStanding
    codes: list[Code]
    orders: list[OrderRecord]
    store_credit: list[StoreCreditGrant]


@dataclass(frozen=True)
class Adjustment:
    """An adjustment posted (or found again by its key), with the member's balances after it."""

    entry: LedgerEntry
    member: MemberRow
    replayed: bool


class AdjustmentRefused(Exception):
    """An adjustment the rules refuse; ``field`` is the input to blame, nothing was written."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def find_visible_member(session: Session, shop: Shop, customer_id: int) -> Member | None:
    """The shop's member for a Shopify customer id; None for a stranger, another shop's customer or a redacted one."""
    return session.execute(select(Member).where(
        Member.shop_id == shop.id, Member.customer_id == customer_id, Member.redacted_at.is_(None),
    )).scalar_one_or_none()


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _unicode_lower(value: str | None) -> str | None:
    return None if value is None else value.lower()


def _lower(session: Session) -> Callable[[Any], ColumnElement[str]]:
    """SQL ``lower`` that folds Å, Ø and Æ as PostgreSQL's does; SQLite's own folds ASCII only.

    On SQLite the connection gets Python's ``str.lower`` as ``unicode_lower`` (registering it
    again is a no-op), so a Nordic shop on the embedded database finds "Ødegård" by "ødeg".
    """
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return func.lower
    connection.connection.driver_connection.create_function(  # type: ignore[union-attr]
        "unicode_lower", 1, _unicode_lower, deterministic=True)
    return func.unicode_lower


def _word_matches(word: str, lower: Callable[[Any], ColumnElement[str]]) -> ColumnElement[bool]:
    """A member matches a word when their email, first or last name starts with it, or it is their customer id.

    Prefixes, not substrings: they use the (shop, lower(column)) indexes on PostgreSQL, so a search
    over 100,000 members reads only the matching rows. ``gid://shopify/Customer/<id>`` works too.
    """
    pattern = _escape_like(word.lower()) + "%"
    matches: list[ColumnElement[bool]] = [
        lower(column).like(pattern, escape="\\") for column in (Member.email, Member.first_name, Member.last_name)
    ]
    customer = _CUSTOMER_ID.match(word)
    if customer and int(customer.group(1)) <= _BIGINT_MAX:
        matches.append(Member.customer_id == int(customer.group(1)))
    return or_(*matches)


def _rows(session: Session, shop: Shop, members: list[Member]) -> list[MemberRow]:
    names = {rule.key: rule.name for rule in tier_rules(session, shop.id)}
    return [MemberRow(m.customer_id, m.email, m.first_name, m.last_name, m.balance, m.pending, m.lifetime,
                      names.get(m.tier_id) if m.tier_id else None, m.excluded, m.created_at, m.last_activity_at)
            for m in members]


def search_members(session: Session, shop: Shop, query: str = "", cursor: int | None = None,
                   limit: int = 50) -> Page[MemberRow]:
    """The shop's members matching every word of ``query`` (all of them when empty), newest enrolment first.

    Keyset pagination on the member id: a page starts after ``cursor``, so members enrolled while
    the merchant pages never shift a page, and no member is shown twice or skipped.
    """
    shop_members = [Member.shop_id == shop.id, Member.redacted_at.is_(None)]
    if cursor is not None:
        shop_members.append(Member.id < cursor)
    words = query.replace("\x00", " ").split()[:MAX_TOKENS]  # NUL is in no name, and PostgreSQL refuses it
    if words:
        members = _search(session, words, shop_members, limit + 1)
    else:
        members = list(session.execute(
            select(Member).where(*shop_members).order_by(Member.id.desc()).limit(limit + 1)).scalars())
    more = len(members) > limit
    members = members[:limit]
    return Page(_rows(session, shop, members), members[-1].id if more else None)


def _search(session: Session, words: list[str], shop_members: list[ColumnElement[bool]], wanted: int) -> list[Member]:
    """The ``wanted`` newest members matching every word, in steps whose cost never rests on the planner's guess.

    Walking the shop's members newest first and filtering is quick when matches are common and reads the
    whole shop when they are rare or all old ("member512" in a shop of 100,000); collecting the matches
    from the name indexes is the other way round. So: first the newest ``SEARCH_WINDOW`` members are
    read, each with whether it matches (ids and a flag, one index walk); if they hold fewer than a page,
    the older members' matches come from the indexes (``id + 0`` keeps PostgreSQL from walking newest
    first there), at the cost of how many older members match, not of how many members the shop has.
    """
    lower = _lower(session)
    matches = and_(*[_word_matches(word, lower) for word in words])
    window = session.execute(select(Member.id, matches).where(*shop_members).order_by(Member.id.desc())
                             .limit(SEARCH_WINDOW)).all()
    hits = [member_id for member_id, matched in window if matched][:wanted]
    found = list(session.execute(select(Member).where(Member.id.in_(hits)).order_by(Member.id.desc())).scalars()
                 ) if hits else []
    if len(found) == wanted or len(window) < SEARCH_WINDOW:  # a full page, or the window held the whole shop
        return found
    older = select(Member).where(*shop_members, Member.id < window[-1][0], matches)
    return found + list(session.execute(older.order_by((Member.id + 0).desc()).limit(wanted - len(found))).scalars())


def tier_standing(session: Session, shop: Shop, member: Member) -> TierStanding:
    """Where the member stands: their tier, their progress over the shop's window, and the next tier."""
    rules = tier_rules(session, shop.id)
    progress = tier_progress(session, shop, member)
    upcoming = next_tier(rules, progress)
    return TierStanding(program_settings(shop).tier_basis, progress, tier_with_key(rules, member.tier_id),
                        upcoming[0] if upcoming else None, upcoming[1] if upcoming else None)


def member_detail(session: Session, shop: Shop, member: Member) -> MemberDetail:
    """The member page's data: balances, tier, the latest codes and orders (reads only)."""
    codes = session.execute(
        select(Redemption, Reward.name).outerjoin(Reward, Reward.id == Redemption.reward_id)
        .where(Redemption.member_id == member.id).order_by(Redemption.id.desc()).limit(RECENT)).all()
    orders = session.execute(
        select(OrderRecord).where(OrderRecord.member_id == member.id)
        .order_by(OrderRecord.placed_at.desc().nulls_last(), OrderRecord.id.desc()).limit(RECENT)).scalars()
    return MemberDetail(
        **vars(_rows(session, shop, [member])[0]), birthday=member.birthday,
        standing=tier_standing(session, shop, member),
        codes=[Code(r.code, r.state, r.cost, name, r.created_at, r.expires_at, r.used_at, r.order_id)
               for r, name in codes],
        orders=list(orders),
        store_credit=list(session.execute(select(StoreCreditGrant).where(StoreCreditGrant.member_id == member.id)
                                          .order_by(StoreCreditGrant.id.desc()).limit(RECENT)).scalars()))


def member_ledger(session: Session, member: Member, cursor: int | None = None, limit: int = 50) -> Page[LedgerEntry]:
    """The member's entries newest first, a page at a time (keyset on the entry id, on its (member, id) index)."""
    query = select(LedgerEntry).where(LedgerEntry.member_id == member.id)
    if cursor is not None:
        query = query.where(LedgerEntry.id < cursor)
    entries = list(session.execute(query.order_by(LedgerEntry.id.desc()).limit(limit + 1)).scalars())
    more = len(entries) > limit
    entries = entries[:limit]
    return Page(entries, entries[-1].id if more else None)


def adjust_points(session: Session, shop: Shop, member: Member, points: int, reason: str, key: str,
                  actor: str, now: datetime | None = None) -> Adjustment:
    """Post a staff adjustment of ``points`` (one ``adjust`` entry, ``reason`` as its note); flushes, never commits.

    The client's ``key`` is scoped to the member: sending it again returns the first entry and
    changes nothing (a double click, a retried request), while the same key with other points or
    another reason is refused rather than silently ignored. A debit may not take the available
    balance below zero. Runs under the member's row lock, so a concurrent redemption or adjustment
    cannot slip between the balance check and the posting.

    No re-ranking: tiers count points earned (earn, action, bonus, reversal) or money spent, never
    adjustments, so an adjustment cannot move a member's tier.
    """
    if not 0 < abs(points) <= MAX_ADJUSTMENT:
        raise AdjustmentRefused("points", f"points must be between -{MAX_ADJUSTMENT} and {MAX_ADJUSTMENT}, not 0")
    member = ledger.lock_member(session, member.id)
    ledger_key = f"adjust:{member.id}:{key}"
    existing = ledger.find_entry(session, shop.id, ledger_key)
    if existing is not None:
        if (existing.amount, existing.note) != (points, reason):
            raise AdjustmentRefused("idempotency_key", "this key was already used for a different adjustment")
        return Adjustment(existing, _rows(session, shop, [member])[0], replayed=True)
    if member.balance + points < 0:
        raise AdjustmentRefused("points", f"the member has only {member.balance} points available")
    if member.balance + points > MAX_BALANCE:
        raise AdjustmentRefused("points", "the balance would exceed the largest balance the program keeps")
    entry = ledger.post(session, member.id, amount=points, kind="adjust", key=ledger_key, source="admin",
                        note=reason, actor=actor, now=now, detail={"program_version": shop.program_version})
    return Adjustment(entry, _rows(session, shop, [member])[0], replayed=False)  # post refreshed its balances


def set_excluded(session: Session, shop: Shop, member: Member, excluded: bool) -> MemberRow:
    """Exclude the member from earning on orders (or let them earn again); flushes, never commits.

    Their balance stays: exclusion stops future earning, it takes nothing back.
    """
    member.excluded = excluded
    session.flush()
    return _rows(session, shop, [member])[0]
