"""What each order earned and what has been taken back, so reversals follow the facts."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, BigId, UTCDateTime, utcnow


class OrderRecord(Base):
    """An order as the program saw it.

    A row may exist before the order earns (a refund or cancellation that arrived first, or
    a guest order waiting for its customer): ``points_earned`` is None until it earns.
    """

    __tablename__ = "orders"
    __table_args__ = (UniqueConstraint("shop_id", "order_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    order_id: Mapped[int] = mapped_column(BigInteger)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"), index=True)
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    eligible_amount: Mapped[Decimal | None] = mapped_column(Numeric(18, 4))
    refunded_amount: Mapped[Decimal] = mapped_column(Numeric(18, 4), default=Decimal("0"))
    points_earned: Mapped[int | None] = mapped_column(Integer)
    points_reversed: Mapped[int] = mapped_column(Integer, default=0)
    taxes_included: Mapped[bool] = mapped_column(Boolean, default=False)
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    placed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OrderRefund(Base):
    """A refund of an order's goods; held until the order has earned.

    ``subtotal`` and ``tax`` are the refunded non-gift-card lines as Shopify reports them; the
    refunded eligible amount is ``subtotal - tax`` when the order's prices include tax.
    """

    __tablename__ = "order_refunds"
    __table_args__ = (UniqueConstraint("shop_id", "refund_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    order_record_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    refund_id: Mapped[int] = mapped_column(BigInteger)
    subtotal: Mapped[Decimal] = mapped_column(Numeric(18, 4))
    tax: Mapped[Decimal] = mapped_column(Numeric(18, 4), default=Decimal("0"))
    applied: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
