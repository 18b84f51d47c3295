"""Members and their append-only points ledger."""
from __future__ import annotations

from datetime import date, datetime

from typing import Any

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Index, Integer, String, UniqueConstraint, func, text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, BigId, JSONType, UTCDateTime, utcnow


class Member(Base):
    """A shop's customer in the program, with balances cached from the ledger.

    The cached balances change only in the transaction that appends the ledger entry that
    explains them; ``loyalty audit`` proves they still equal the ledger's sums.
    """

    __tablename__ = "members"
    __table_args__ = (
        UniqueConstraint("shop_id", "customer_id"),
        Index("ix_members_shop_id_id", "shop_id", "id"),  # the admin's member list: newest first, keyset on id
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int] = mapped_column(BigInteger)
    email: Mapped[str | None] = mapped_column(String(320))
    first_name: Mapped[str | None] = mapped_column(String(255))
    last_name: Mapped[str | None] = mapped_column(String(255))
    birthday: Mapped[date | None] = mapped_column(Date)
    birthday_set_by: Mapped[str | None] = mapped_column(String(20))  # shopper | merchant | shopify
    birthday_set_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    balance: Mapped[int] = mapped_column(Integer, default=0)
    pending: Mapped[int] = mapped_column(Integer, default=0)
    lifetime: Mapped[int] = mapped_column(Integer, default=0)
    tier_id: Mapped[int | None] = mapped_column(ForeignKey("tiers.id", ondelete="SET NULL"))
    excluded: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    last_activity_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    redacted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# The admin's member search: a prefix of the email, first or last name, case-insensitive, per shop.
# text_pattern_ops lets PostgreSQL use them for LIKE 'prefix%' whatever the database's collation. SQLite
# cannot use an expression index for LIKE, so it does not get them (a SQLite shop is a small one).
for _column in (Member.email, Member.first_name, Member.last_name):
    Index(f"ix_members_shop_id_lower_{_column.key}", Member.shop_id, func.lower(_column).label("lowered"),
          postgresql_ops={"lowered": "text_pattern_ops"}).ddl_if(dialect="postgresql")


class LedgerEntry(Base):
    """One immutable change of a member's points.

    Only ``state`` ever changes, once, from pending to available when ``available_at``
    passes. ``idempotency_key`` is unique per shop: posting it again returns this entry.
    ``detail`` says what produced the entry (program version, eligible amount, rate,
    multipliers, rounding), so any number can be explained later.
    """

    __tablename__ = "ledger_entries"
    __table_args__ = (
        UniqueConstraint("shop_id", "idempotency_key"),
        Index("ix_ledger_entries_member_id_id", "member_id", "id"),
        Index("ix_ledger_entries_member_id_created_at", "member_id", "created_at"),  # tier windows
        Index("ix_ledger_entries_state_available_at", "state", "available_at"),
        # A shop's tier entry bonuses, which points progress leaves out: the admin's ranking of every
        # member at once reads them without scanning the shop's whole ledger.
        Index("ix_ledger_entries_tier_bonuses", "shop_id", "member_id", postgresql_where=text("kind = 'bonus'"),
              sqlite_where=text("kind = 'bonus'")),
        # Analytics: a shop's entries in a date window, read from the index alone on PostgreSQL.
        Index("ix_ledger_entries_shop_id_created_at", "shop_id", "created_at",
              postgresql_include=["kind", "amount", "member_id"]),
        # A member's action claims (limits, and the widget's done / limit reached) without reading their orders.
        Index("ix_ledger_entries_action_claims", "member_id", "source", "created_at",
              postgresql_where=text("kind = 'action'"), sqlite_where=text("kind = 'action'")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    amount: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(255))
    idempotency_key: Mapped[str] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(10), default="available")
    available_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    note: Mapped[str | None] = mapped_column(String(500))
    actor: Mapped[str] = mapped_column(String(100), default="system")
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
