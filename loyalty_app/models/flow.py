"""The Shopify Flow outbox: trigger candidates waiting to be sent with ``flowTriggerReceive``."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, BigId, JSONType, UTCDateTime, utcnow


class FlowTrigger(Base):
    """One trigger for one member: recorded in the transaction that caused it, sent later by a job.

    ``(shop, member, trigger, window)`` is unique, so every change in a window adds to one row
    (points earned are summed) and a window sends at most one trigger. ``state`` moves
    pending → sending → sent | failed | unknown (see services/flow.py for why an unknown outcome
    is never sent again), or pending → skipped when there is nothing left to say.
    """

    __tablename__ = "flow_triggers"
    __table_args__ = (
        UniqueConstraint("shop_id", "member_id", "trigger", "window"),
        Index("ix_flow_triggers_state_due_at", "state", "due_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    trigger: Mapped[str] = mapped_column(String(30))
    window: Mapped[str] = mapped_column(String(100))
    points: Mapped[int] = mapped_column(Integer, default=0)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    state: Mapped[str] = mapped_column(String(10), default="pending")
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
