"""Rewards a member redeemed: the points debited and the discount code created for them."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, BigId, UTCDateTime, utcnow

class Redemption(Base):
    """One redemption: ``reserved`` while the code is being created, then active → used | expired | released.

    ``kind`` ``store_credit``: the points bought store credit (its StoreCreditGrant); ``code`` is
    then only the redemption's reference (``CREDIT-…``), never a discount, and the redemption goes
    reserved → ``credited`` | released.
    """

    __tablename__ = "redemptions"
    __table_args__ = (UniqueConstraint("shop_id", "idempotency_key"), UniqueConstraint("shop_id", "code"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    reward_id: Mapped[int | None] = mapped_column(ForeignKey("rewards.id", ondelete="SET NULL"))
    idempotency_key: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(20), default="code", server_default="code")
    code: Mapped[str] = mapped_column(String(64))
    discount_id: Mapped[str | None] = mapped_column(String(255))
    cost: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(10), default="reserved")
    error: Mapped[str | None] = mapped_column(String(500))
    order_id: Mapped[int | None] = mapped_column(BigInteger)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
