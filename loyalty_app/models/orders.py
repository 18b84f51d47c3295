"""What each order earned and what has been taken back, so reversals follow the facts."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, BigId, JSONType, UTCDateTime, utcnow


class OrderRecord(Base):
    """An order as the program saw it.

    A row may exist before the order earns (a refund or cancellation that arrived first, or
    a guest order waiting for its customer): ``points_earned`` is None until it earns.
    ``eligible_amount`` and ``points_earned`` follow order edits; ``points_rate`` is the points
    per unit of eligible money the order earned at (rate × tier × campaign), so an edit earns
    or reverses at the rate of the order, never at today's. ``source_updated_at`` is the newest
    ``updated_at`` of Shopify's order applied, so an older ``orders/updated`` changes nothing.
    """

    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("shop_id", "order_id"),
        Index("ix_orders_shop_id_placed_at", "shop_id", "placed_at"),  # analytics: a shop's orders in a window
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    order_id: Mapped[int] = mapped_column(BigInteger)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"), index=True)
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    eligible_amount: Mapped[Decimal | None] = mapped_column(Numeric(18, 4))
    refunded_amount: Mapped[Decimal] = mapped_column(Numeric(18, 4), default=Decimal("0"))
    points_earned: Mapped[int | None] = mapped_column(Integer)
    points_reversed: Mapped[int] = mapped_column(Integer, default=0)
    total_amount: Mapped[Decimal | None] = mapped_column(Numeric(18, 4))
    presentment_total: Mapped[Decimal | None] = mapped_column(Numeric(18, 4))
    points_rate: Mapped[Decimal | None] = mapped_column(Numeric(24, 8))
    taxes_included: Mapped[bool] = mapped_column(Boolean, default=False)
    source_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    placed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OrderLine(Base):
    """One goods line of an earned order and the eligible money it earned on.

    Gift cards and tips never earn, so they have no row. ``quantity`` follows order edits;
    ``eligible`` is for ``quantity`` units, after discounts and without included tax, so a
    refund of some units reverses exactly what those units earned.
    """

    __tablename__ = "order_lines"
    __table_args__ = (UniqueConstraint("order_record_id", "line_item_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_record_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    line_item_id: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[int] = mapped_column(Integer)
    eligible: Mapped[Decimal] = mapped_column(Numeric(18, 4))


class OrderRefund(Base):
    """A refund of an order; held until the order has earned.

    ``facts`` keeps what the refund moved (its lines, refund discrepancies and money) so the
    eligible amount it refunded is worked out against the order's lines when it applies;
    ``eligible`` is that amount once applied. ``subtotal`` and ``tax`` are the refunded goods
    lines as Shopify reports them.
    """

    __tablename__ = "order_refunds"
    __table_args__ = (UniqueConstraint("shop_id", "refund_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    order_record_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    refund_id: Mapped[int] = mapped_column(BigInteger)
    subtotal: Mapped[Decimal] = mapped_column(Numeric(18, 4))
    tax: Mapped[Decimal] = mapped_column(Numeric(18, 4), default=Decimal("0"))
    facts: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    eligible: Mapped[Decimal | None] = mapped_column(Numeric(18, 4))
    applied: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
