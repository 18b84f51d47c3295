"""Store credit we issue in Shopify (rewards, cashback) and take back (cashback on refunds), one row per movement."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, BigId, UTCDateTime, utcnow


class StoreCreditGrant(Base):
    """One credit or debit of a member's Shopify store credit.

    Recorded in the transaction that decided it (a redemption's reservation, an order's
    webhook), sent to Shopify afterwards: ``pending`` until Shopify's answer is known, then
    ``sent`` with Shopify's transaction id, or ``failed`` with why; ``sending`` while one process
    has claimed it and is asking Shopify (``attempted_at``), so two senders never both call. ``key`` is unique per shop
    (``redeem:<redemption>``, ``cashback:<order>``, ``cashback-refund:<refund>``,
    ``cashback-cancel:<order>``), so a replayed webhook or retried job records nothing twice.
    ``kind`` is ``reward`` | ``cashback`` (credits) or ``cashback_reversal`` (a debit).
    """

    __tablename__ = "store_credit_grants"
    __table_args__ = (
        UniqueConstraint("shop_id", "key"),
        Index("ix_store_credit_grants_shop_id_order_id", "shop_id", "order_id"),
        Index("ix_store_credit_grants_state", "state"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(20))
    order_id: Mapped[int | None] = mapped_column(BigInteger)
    redemption_id: Mapped[int | None] = mapped_column(ForeignKey("redemptions.id", ondelete="SET NULL"))
    amount: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    currency: Mapped[str] = mapped_column(String(3))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(10), default="pending")
    transaction_id: Mapped[str | None] = mapped_column(String(255))
    error: Mapped[str | None] = mapped_column(String(500))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
