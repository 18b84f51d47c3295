"""The webhook inbox: store a verified delivery once, then process it exactly once.

An event's effects (ledger entries, members, orders) commit in the same transaction that
marks it processed, and every effect is also keyed on Shopify's own ids, so a retried event
or the same change under another webhook id changes nothing twice.
"""
from __future__ import annotations

import json
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from datetime import datetime, timedelta
from typing import Any

from decimal import InvalidOperation

from marshmallow import ValidationError
from sqlalchemy import Dialect, PoolProxiedConnection, func, or_, select, update
from sqlalchemy.exc import DataError, DBAPIError
from sqlalchemy.orm import Session

from ..logs import tagged
from ..models import Shop, WebhookEvent, utcnow
from .actions import ActionError
from .payloads import PayloadError
from .subjects import subject

log = logging.getLogger(__name__)

PERMANENT_ERRORS: tuple[type[Exception], ...] = (
    PayloadError, ActionError, ValidationError, json.JSONDecodeError,
    DataError,  # the database refused a value (out of range, NUL in text, too long): it will again
    OverflowError, InvalidOperation, TypeError, AttributeError, KeyError,  # the same body fails the same way
)
"""Errors that retrying cannot fix: the event is marked failed at once with a readable error.

Anything else (a lost connection, a deadlock, Shopify throttling) is retried with backoff. A
failed event keeps its body, and the merchant or the on-call engineer can retry it once the
cause is fixed (the admin's Activity page, ``flask webhooks retry``)."""

COMPLIANCE_TOPICS = frozenset({"customers/data_request", "customers/redact", "shop/redact"})
"""Topics processed even after uninstall: Shopify sends shop/redact 48 hours after it."""

Handler = Callable[[Session, Shop, Any, WebhookEvent], str]


class Deferred(Exception):
    """Raised by a handler whose event must wait for other events: it is tried again after ``delay``.

    Unlike a transient error it does not count as an attempt, so waiting never fails the event;
    what it waits for is itself bound to end (processed or failed within its own attempts).
    """

    def __init__(self, reason: str, delay: timedelta = timedelta(seconds=30)) -> None:
        self.delay = delay
        super().__init__(reason)


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


@dataclass(frozen=True)
class Stored:
    """A newly stored delivery: its row id and the status it was stored with."""

    id: int
    status: str


_STORED_COLUMNS = ("webhook_id", "event_id", "topic", "shop_domain", "api_version", "triggered_at", "body", "received_at")


@cache
def _store_sql(paramstyle: str, rows: int) -> str:
    """The batch INSERT for ``rows`` deliveries, resolving each one's shop inside; built once per size.

    Written as SQL, not built with SQLAlchemy Core, because it runs on every webhook while
    Shopify waits: executing it through the DBAPI cursor costs a third of the CPU that Core's
    compile-cache lookup, multi-values rendering and result processing did
    (69 vs 212 microseconds for a batch of three, measured for bench/webhooks.py). The same text
    runs on PostgreSQL and SQLite (a CTE over VALUES; ``WHERE true`` lets SQLite parse the upsert).
    Rows are inserted in key order, so two batches racing on one webhook id (a retry sent while
    the first delivery is still in flight) wait for each other instead of deadlocking.
    """
    marker = "?" if paramstyle == "qmark" else "%s"
    row = "(" + ", ".join([marker] * len(_STORED_COLUMNS)) + ")"
    columns = ", ".join(_STORED_COLUMNS)
    compliance = ", ".join(f"'{topic}'" for topic in sorted(COMPLIANCE_TOPICS))
    gone = f"s.uninstalled_at IS NOT NULL AND v.topic NOT IN ({compliance})"
    return (
        f"WITH v ({columns}) AS (VALUES {', '.join([row] * rows)}) "
        f"INSERT INTO webhook_events ({columns}, shop_id, status, result, attempts) "
        f"SELECT {', '.join('v.' + c for c in _STORED_COLUMNS)}, s.id, "
        f"CASE WHEN s.id IS NULL OR ({gone}) THEN 'ignored' ELSE 'received' END, "
        f"CASE WHEN s.id IS NULL THEN 'unknown shop' WHEN {gone} THEN 'shop is uninstalled' END, 0 "
        "FROM v LEFT JOIN shops s ON s.domain = v.shop_domain WHERE true ORDER BY v.shop_domain, v.webhook_id "
        "ON CONFLICT (shop_domain, webhook_id) DO NOTHING RETURNING id, status, shop_domain, webhook_id"
    )


def store_many(connection: PoolProxiedConnection, dialect: Dialect, deliveries: Sequence[Delivery],
               now: datetime | None = None) -> list[Stored | None]:
    """Insert deliveries into the inbox in one statement; None for each that was stored before (a replay).

    A delivery for an unknown or uninstalled shop is stored as ``ignored`` (compliance topics
    excepted), so it is on record but never processed as a live shop. If one batch holds the
    same webhook twice, the first is stored and the second is the replay. Runs on the DBAPI
    ``connection`` in whatever transaction it is in; the caller commits.
    """
    to_column = WebhookEvent.__table__.c.received_at.type.bind_processor(dialect)
    received_at = to_column(now or utcnow()) if to_column else now or utcnow()
    params = tuple(value for delivery in deliveries for value in (
        delivery.webhook_id, delivery.event_id, delivery.topic, delivery.shop_domain, delivery.api_version,
        delivery.triggered_at, delivery.body.decode("utf-8", errors="replace"), received_at))
    cursor = connection.cursor()
    try:
        cursor.execute(_store_sql(dialect.paramstyle, len(deliveries)), params)
        inserted = {(domain, webhook_id): Stored(id_, status) for id_, status, domain, webhook_id in cursor.fetchall()}
    finally:
        cursor.close()
    return [inserted.pop((delivery.shop_domain, delivery.webhook_id), None) for delivery in deliveries]


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


def process_batch(session: Session, event_ids: list[int], handlers: dict[str, Handler], max_attempts: int,
                  now: datetime | None = None) -> None:
    """Process claimed events in one transaction, so a burst pays for one commit, not one per event.

    If anything in the batch fails, the batch is rolled back and each event is processed in a
    transaction of its own, so the failure is recorded on the event that caused it.
    """
    now = now or utcnow()
    try:
        events = session.execute(
            select(WebhookEvent).where(WebhookEvent.id.in_(event_ids)).order_by(WebhookEvent.id).with_for_update()
        ).scalars().all()
        shops: dict[int, Shop | None] = {}  # held here: the identity map keeps objects only weakly
        parsed = []
        for event in events:
            if event.status != "processing":
                continue
            try:
                payload = _parse(event)
            except (json.JSONDecodeError, PayloadError) as exc:  # retrying cannot fix a body: fail it, process the rest
                _give_up(event, exc)
                continue
            parsed.append((event, payload))
        parsed.sort(key=_lock_order)
        results = [(event, payload, _run(session, event, handlers, payload, shops)) for event, payload in parsed]
        for event, payload, result in results:  # statuses last, so they flush as one batch
            _identify(event, payload)
            _complete(event, result, now)
        session.commit()
    except Exception:  # each event is retried alone below; its own error is recorded there
        session.rollback()
        for event_id in event_ids:
            process(session, event_id, handlers, max_attempts, now)


def _lock_order(parsed: tuple[WebhookEvent, Any]) -> tuple[int, int]:
    """Sort key that makes concurrent batches lock members in one order (customer id), so they do not deadlock.

    Events of one customer keep their arrival order; events without a customer go last.
    """
    event, payload = parsed
    customer = payload.get("customer") if isinstance(payload, dict) else None
    try:
        return int((customer or {}).get("id") or 2**62), event.id
    except (ValueError, AttributeError, TypeError):
        return 2**62, event.id


def _parse(event: WebhookEvent) -> Any:
    """The event's body as JSON; a body dropped (retention, redaction) can never be processed again."""
    if event.body is None:
        raise PayloadError("the body is no longer stored (dropped after the retention window or a redaction)")
    return json.loads(event.body)


def _identify(event: WebhookEvent, payload: Any) -> None:
    """Record which order and customer the event is about (None where the body names none)."""
    event.order_id, event.customer_id = subject(event.topic, payload)


def _complete(event: WebhookEvent, result: str, now: datetime) -> None:
    event.result, event.status, event.error, event.processed_at = result, "processed", None, now
    event.attempts += 1


def process(session: Session, event_id: int, handlers: dict[str, Handler], max_attempts: int,
            now: datetime | None = None) -> str:
    """Process one claimed event in its own transaction; returns its new status.

    Permanent errors fail the event at once; anything else is retried with backoff until
    ``max_attempts``, then failed. The error is kept on the row either way, and so are the
    order and customer the body names. A ``Deferred`` event waits without using an attempt.
    """
    now = now or utcnow()
    event = session.execute(
        select(WebhookEvent).where(WebhookEvent.id == event_id).with_for_update()
    ).scalar_one()
    if event.status not in ("processing", "received"):
        session.rollback()
        return event.status
    with tagged(shop=event.shop_domain, webhook_id=event.webhook_id, topic=event.topic):
        return _attempt(session, event, handlers, max_attempts, now)


def _attempt(session: Session, event: WebhookEvent, handlers: dict[str, Handler], max_attempts: int,
             now: datetime) -> str:
    """One try at a locked event: its effects and its status commit together, or its error is recorded."""
    event_id = event.id
    payload: Any = None
    try:
        payload = _parse(event)
        result = _run(session, event, handlers, payload)
        _identify(event, payload)
        _complete(event, result, now)
        session.commit()
    except Exception as exc:  # recorded on the row; the drain job re-raises nothing it has recorded
        session.rollback()
        event = session.get(WebhookEvent, event_id)
        assert event is not None
        _identify(event, payload)
        if isinstance(exc, Deferred):
            event.error, event.status, event.next_attempt_at = str(exc)[:2000], "received", now + exc.delay
            log.info("webhook %s (%s) deferred: %s", event.webhook_id, event.topic, exc)
        elif isinstance(exc, PERMANENT_ERRORS) or event.attempts + 1 >= max_attempts:
            _give_up(event, exc)
        else:
            event.attempts += 1
            event.error = _describe(exc)
            event.status, event.next_attempt_at = "received", now + backoff(event.attempts)
            log.info("webhook %s (%s) will retry: %s", event.webhook_id, event.topic, event.error)
        session.commit()
    return event.status


def _describe(exc: Exception) -> str:
    """A failure as the merchant and the on-call engineer read it; a database error gives only its first line.

    PostgreSQL's DETAIL line quotes the offending values (``Key (email)=(…)``), so it is left out.
    """
    if isinstance(exc, DBAPIError):
        primary = getattr(getattr(exc.orig, "diag", None), "message_primary", None)
        return f"{type(exc).__name__}: {primary or type(exc.orig).__name__}"[:2000]
    what = "body is not valid JSON" if isinstance(exc, json.JSONDecodeError) else type(exc).__name__
    return f"{what}: {exc}"[:2000]


def _give_up(event: WebhookEvent, exc: Exception) -> None:
    """Record an event as failed for good, with a readable reason."""
    event.attempts += 1
    event.status, event.error = "failed", _describe(exc)
    log.warning("webhook %s (%s) failed: %s", event.webhook_id, event.topic, event.error)


def _run(session: Session, event: WebhookEvent, handlers: dict[str, Handler], payload: Any,
         shops: dict[int, Shop | None] | None = None) -> str:
    handler = handlers.get(event.topic)
    if handler is None:
        return f"ignored: no handler for {event.topic}"
    shops = {} if shops is None else shops
    if event.shop_id is not None and event.shop_id not in shops:
        shops[event.shop_id] = session.get(Shop, event.shop_id)
    shop = shops.get(event.shop_id) if event.shop_id is not None else None
    if shop is None:
        raise LookupError(f"shop {event.shop_domain} is gone")
    if not shop.active and event.topic not in COMPLIANCE_TOPICS:
        return "ignored: shop is uninstalled"
    with tagged(shop=event.shop_domain, webhook_id=event.webhook_id, topic=event.topic):
        return handler(session, shop, payload, event)


@dataclass(frozen=True)
class Swept:
    """What a sweep found: claims it handed back (their worker died) and events overdue for a drain."""

    released: int
    overdue: int


def sweep(session: Session, claim_timeout: int, grace_seconds: int, now: datetime | None = None) -> Swept:
    """Hand back claims older than ``claim_timeout`` seconds and count events overdue by ``grace_seconds``.

    A claim is a batch in progress; a live drain finishes a batch in seconds, so an older claim
    belongs to a worker that was killed. Handing it back is safe even if that worker still runs:
    ``process`` locks the event and every effect is keyed. The caller schedules a drain whenever
    either count is not zero, whatever Redis's drain flag says (a flag can outlive its job).
    Commits.
    """
    now = now or utcnow()
    released = session.execute(
        update(WebhookEvent).where(WebhookEvent.status == "processing",
                                   WebhookEvent.claimed_at < now - timedelta(seconds=claim_timeout))
        .values(status="received")).rowcount
    overdue = session.execute(
        select(func.count(WebhookEvent.id)).where(
            WebhookEvent.status == "received",
            or_(WebhookEvent.next_attempt_at.is_(None), WebhookEvent.next_attempt_at <= now),
            or_(WebhookEvent.received_at < now - timedelta(seconds=grace_seconds),
                WebhookEvent.next_attempt_at.is_not(None)),
        )
    ).scalar_one()
    session.commit()
    return Swept(released, overdue)


EVENT_STATUSES = ("received", "processing", "processed", "failed", "ignored")
UNPROCESSED = ("received", "processing")


@dataclass(frozen=True)
class Backlog:
    """The inbox by status, and the oldest event still to be processed (None: nothing waits)."""

    counts: dict[str, int]
    oldest_unprocessed_at: datetime | None
    oldest_unprocessed_age_seconds: float | None


def backlog(session: Session, now: datetime, shop_id: int | None = None) -> Backlog:
    """Events by status and how long the oldest unprocessed one has waited: all shops (``/healthz``) or one (Activity)."""
    scoped = (lambda query: query) if shop_id is None else (lambda query: query.where(WebhookEvent.shop_id == shop_id))
    counted = dict(session.execute(scoped(select(WebhookEvent.status, func.count()).group_by(WebhookEvent.status)))
                   .tuples().all())
    oldest = session.execute(scoped(select(func.min(WebhookEvent.received_at))
                                    .where(WebhookEvent.status.in_(UNPROCESSED)))).scalar()
    age = max(0.0, round((now - oldest).total_seconds(), 1)) if oldest is not None else None
    return Backlog({status: counted.get(status, 0) for status in EVENT_STATUSES}, oldest, age)


def requeue_failed(session: Session, event_ids: Sequence[int]) -> int:
    """Put the failed events among ``event_ids`` back in the inbox for the drain, attempts from zero; returns how many.

    One conditional UPDATE, so two retries racing on one event requeue it once. Flushes; the caller
    commits and then schedules a drain.
    """
    return session.execute(update(WebhookEvent).where(WebhookEvent.id.in_(event_ids), WebhookEvent.status == "failed")
                           .values(status="received", attempts=0, next_attempt_at=None)
                           .execution_options(synchronize_session=False)).rowcount  # type: ignore[attr-defined]
