"""A shop's program: tiers, rewards, action rules and campaigns."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, Numeric, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, BigId, JSONType, UTCDateTime


class Tier(Base):
    __tablename__ = "tiers"
    __table_args__ = (UniqueConstraint("shop_id", "name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    threshold: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    multiplier: Mapped[Decimal] = mapped_column(Numeric(6, 3), default=Decimal("1"))
    entry_bonus: Mapped[int] = mapped_column(Integer, default=0)
    translations: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict, server_default=text("'{}'"))
    """The name in other languages, ``{"nb": "Gull"}``, shown to shoppers who browse in them."""


class Reward(Base):
    __tablename__ = "rewards"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))  # fixed_amount | percentage | free_shipping
    cost: Mapped[int] = mapped_column(Integer)
    value: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=Decimal("0"))
    minimum_subtotal: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    expires_after_days: Mapped[int | None] = mapped_column(Integer)
    return_points_on_expiry: Mapped[bool] = mapped_column(Boolean, default=True)
    combines_with: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    translations: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict, server_default=text("'{}'"))
    """The name in other languages, ``{"nb": "50 kr avslag"}``, shown to shoppers who browse in them."""


class EarningRule(Base):
    """Points for a non-purchase action, with its limit."""

    __tablename__ = "earning_rules"
    __table_args__ = (UniqueConstraint("shop_id", "action"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(40))
    points: Mapped[int] = mapped_column(Integer)
    limit_kind: Mapped[str] = mapped_column(String(20), default="once")
    limit_count: Mapped[int] = mapped_column(Integer, default=1)
    period_days: Mapped[int] = mapped_column(Integer, default=365)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    settings: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict, server_default="{}")
    """Per-action options: ``follow_urls`` (social_follow), ``photo_bonus`` (product_review)."""


class Campaign(Base):
    """A time-boxed earning multiplier on orders (double points weekend)."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    multiplier: Mapped[Decimal] = mapped_column(Numeric(6, 3))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
