"""RQ job entry points. Each is an importable top-level function that takes no objects.

Deliveries are not one job each: a webhook only schedules a *drain* (unless one is already
scheduled), and one drain processes every due event in batches. That pays RQ's per-job cost
once per burst instead of once per webhook. Every job is safe to run twice.
"""
from __future__ import annotations

import logging

from flask import Flask, current_app, has_app_context
from rq import Retry

from loyalty_app.extensions import db, queues
from loyalty_app.services import inbox, upkeep
from loyalty_app.services.shops import active_shops

from .handlers import HANDLERS

log = logging.getLogger(__name__)

DRAIN_FLAG = "loyalty:inbox:drain-scheduled"
DRAIN_FLAG_TTL = 300
_worker_app: Flask | None = None


def _app() -> Flask:
    """The current app, or (in an RQ worker) one built once from the environment."""
    global _worker_app
    if has_app_context():
        return current_app._get_current_object()  # type: ignore[attr-defined]
    if _worker_app is None:
        from loyalty_app import create_app

        _worker_app = create_app()
    return _worker_app


def schedule_drain(app: Flask) -> None:
    """Make sure a drain will run: inline at once without Redis, else one queued RQ job.

    Raises if Redis is unreachable; the caller decides (the receiver still acknowledges,
    because the event is already in the inbox and the sweeper will find it).
    """
    if queues.inline:
        run_drain(app)
        return
    assert queues.redis is not None and queues.default is not None
    if queues.redis.set(DRAIN_FLAG, "1", nx=True, ex=DRAIN_FLAG_TTL):
        try:
            queues.default.enqueue(drain_inbox, job_timeout=900, result_ttl=300, failure_ttl=7 * 86400,
                                   retry=Retry(max=3, interval=[5, 30, 120]))
        except Exception:
            queues.redis.delete(DRAIN_FLAG)
            raise


def run_drain(app: Flask) -> int:
    """Process due inbox events in batches until none is left; returns how many were processed.

    A drain that finds work first makes sure another drain is queued, so a backlog spreads
    over every free worker (claims use SKIP LOCKED, so drains never take the same event).
    """
    session = db.new_session()
    total = 0
    try:
        while ids := inbox.claim(session, app.config["INBOX_BATCH_SIZE"]):
            if not queues.inline:
                schedule_drain(app)
            inbox.process_batch(session, ids, HANDLERS, app.config["INBOX_MAX_ATTEMPTS"])
            total += len(ids)
    finally:
        session.close()
    return total


def drain_inbox() -> int:
    """RQ job: clear the drain flag first (so later deliveries schedule anew), then drain."""
    app = _app()
    with app.app_context():
        if queues.redis is not None:
            queues.redis.delete(DRAIN_FLAG)
        processed = run_drain(app)
        log.info("drained %d webhook event(s)", processed)
        return processed


def sweep_inbox() -> int:
    """Periodic job: hand back stale claims and drain anything overdue (a failed enqueue, a retry)."""
    app = _app()
    with app.app_context():
        session = db.new_session()
        try:
            overdue = inbox.sweep(session, app.config["INBOX_GRACE_SECONDS"])
        finally:
            session.close()
        if overdue:
            log.info("sweeper found %d overdue webhook event(s)", overdue)
            schedule_drain(app)
        return overdue


def daily_upkeep() -> None:
    """Periodic job: mature pending points, expire idle points and re-evaluate tiers in every shop."""
    app = _app()
    with app.app_context():
        session = db.new_session()
        try:
            for shop in active_shops(session):
                upkeep.run_daily(session, shop)
                session.commit()
        finally:
            session.close()
