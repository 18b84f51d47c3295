"""Daily upkeep: each shop's ledger (maturing, expiry, tier re-evaluation) and the inbox's old bodies."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from .. import ledger
from ..models import Shop, WebhookEvent, utcnow
from .expiry import expire_inactive
from .members import reevaluate_tiers
from .referrals import settle_due


@dataclass(frozen=True)
class UpkeepResult:
    matured: int
    expired: int
    tier_changes: int
    referrals_paid: int = 0


def run_daily(session: Session, shop: Shop, now: datetime | None = None) -> UpkeepResult:
    """Mature pending points first, so they count before expiry and tiers are decided; referrals pay last."""
    now = now or utcnow()
    matured = ledger.mature(session, shop.id, now)
    expired = expire_inactive(session, shop, now)
    tier_changes = reevaluate_tiers(session, shop, now)
    return UpkeepResult(matured, expired, tier_changes, settle_due(session, shop, now))


SETTLED = ("processed", "ignored", "failed")
"""Inbox statuses whose body is no longer needed to process the event."""


def drop_old_bodies(session: Session, retention: timedelta, now: datetime | None = None,
                    batch_size: int = 1000) -> int:
    """Drop (set NULL) the stored bodies of settled webhook events older than ``retention``; returns how many.

    The row stays with its topic, status, result, error and the order and customer it was about,
    so the inbox still tells what was received and what came of it. Failed events keep their body
    for the same window, so the merchant can still retry them; events still to be processed keep
    theirs whatever their age. Age runs from processing, or from receipt for events never processed.

    Works in batches: each is one UPDATE of at most ``batch_size`` rows (picked by a LIMITed
    subquery, walking the ids upwards so no batch reads rows an earlier one did), committed at
    once, so a large inbox never holds many row locks for long. Commits.
    """
    cutoff = (now or utcnow()) - retention
    settled = WebhookEvent.status.in_(SETTLED)  # checked again on the row itself, in case a retry requeued it
    dropped, after = 0, 0
    while True:
        batch = select(WebhookEvent.id).where(
            WebhookEvent.id > after, WebhookEvent.body.is_not(None), settled,
            func.coalesce(WebhookEvent.processed_at, WebhookEvent.received_at) < cutoff,
        ).order_by(WebhookEvent.id).limit(batch_size)
        ids = session.execute(update(WebhookEvent).where(WebhookEvent.id.in_(batch.scalar_subquery()), settled)
                              .values(body=None).returning(WebhookEvent.id)
                              .execution_options(synchronize_session=False)).scalars().all()
        session.commit()
        if not ids:
            return dropped
        dropped, after = dropped + len(ids), max(ids)
