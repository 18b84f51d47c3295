"""The webhook inbox: every verified delivery, stored before it is acknowledged."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, BigId, JSONType, UTCDateTime, utcnow

class WebhookEvent(Base):
    """One delivery, deduplicated on Shopify's webhook id.

    ``status`` goes received → processing → processed (or failed with ``error``, or ignored
    with the reason in ``result``). A transient failure goes back to received with
    ``next_attempt_at`` set; the sweeper hands back rows a dead worker left in processing.
    ``order_id`` and ``customer_id`` are filled in when the event is processed, so one order's
    history can be explained and one customer's bodies found when they ask to be forgotten.
    """

    __tablename__ = "webhook_events"
    __table_args__ = (
        UniqueConstraint("shop_domain", "webhook_id"),
        Index("ix_webhook_events_status_id", "status", "id"),
        Index("ix_webhook_events_shop_id_order_id", "shop_id", "order_id"),
        Index("ix_webhook_events_shop_id_customer_id", "shop_id", "customer_id"),
        Index("ix_webhook_events_shop_id_status_id", "shop_id", "status", "id"),  # the Activity page's lists and counts
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    webhook_id: Mapped[str] = mapped_column(String(100))
    event_id: Mapped[str | None] = mapped_column(String(100))
    topic: Mapped[str] = mapped_column(String(100))
    shop_domain: Mapped[str] = mapped_column(String(255))
    shop_id: Mapped[int | None] = mapped_column(ForeignKey("shops.id", ondelete="SET NULL"), index=True)
    api_version: Mapped[str | None] = mapped_column(String(20))
    triggered_at: Mapped[str | None] = mapped_column(String(40))
    body: Mapped[str | None] = mapped_column(Text)
    order_id: Mapped[int | None] = mapped_column(BigInteger)
    customer_id: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(12), default="received")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[str | None] = mapped_column(String(255))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DataRequest(Base):
    """A member's data assembled for a ``customers/data_request``, for the merchant to fetch."""

    __tablename__ = "data_requests"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int] = mapped_column(BigId)
    report: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
