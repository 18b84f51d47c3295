"""Members and their append-only points ledger."""
from __future__ import annotations

from datetime import date, datetime

from typing import Any

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, BigId, JSONType, UTCDateTime, utcnow


class Member(Base):
    """A shop's customer in the program, with balances cached from the ledger.

    The cached balances change only in the transaction that appends the ledger entry that
    explains them; ``loyalty audit`` proves they still equal the ledger's sums.
    """

    __tablename__ = "members"
    __table_args__ = (UniqueConstraint("shop_id", "customer_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int] = mapped_column(BigInteger)
    email: Mapped[str | None] = mapped_column(String(320))
    first_name: Mapped[str | None] = mapped_column(String(255))
    last_name: Mapped[str | None] = mapped_column(String(255))
    birthday: Mapped[date | None] = mapped_column(Date)
    balance: Mapped[int] = mapped_column(Integer, default=0)
    pending: Mapped[int] = mapped_column(Integer, default=0)
    lifetime: Mapped[int] = mapped_column(Integer, default=0)
    tier_id: Mapped[int | None] = mapped_column(ForeignKey("tiers.id", ondelete="SET NULL"))
    excluded: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    last_activity_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    redacted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


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
        # Analytics: a shop's entries in a date window, read from the index alone on PostgreSQL.
        Index("ix_ledger_entries_shop_id_created_at", "shop_id", "created_at",
              postgresql_include=["kind", "amount", "member_id"]),
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
