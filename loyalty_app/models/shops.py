"""The tenant: one installed Shopify shop."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, BigId, JSONType, UTCDateTime, utcnow


class Shop(Base):
    __tablename__ = "shops"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    domain: Mapped[str] = mapped_column(String(255), unique=True)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    access_token_encrypted: Mapped[str | None] = mapped_column(Text)
    refresh_token_encrypted: Mapped[str | None] = mapped_column(Text)
    token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    scopes: Mapped[str] = mapped_column(String(1000), default="")
    needs_reauth: Mapped[bool] = mapped_column(Boolean, default=False)
    installed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    uninstalled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    settings: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    program_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    """Bumped by every change of settings, tiers, rules or campaigns; each ledger entry records it."""
    timezone: Mapped[str | None] = mapped_column(String(64))
    """The shop's IANA time zone (Shopify's ``iana_timezone``; None until known, read as UTC): its calendar
    days and years (birthdays, yearly limits). ``shop/update`` keeps it; the birthday job asks once if unknown."""
    review_secret_encrypted: Mapped[str | None] = mapped_column(Text)
    """The key review apps sign ``/hooks/reviews`` with, sealed like the tokens (made on first need)."""

    @property
    def active(self) -> bool:
        """Installed and not uninstalled since: only active shops have webhooks processed."""
        return self.uninstalled_at is None
