"""Webhook and job health as the merchant sees it: the shop's inbox events, retrying a failed one, Web Vitals.

Reads are scoped to one shop. The functions that change rows flush and leave the commit to the
caller (the view), which then schedules the drain: a drain started before the commit would not
see the retried event.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ..extensions import QueueState
from ..models import Shop, WebhookEvent, WebVital, utcnow
from .inbox import backlog, requeue_failed

VITAL_NAMES = ("LCP", "CLS", "INP", "FCP", "TTFB")
VITAL_RANGES = {"LCP": (0.0, 600_000.0), "FCP": (0.0, 600_000.0), "TTFB": (0.0, 600_000.0),
                "INP": (0.0, 600_000.0), "CLS": (0.0, 100.0)}
"""What a browser can honestly report: milliseconds up to ten minutes, layout shift up to 100."""

VITAL_TARGETS: dict[str, tuple[str, float]] = {"LCP": ("<", 2500.0), "CLS": ("<=", 0.1), "INP": ("<=", 200.0)}
"""Built for Shopify's targets (LCP < 2.5 s, CLS ≤ 0.1, INP ≤ 200 ms); FCP and TTFB are shown without one."""


@dataclass(frozen=True)
class EventPage:
    """One page of a shop's events, newest first; ``next_cursor`` continues after the last one (None: the end)."""

    events: Sequence[WebhookEvent]
    next_cursor: int | None


def list_events(session: Session, shop: Shop, status: str | None = None, cursor: int | None = None,
                limit: int = 50) -> EventPage:
    """The shop's inbox events, newest first, optionally of one status; reads only.

    The cursor is the id the previous page ended on, so a page stays stable while new
    deliveries arrive (they have larger ids and land on the first page).
    """
    query = select(WebhookEvent).where(WebhookEvent.shop_id == shop.id)
    if status is not None:
        query = query.where(WebhookEvent.status == status)
    if cursor is not None:
        query = query.where(WebhookEvent.id < cursor)
    rows = session.execute(query.order_by(WebhookEvent.id.desc()).limit(limit + 1)).scalars().all()
    more = len(rows) > limit
    events = rows[:limit]
    return EventPage(events, events[-1].id if more else None)


class RetryRefused(Exception):
    """The event exists in this shop but cannot be retried (not failed, or its body is gone)."""


def retry_event(session: Session, shop: Shop, event_id: int) -> WebhookEvent | None:
    """Put one failed event of ``shop`` back in the inbox for the drain; None if the shop has no such event.

    One conditional UPDATE (``inbox.requeue_failed``, which the CLI uses too), so two clicks (or a
    click racing the CLI) requeue it once and the second is refused. The attempts start again from
    zero; the last error stays on the row until the event is processed. Flushes; the caller commits
    and then schedules a drain.
    """
    event = session.execute(select(WebhookEvent).where(WebhookEvent.id == event_id,
                                                       WebhookEvent.shop_id == shop.id)).scalar_one_or_none()
    if event is None:
        return None
    if event.status != "failed":
        raise RetryRefused(f"the event is {event.status}, not failed")
    if event.body is None:  # a retry would only fail again with the same reason
        raise RetryRefused("the event's body is no longer stored (retention window or redaction): it cannot be retried")
    if requeue_failed(session, [event_id]) != 1:
        raise RetryRefused("the event was retried by someone else")
    session.refresh(event)
    return event


@dataclass(frozen=True)
class QueueHealth:
    """The job queues, shared by every shop: jobs waiting and jobs failed for good (None if Redis did not answer)."""

    reachable: bool
    depth: int | None
    failed_jobs: int | None


@dataclass(frozen=True)
class Health:
    """What the Activity page opens with: events by status, how late the oldest waiting one is, the queue."""

    counts: dict[str, int]
    oldest_unprocessed_at: datetime | None
    oldest_unprocessed_age_seconds: int | None
    queue: QueueHealth | None  # None: no Redis, jobs run inline in the request


def health(session: Session, shop: Shop, queues: QueueState, now: datetime | None = None) -> Health:
    """The shop's inbox by status and the shared queue's depth; reads only, never raises for Redis."""
    inbox = backlog(session, now or utcnow(), shop.id)
    age = int(inbox.oldest_unprocessed_age_seconds) if inbox.oldest_unprocessed_age_seconds is not None else None
    return Health(inbox.counts, inbox.oldest_unprocessed_at, age, None if queues.inline else _queue_health(queues))


def _queue_health(queues: QueueState) -> QueueHealth:
    """Both lanes together (webhook drains, and the jobs that call Shopify): what waits and what failed."""
    lanes = [queue for queue in (queues.default, queues.jobs) if queue is not None]
    try:
        return QueueHealth(True, sum(queue.count for queue in lanes),
                           sum(queue.failed_job_registry.count for queue in lanes))
    except RedisError:  # the page still shows the inbox; the queue reads as unreachable
        return QueueHealth(False, None, None)


@dataclass(frozen=True)
class VitalReading:
    """The last value of one metric on one page, against its Built for Shopify target if it has one."""

    name: str
    value: float
    reported_at: datetime
    target: float | None
    comparison: str | None
    passes: bool | None


@dataclass(frozen=True)
class PageVitals:
    """One admin page's last readings; ``passes`` is False if any metric with a target misses it."""

    page: str
    metrics: list[VitalReading]
    passes: bool | None

    def reading(self, name: str) -> VitalReading | None:
        """This page's last reading of ``name``, if one was reported."""
        return next((reading for reading in self.metrics if reading.name == name), None)


def verdict(name: str, value: float) -> bool | None:
    """Whether ``value`` meets the Built for Shopify target for ``name``; None for metrics without one."""
    if name not in VITAL_TARGETS:
        return None
    comparison, target = VITAL_TARGETS[name]
    return value < target if comparison == "<" else value <= target


def record_vitals(session: Session, shop: Shop, page: str, metrics: Sequence[dict[str, Any]],
                  now: datetime | None = None) -> None:
    """Keep the last value of each metric for (shop, page): one upsert per metric; flushes, never commits.

    An upsert on the unique (shop, page, metric) key, so two tabs reporting at once never
    collide. Within one report, a metric named twice keeps its last value.
    """
    now = now or utcnow()
    latest = {metric["name"]: float(metric["value"]) for metric in metrics}
    if not latest:
        return
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(WebVital).values([{"shop_id": shop.id, "page": page, "metric": name, "value": value,
                                          "reported_at": now} for name, value in sorted(latest.items())])
    session.execute(statement.on_conflict_do_update(
        index_elements=["shop_id", "page", "metric"],
        set_={"value": statement.excluded.value, "reported_at": statement.excluded.reported_at}))


def page_vitals(session: Session, shop: Shop) -> list[PageVitals]:
    """The shop's last readings per page, pages by name and metrics in the usual order; reads only."""
    rows = session.execute(select(WebVital).where(WebVital.shop_id == shop.id)
                           .order_by(WebVital.page)).scalars().all()
    pages: dict[str, list[VitalReading]] = {}
    for row in rows:
        target = VITAL_TARGETS.get(row.metric)
        pages.setdefault(row.page, []).append(VitalReading(
            row.metric, row.value, row.reported_at, target[1] if target else None, target[0] if target else None,
            verdict(row.metric, row.value)))
    order = {name: index for index, name in enumerate(VITAL_NAMES)}
    result = []
    for page, readings in pages.items():
        readings.sort(key=lambda reading: order.get(reading.name, len(order)))
        judged = [reading.passes for reading in readings if reading.passes is not None]
        result.append(PageVitals(page, readings, all(judged) if judged else None))
    return result
