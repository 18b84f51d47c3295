"""Referrals: each member's code, the discount codes made for friends, and each referred order."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, BigId, JSONType, UTCDateTime, utcnow


class ReferralCode(Base):
    """A member's referral code (``/apps/loyalty/r/<code>``): random, so it tells nothing about the member."""

    __tablename__ = "referral_codes"
    __table_args__ = (UniqueConstraint("shop_id", "code"), UniqueConstraint("member_id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FriendCode(Base):
    """The single-use discount code a referred friend is shown on landing, one per visitor and referral code.

    ``state`` is ``reserved`` while Shopify is asked, then ``active`` (``failed`` if Shopify refused;
    the next visit asks again with the same code).
    """

    __tablename__ = "referral_friend_codes"
    __table_args__ = (UniqueConstraint("shop_id", "referral_code_id", "visitor"), UniqueConstraint("shop_id", "code"),
                      Index("ix_referral_friend_codes_referral_code_id_created_at", "referral_code_id", "created_at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    referral_code_id: Mapped[int] = mapped_column(ForeignKey("referral_codes.id", ondelete="CASCADE"))
    visitor: Mapped[str] = mapped_column(String(80))
    code: Mapped[str] = mapped_column(String(64))
    discount_id: Mapped[str | None] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(10), default="reserved")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Referral(Base):
    """A friend's first order that came through a referral, and what became of it.

    ``status``: ``pending`` (waits for ``due_at``, the end of the shop's pending period), ``flagged``
    (a fraud rule matched: waits for the merchant), ``paid``, ``void`` (refunded or cancelled in
    time, or nothing to pay) or ``denied`` (by the merchant, or outright for a self-referral).
    ``reasons`` are the fraud rules that matched. One row per order, so a replayed webhook finds it.
    """

    __tablename__ = "referrals"
    __table_args__ = (UniqueConstraint("shop_id", "order_id"),
                      Index("ix_referrals_shop_id_status_id", "shop_id", "status", "id"),
                      Index("ix_referrals_status_due_at", "status", "due_at"),
                      Index("ix_referrals_referrer_id_created_at", "referrer_id", "created_at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    referrer_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    order_id: Mapped[int] = mapped_column(BigInteger)
    friend_customer_id: Mapped[int | None] = mapped_column(BigInteger)
    friend_email: Mapped[str | None] = mapped_column(String(320))
    via: Mapped[str] = mapped_column(String(20))  # cart_attribute | discount_code
    status: Mapped[str] = mapped_column(String(10))
    reasons: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    points: Mapped[int | None] = mapped_column(Integer)
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OrderFingerprint(Base):
    """Digests of what identifies an order's buyer (IP, device, shipping address), compared by fraud checks.

    Only salted SHA-256 digests are kept, never the address or IP themselves: the checks need
    equality, nothing more.
    """

    __tablename__ = "order_fingerprints"
    __table_args__ = (UniqueConstraint("shop_id", "order_id"),
                      Index("ix_order_fingerprints_shop_id_customer_id", "shop_id", "customer_id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    order_id: Mapped[int] = mapped_column(BigInteger)
    customer_id: Mapped[int | None] = mapped_column(BigInteger)
    email: Mapped[str | None] = mapped_column(String(64))
    ip: Mapped[str | None] = mapped_column(String(64))
    device: Mapped[str | None] = mapped_column(String(64))
    address: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
