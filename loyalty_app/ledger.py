"""The points ledger: the only code that changes a member's points.

Every change is one immutable entry, posted in the caller's transaction together with an
atomic, row-locking update of the member's cached balances. An idempotency key that was posted
before returns the first entry and changes nothing, so every caller can safely run twice.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Integer, bindparam, case, delete, event, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from .models import LedgerEntry, Member, utcnow
from .models.base import UTCDateTime
from .services import flow_outbox

EARN_KINDS = frozenset({"earn", "action", "bonus"})
"""Kinds that add to what a member has earned in their lifetime."""
LIFETIME_KINDS = EARN_KINDS | {"reversal"}
"""Lifetime earned is net of reversals: a refunded order was never really earned."""
KINDS = LIFETIME_KINDS | {"redeem", "release", "expire", "adjust"}
ACTIVITY_KINDS = EARN_KINDS | {"redeem"}
"""Kinds that count as the shopper being active (expiry and reversals do not)."""
STATES = ("pending", "available")


TOUCHED = "loyalty.touched_members"
COMMITTED = "loyalty.committed_members"


@event.listens_for(Session, "after_commit")
def _keep_committed(session: Session) -> None:
    session.info.setdefault(COMMITTED, set()).update(session.info.pop(TOUCHED, set()))


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    session.info.pop(TOUCHED, None)


def touch(session: Session, member_id: int) -> None:
    """Note that a member's standing (points or tier) changed in this transaction.

    ``committed_members`` reports the member once the transaction commits; a rollback forgets it.
    """
    session.info.setdefault(TOUCHED, set()).add(member_id)


def committed_members(session: Session) -> set[int]:
    """Members whose points or tier changed in this session's committed transactions since the last call.

    Whoever mirrors balances elsewhere (customer metafields) asks here after committing.
    """
    return session.info.pop(COMMITTED, set())


class LedgerError(Exception):
    """A posting the ledger refuses; nothing was written."""


class InsufficientPoints(LedgerError):
    """A redemption larger than the member's available balance."""


def lock_member(session: Session, member_id: int) -> Member:
    """Load a member holding its row lock until the transaction ends (FOR UPDATE on PostgreSQL)."""
    return session.execute(
        select(Member).where(Member.id == member_id).with_for_update().execution_options(populate_existing=True)
    ).scalar_one()


def find_entry(session: Session, shop_id: int, key: str) -> LedgerEntry | None:
    """The entry posted under ``key`` in a shop, if any."""
    return session.execute(
        select(LedgerEntry).where(LedgerEntry.shop_id == shop_id, LedgerEntry.idempotency_key == key)
    ).scalar_one_or_none()


def post(
    session: Session,
    member_id: int,
    *,
    amount: int,
    kind: str,
    key: str,
    source: str,
    state: str = "available",
    available_at: datetime | None = None,
    note: str | None = None,
    actor: str = "system",
    now: datetime | None = None,
    detail: dict[str, Any] | None = None,
) -> LedgerEntry:
    """Append one entry and move the member's cached balances with it.

    A ``redeem`` never takes the available balance below zero (InsufficientPoints); every
    other kind may, because points already spent before a refund are a debt we record.
    Two statements: the entry (inserted only if its key is new) and one atomic update of the
    cached balances. A concurrent posting of the same key waits on the unique index and then
    finds it; concurrent postings for one member queue on the member's row. ``detail`` says
    what produced the entry (rate, multipliers, program version), for ``loyalty explain``.
    Points earned are also recorded as a Shopify Flow trigger candidate (services/flow_outbox.py).
    """
    if kind not in KINDS:
        raise LedgerError(f"unknown entry kind {kind!r}")
    if state not in STATES:
        raise LedgerError(f"unknown entry state {state!r}")
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise LedgerError("amount must be a whole number of points")
    if kind == "redeem" and amount >= 0:
        raise LedgerError("a redemption must be a negative amount")
    if amount == 0:
        raise LedgerError("an entry must move at least one point")

    member = session.get(Member, member_id)
    if member is None:
        raise LedgerError(f"no member {member_id}")
    now = now or utcnow()
    dialect = session.get_bind().dialect.name
    entry = session.scalars(_insert_entry(dialect), {
        "shop_id": member.shop_id, "member_id": member_id, "amount": amount, "kind": kind, "source": source,
        "idempotency_key": key, "state": state, "available_at": available_at, "created_at": now, "note": note,
        "actor": actor, "detail": detail}).first()
    if entry is None:  # posted before (maybe by a transaction we just waited for): a no-op
        existing = find_entry(session, member.shop_id, key)
        assert existing is not None
        return existing
    moved = session.scalars(
        _move_balances(state == "available", kind in LIFETIME_KINDS, kind in ACTIVITY_KINDS, kind == "redeem"),
        {"p_member": member_id, "p_amount": amount, "p_now": now},
        execution_options={"populate_existing": True, "synchronize_session": False}).first()
    if moved is None:
        session.execute(delete(LedgerEntry).where(LedgerEntry.id == entry.id))
        session.expunge(entry)
        raise InsufficientPoints(f"member {member_id} has fewer than {-amount} points")
    touch(session, member_id)
    flow_outbox.record_entry(session, entry)  # a Flow trigger candidate, in this same transaction
    return entry


@cache
def _insert_entry(dialect: str) -> Any:
    """INSERT … ON CONFLICT (shop, key) DO NOTHING RETURNING the entry: a replayed key inserts nothing."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(LedgerEntry).on_conflict_do_nothing(
        index_elements=["shop_id", "idempotency_key"]).returning(LedgerEntry)


@cache
def _move_balances(available: bool, lifetime: bool, activity: bool, floor_at_zero: bool) -> Any:
    """One atomic UPDATE … RETURNING of the member's cached balances (row-locked by the UPDATE itself).

    Concurrent postings for one member queue on the row; each re-reads the latest committed balance,
    so a redemption's ``balance + amount >= 0`` condition can never be beaten by a race.
    """
    amount, now = bindparam("p_amount", type_=Integer), bindparam("p_now", type_=UTCDateTime())
    changes: dict[str, Any] = {"balance": Member.balance + amount} if available else {"pending": Member.pending + amount}
    if lifetime:
        changes["lifetime"] = Member.lifetime + amount
    if activity:
        changes["last_activity_at"] = now
    statement = update(Member).where(Member.id == bindparam("p_member", type_=Integer))
    if floor_at_zero:
        statement = statement.where(Member.balance + amount >= 0)
    return statement.values(changes).returning(Member)


def same_state_as(entry: LedgerEntry | None) -> tuple[str, datetime | None]:
    """(state, available_at) for an entry that follows ``entry``: pending until the same moment while it is pending.

    What an order's refund takes back, or a tier bonus its earn reached, matures with that earn.
    """
    if entry is not None and entry.state == "pending":
        return "pending", entry.available_at
    return "available", None


def mature(session: Session, shop_id: int, now: datetime | None = None) -> int:
    """Make pending entries whose time has come available; returns how many points moved."""
    now = now or utcnow()
    member_ids = session.execute(
        select(LedgerEntry.member_id).distinct().where(
            LedgerEntry.shop_id == shop_id, LedgerEntry.state == "pending", LedgerEntry.available_at <= now
        )
    ).scalars().all()
    moved = 0
    for member_id in member_ids:
        member = lock_member(session, member_id)
        entries = session.execute(
            select(LedgerEntry).where(
                LedgerEntry.member_id == member_id, LedgerEntry.state == "pending", LedgerEntry.available_at <= now
            )
        ).scalars().all()
        total = sum(entry.amount for entry in entries)
        for entry in entries:
            entry.state = "available"
        member.pending -= total
        member.balance += total
        moved += total
        touch(session, member_id)
    session.flush()
    return moved


@dataclass(frozen=True)
class Balances:
    """A member's balances as the ledger's own sums say they are."""

    member_id: int
    balance: int
    pending: int
    lifetime: int


def ledger_sums(session: Session, member_ids: Iterable[int] | None = None) -> dict[int, Balances]:
    """Sum the ledger per member in one query (members with no entries are absent)."""
    query = select(
        LedgerEntry.member_id,
        func.coalesce(func.sum(case((LedgerEntry.state == "available", LedgerEntry.amount), else_=0)), 0),
        func.coalesce(func.sum(case((LedgerEntry.state == "pending", LedgerEntry.amount), else_=0)), 0),
        func.coalesce(func.sum(case((LedgerEntry.kind.in_(LIFETIME_KINDS), LedgerEntry.amount), else_=0)), 0),
    ).group_by(LedgerEntry.member_id)
    if member_ids is not None:
        query = query.where(LedgerEntry.member_id.in_(list(member_ids)))
    return {row[0]: Balances(row[0], int(row[1]), int(row[2]), int(row[3])) for row in session.execute(query)}


@dataclass(frozen=True)
class AuditDifference:
    """A member whose cached balances disagree with the ledger."""

    shop_id: int
    customer_id: int
    cached: Balances
    ledger: Balances


def audit(session: Session) -> list[AuditDifference]:
    """Every member whose cached balances differ from the sum of their entries."""
    sums = ledger_sums(session)
    differences = []
    for member in session.execute(select(Member).order_by(Member.id)).scalars():
        cached = Balances(member.id, member.balance, member.pending, member.lifetime)
        ledger = sums.get(member.id, Balances(member.id, 0, 0, 0))
        if cached != ledger:
            differences.append(AuditDifference(member.shop_id, member.customer_id, cached, ledger))
    return differences
