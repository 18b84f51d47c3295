"""What the merchant's side keeps: API keys, the program's change history, imports and Web Vitals."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, BigId, JSONType, UTCDateTime, utcnow


class ApiKey(Base):
    """A per-shop key for the merchant's own systems: shown once, stored as its SHA-256, revocable.

    The key is 32 random bytes, so a fast hash is enough: there is nothing to brute-force.
    ``prefix`` (the first characters) lets the merchant tell keys apart in the list.
    """

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ProgramChange(Base):
    """One change of the program (settings, a tier, reward, action or campaign): who, when, before and after.

    ``version`` is the program version the change started; ledger entries name the version they
    were computed under, so an entry and the rules behind it can always be put side by side.
    """

    __tablename__ = "program_changes"
    __table_args__ = (Index("ix_program_changes_shop_id_id", "shop_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str] = mapped_column(String(20))  # settings | tier | reward | action | campaign
    subject_id: Mapped[int | None] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(10))  # create | update | delete
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LedgerImport(Base):
    """A file of opening balances applied as one batch of ledger entries (``source`` = ``import:<id>``).

    The entries are the record of what each row did: keyed ``import:<id>:<n>`` for the file's n-th
    row (found again exactly, through the shop's key index), with the file line and the balance
    before and after in ``detail``. ``row_count`` bounds those keys; undo reverses them whole.
    """

    __tablename__ = "ledger_imports"
    __table_args__ = (Index("ix_ledger_imports_shop_id_id", "shop_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    actor: Mapped[str] = mapped_column(String(100))
    filename: Mapped[str | None] = mapped_column(String(255))
    format: Mapped[str] = mapped_column(String(20))
    row_count: Mapped[int] = mapped_column(Integer, default=0)
    points: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    undone_by: Mapped[str | None] = mapped_column(String(100))


class WebVital(Base):
    """The last value App Bridge reported for one Web Vitals metric on one admin page."""

    __tablename__ = "web_vitals"
    __table_args__ = (UniqueConstraint("shop_id", "page", "metric"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    page: Mapped[str] = mapped_column(String(200))
    metric: Mapped[str] = mapped_column(String(10))  # LCP | CLS | INP | FCP | TTFB
    value: Mapped[float] = mapped_column(Float)
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
