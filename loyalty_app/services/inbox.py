"""The webhook inbox: store a verified delivery once, then process it exactly once.

An event's effects (ledger entries, members, orders) commit in the same transaction that
marks it processed, and every effect is also keyed on Shopify's own ids, so a retried event
or the same change under another webhook id changes nothing twice.
"""
from __future__ import annotations

import json
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from ..models import Shop, WebhookEvent, utcnow
from ..sql import insert_ignoring_conflict
from .actions import ActionError
from .payloads import PayloadError
from .shops import get_shop

log = logging.getLogger(__name__)

PERMANENT_ERRORS: tuple[type[Exception], ...] = (PayloadError, ActionError, ValidationError, json.JSONDecodeError)
"""Errors that retrying cannot fix: the event is marked failed at once with a readable error."""

COMPLIANCE_TOPICS = frozenset({"customers/data_request", "customers/redact", "shop/redact"})
"""Topics processed even after uninstall: Shopify sends shop/redact 48 hours after it."""

Handler = Callable[[Session, Shop, Any, WebhookEvent], str]


@dataclass(frozen=True)
class Delivery:
    """A verified delivery's headers and raw body."""

    topic: str
    shop_domain: str
    webhook_id: str
    body: bytes
    event_id: str | None = None
    triggered_at: str | None = None
    api_version: str | None = None


def store(session: Session, delivery: Delivery, now: datetime | None = None) -> WebhookEvent | None:
    """Insert the delivery into the inbox; None when this webhook id was stored before (a replay).

    A delivery for an unknown or uninstalled shop is stored as ``ignored`` (compliance topics
    excepted), so it is on record but never processed as a live shop.
    """
    now = now or utcnow()
    shop = get_shop(session, delivery.shop_domain)
    status, result = "received", None
    if shop is None:
        status, result = "ignored", "unknown shop"
    elif not shop.active and delivery.topic not in COMPLIANCE_TOPICS:
        status, result = "ignored", "shop is uninstalled"
    inserted = insert_ignoring_conflict(session, WebhookEvent, {
        "webhook_id": delivery.webhook_id, "event_id": delivery.event_id, "topic": delivery.topic,
        "shop_domain": delivery.shop_domain, "shop_id": shop.id if shop else None,
        "api_version": delivery.api_version, "triggered_at": delivery.triggered_at,
        "body": delivery.body.decode("utf-8", errors="replace"), "status": status, "result": result,
        "attempts": 0, "received_at": now,
    }, on=["shop_domain", "webhook_id"])
    if not inserted:
        return None
    return session.execute(
        select(WebhookEvent).where(WebhookEvent.shop_domain == delivery.shop_domain,
                                   WebhookEvent.webhook_id == delivery.webhook_id)
    ).scalar_one()


def claim(session: Session, limit: int, now: datetime | None = None) -> list[int]:
    """Mark up to ``limit`` due events as processing and return their ids (SKIP LOCKED on PostgreSQL).

    Commits, so several workers can drain at once without taking the same event.
    """
    now = now or utcnow()
    ids = session.execute(
        select(WebhookEvent.id).where(
            WebhookEvent.status == "received",
            or_(WebhookEvent.next_attempt_at.is_(None), WebhookEvent.next_attempt_at <= now),
        ).order_by(WebhookEvent.id).limit(limit).with_for_update(skip_locked=True)
    ).scalars().all()
    if ids:
        session.execute(update(WebhookEvent).where(WebhookEvent.id.in_(ids))
                        .values(status="processing", claimed_at=now))
    session.commit()
    return list(ids)


def backoff(attempts: int) -> timedelta:
    """Jittered exponential backoff: about 2, 4, 8 … seconds, at most ten minutes."""
    base = min(600.0, 2.0 ** attempts)
    return timedelta(seconds=base * random.uniform(0.5, 1.0))


def process(session: Session, event_id: int, handlers: dict[str, Handler], max_attempts: int,
            now: datetime | None = None) -> str:
    """Process one claimed event in its own transaction; returns its new status.

    Permanent errors fail the event at once; anything else is retried with backoff until
    ``max_attempts``, then failed. The error is kept on the row either way.
    """
    now = now or utcnow()
    event = session.execute(
        select(WebhookEvent).where(WebhookEvent.id == event_id).with_for_update()
    ).scalar_one()
    if event.status not in ("processing", "received"):
        session.rollback()
        return event.status
    try:
        event.result = _run(session, event, handlers)
        event.status, event.error, event.processed_at = "processed", None, now
        event.attempts += 1
        session.commit()
    except Exception as exc:  # recorded on the row; the drain job re-raises nothing it has recorded
        session.rollback()
        event = session.get(WebhookEvent, event_id)
        assert event is not None
        event.attempts += 1
        event.error = f"{type(exc).__name__}: {exc}"[:2000]
        if isinstance(exc, PERMANENT_ERRORS) or event.attempts >= max_attempts:
            event.status = "failed"
            log.warning("webhook %s (%s) failed: %s", event.webhook_id, event.topic, event.error)
        else:
            event.status, event.next_attempt_at = "received", now + backoff(event.attempts)
            log.info("webhook %s (%s) will retry: %s", event.webhook_id, event.topic, event.error)
        session.commit()
    return event.status


def _run(session: Session, event: WebhookEvent, handlers: dict[str, Handler]) -> str:
    handler = handlers.get(event.topic)
    if handler is None:
        return f"ignored: no handler for {event.topic}"
    shop = session.get(Shop, event.shop_id) if event.shop_id is not None else None
    if shop is None:
        raise LookupError(f"shop {event.shop_domain} is gone")
    if not shop.active and event.topic not in COMPLIANCE_TOPICS:
        return "ignored: shop is uninstalled"
    payload = json.loads(event.body or "")
    return handler(session, shop, payload, event)


def sweep(session: Session, grace_seconds: int, now: datetime | None = None) -> int:
    """Hand back events a dead worker left claimed; count events overdue for processing.

    The caller (a periodic job or ``flask webhooks sweep``) schedules a drain when this is
    not zero, so an event whose enqueue failed is still processed.
    """
    now = now or utcnow()
    cutoff = now - timedelta(seconds=grace_seconds)
    session.execute(update(WebhookEvent).where(WebhookEvent.status == "processing", WebhookEvent.claimed_at < cutoff)
                    .values(status="received"))
    overdue = session.execute(
        select(WebhookEvent.id).where(
            WebhookEvent.status == "received",
            or_(WebhookEvent.received_at < cutoff, WebhookEvent.next_attempt_at <= now),
        )
    ).scalars().all()
    session.commit()
    return len(overdue)
