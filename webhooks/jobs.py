"""RQ job entry points. Each is an importable top-level function that takes no objects.

Deliveries are not one job each: a webhook only schedules a *drain* (unless one is already
scheduled), and one drain processes every due event in batches. That pays RQ's per-job cost
once per burst instead of once per webhook. Every job is safe to run twice.

A drain also keeps a promise that spares the receiver a Redis call per delivery: it claims
once more at least ``DRAIN_PROMISE`` seconds after it cleared the drain flag. A receiver that
found a drain scheduled (the flag set, by it or by another) at time T therefore knows that
anything it commits before T + ``DRAIN_PROMISE`` will be claimed, and need not ask Redis
again until then (``DrainScheduler``). A drain that dies breaks the promise; the sweeper
keeps it, as it does when Redis is down.
"""
from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from flask import Flask, current_app, has_app_context
from redis.exceptions import RedisError
from rq import Retry
from sqlalchemy.orm import Session

from loyalty_app import ledger
from loyalty_app.connections import client_for
from loyalty_app.extensions import db, queues
from loyalty_app.models import Shop, utcnow
from loyalty_app.services import birthdays, flow, inbox, redemptions, standings, store_credit, upkeep
from loyalty_app.services.connection import ReauthRequired
from loyalty_app.services.reconcile import reconcile
from loyalty_app.services.shops import active_shops, require_shop, update_from_shopify
from loyalty_app.shopify.client import AdminClient
from loyalty_app.shopify.flow import send_trigger
from loyalty_app.shopify.errors import ShopifyError
from loyalty_app.shopify.shop import shop_timezone

from .handlers import HANDLERS

log = logging.getLogger(__name__)

DRAIN_FLAG = "loyalty:inbox:drain-scheduled"
STANDINGS_DIRTY = "loyalty:standings:dirty"
STANDINGS_FLAG = "loyalty:standings:scheduled"
STANDINGS_MARK_BATCH = 10_000
DRAIN_FLAG_TTL = 60
DRAIN_PROMISE = 0.25
"""Seconds a drain keeps claiming after it clears the drain flag (see the module docstring)."""
DRAIN_POLL = 0.05
RESERVATION_SETTLE = timedelta(minutes=2)
"""A reservation this old has no create call in flight any more (the shopper's request timed out long ago)."""


def _app() -> Flask:
    """The app in context: the CLI's, a request's, or the one ``webhooks.worker.Worker`` runs each job in."""
    if not has_app_context():
        raise RuntimeError("jobs run inside an app context: start workers with -w webhooks.worker.Worker")
    return current_app._get_current_object()  # type: ignore[attr-defined,no-any-return]


def schedule_drain(app: Flask, force: bool = False, on_request_path: bool = False) -> None:
    """Make sure a drain will run: inline at once without Redis, else one queued RQ job.

    The drain flag spares a job per delivery. ``force`` (the sweeper, which knows from the
    database that events are waiting) enqueues even when the flag is set: the flag may belong
    to an enqueue that was lost with Redis. Drains may run side by side, so an extra one costs
    a job, never an event. Raises if Redis is unreachable; the caller decides (the receiver
    still acknowledges, because the event is already in the inbox and the sweeper will find it).
    ``on_request_path`` uses the connection with millisecond timeouts (see ``QueueState``).
    """
    queues = app.extensions["queues"]
    if queues.inline:
        run_drain(app)
        return
    redis, queue = (queues.request_redis, queues.request_queue) if on_request_path else (queues.redis, queues.default)
    assert redis is not None and queue is not None
    if redis.set(DRAIN_FLAG, "1", nx=not force, ex=DRAIN_FLAG_TTL) or force:
        try:
            queue.enqueue(drain_inbox, job_timeout=900, result_ttl=300, failure_ttl=7 * 86400,
                          retry=Retry(max=3, interval=[5, 30, 120]))
        except Exception:
            redis.delete(DRAIN_FLAG)
            raise


class DrainScheduler:
    """The receiver's side of the drain promise: ask Redis at most once per ``DRAIN_PROMISE`` per process.

    Call ``ensure`` after a commit. Threads may race past the check together; that only costs
    an extra Redis call, never a missed drain.
    """

    def __init__(self, app: Flask, clock: Callable[[], float] = time.monotonic) -> None:
        self._app = app
        self._clock = clock
        self._covered_until = 0.0

    def ensure(self) -> None:
        """Make sure a drain will claim what this process committed before now."""
        asked = self._clock()  # taken before asking: Redis answers about a moment after this
        if asked < self._covered_until:
            return
        schedule_drain(self._app, on_request_path=True)
        if not self._app.extensions["queues"].inline:
            self._covered_until = asked + DRAIN_PROMISE


def run_drain(app: Flask) -> int:
    """Process due inbox events in batches until none is left; returns how many were processed.

    A drain that finds work first makes sure another drain is queued, so a backlog spreads
    over every free worker (claims use SKIP LOCKED, so drains never take the same event).
    """
    session = app.extensions["db"].new_session()
    total = 0
    try:
        while ids := inbox.claim(session, app.config["INBOX_BATCH_SIZE"]):
            if not app.extensions["queues"].inline:
                try:
                    schedule_drain(app)
                except Exception:  # the batch is claimed: process it; without Redis this drain goes on alone
                    log.warning("could not queue a second drain; this one goes on", exc_info=True)
            inbox.process_batch(session, ids, HANDLERS, app.config["INBOX_MAX_ATTEMPTS"])
            schedule_standings(app, ledger.committed_members(session))
            schedule_store_credit(app, store_credit.recorded_shops(session))
            total += len(ids)
    finally:
        session.close()
    return total


def schedule_standings(app: Flask, member_ids: set[int], on_request_path: bool = False) -> None:
    """Mark members whose points changed; one delayed job per window writes their latest standing.

    Without Redis (the embedded default) nothing is mirrored: the widget asks the app proxy.
    Raises if Redis is unreachable. ``on_request_path`` uses the connection with millisecond
    timeouts (see ``QueueState``), so a hung Redis never holds a shopper's or Shopify's request.
    """
    state = app.extensions["queues"]
    if not member_ids or state.inline or not app.config["STANDINGS_SYNC"]:
        return
    redis, jobs = (state.request_redis, state.request_jobs) if on_request_path else (state.redis, state.jobs)
    assert redis is not None and jobs is not None
    window = app.config["STANDINGS_SYNC_WINDOW"]
    pipe = redis.pipeline()
    ids = sorted(member_ids)
    for start in range(0, len(ids), STANDINGS_MARK_BATCH):  # an expiry day's many members: several SADDs, not one huge
        pipe.sadd(STANDINGS_DIRTY, *ids[start:start + STANDINGS_MARK_BATCH])
    pipe.set(STANDINGS_FLAG, "1", nx=True, ex=window * 2 + 60)
    first = pipe.execute()[-1]
    if first:
        jobs.enqueue_in(timedelta(seconds=window), sync_standings, job_timeout=600, result_ttl=300,
                        retry=Retry(max=3, interval=[30, 120, 600]))


def schedule_store_credit(app: Flask, shop_ids: set[int]) -> None:
    """Send the cashback the drain just recorded: a job per shop, or at once without Redis.

    If Redis refuses, the grants stay ``pending`` and the periodic ``send_all_store_credit`` sends them.
    """
    queues = app.extensions["queues"]
    for shop_id in sorted(shop_ids):
        if queues.inline:
            try:
                send_store_credit(shop_id)
            except Exception:  # recorded and committed: the periodic job sends it
                log.warning("shop %s: store credit waits for the periodic sender", shop_id, exc_info=True)
            continue
        try:
            queues.jobs.enqueue(send_store_credit, shop_id, job_timeout=600, result_ttl=300, failure_ttl=7 * 86400,
                                retry=Retry(max=5, interval=[10, 60, 300, 900, 3600]))
        except Exception:
            log.warning("could not queue store credit for shop %s; the periodic sender will", shop_id, exc_info=True)


def schedule_committed_standings(app: Flask, session: Session, on_request_path: bool = False) -> None:
    """After a commit outside the inbox, mirror the members it changed (balance or tier).

    Staff adjustments, imports, redemptions and Flow's "Adjust points" call it after their commit
    (``on_request_path``: short timeouts); every job does through ``_job_session``, and so do the
    re-ranking job and the upkeep and reconcile commands. The same marks
    and delayed job as a drain's (``schedule_standings``). The points are committed already, so an
    unreachable Redis is logged, not raised: the request still answers with what it did, and those
    members' metafields catch up with their next change.
    """
    member_ids = ledger.committed_members(session)
    try:
        schedule_standings(app, member_ids, on_request_path=on_request_path)
    except RedisError:
        log.exception("could not schedule the standings sync of %d member(s)", len(member_ids))


@contextmanager
def _job_session() -> Iterator[tuple[Flask, Session]]:
    """The app (in context) and a session of the job's own, closed when the job ends.

    Whatever the job committed to members' points or tiers (upkeep, reconciliation, settled or
    expired codes) is scheduled for the standings sync as it ends, even if it ends in an error.
    """
    app = _app()
    with app.app_context():
        session = db.new_session()
        try:
            yield app, session
        finally:
            try:
                schedule_committed_standings(app, session)
            finally:
                session.close()


def sync_standings() -> int:
    """Job: write the current balance and tier of every member marked since the last run."""
    written = 0
    with _job_session() as (app, session):
        assert queues.redis is not None
        queues.redis.delete(STANDINGS_FLAG)
        while raw := queues.redis.spop(STANDINGS_DIRTY, 500):
            ids = [int(value) for value in raw]  # type: ignore[union-attr]
            try:
                written += standings.sync_standings(session, ids, lambda shop: client_for(app, session, shop))
                session.commit()  # a refreshed token is kept
            except Exception:
                session.rollback()
                queues.redis.sadd(STANDINGS_DIRTY, *ids)  # nothing is lost: the retry writes them
                raise
    return written


def drain_inbox() -> int:
    """RQ job: clear the drain flag first (so later deliveries schedule anew), then drain.

    Keeps claiming every ``DRAIN_POLL`` seconds until ``DRAIN_PROMISE`` has passed since the
    flag was cleared, and claims once more after that: receivers rely on it.
    """
    app = _app()
    with app.app_context():
        if queues.redis is not None:
            queues.redis.delete(DRAIN_FLAG)
        promise_kept_at = time.monotonic() + DRAIN_PROMISE  # measured after the flag is gone
        processed = run_drain(app)
        while (remaining := promise_kept_at - time.monotonic()) > 0:
            time.sleep(min(DRAIN_POLL, remaining))
            processed += run_drain(app)
        log.info("drained %d webhook event(s)", processed)
        return processed


def sweep_inbox() -> inbox.Swept:
    """Periodic job: hand back dead workers' claims and drain anything overdue (a lost enqueue, a retry).

    Schedules by what the database says is waiting, never by the drain flag alone.
    """
    with _job_session() as (app, session):
        swept = inbox.sweep(session, app.config["INBOX_CLAIM_TIMEOUT"], app.config["INBOX_GRACE_SECONDS"])
        if swept.released or swept.overdue:
            log.info("sweeper released %d stale claim(s) and found %d overdue event(s)", swept.released, swept.overdue)
            schedule_drain(app, force=True)
    return swept


def daily_upkeep() -> None:
    """Periodic job: every shop's ledger upkeep, then drop webhook bodies past the retention window."""
    with _job_session() as (app, session):
        for shop in active_shops(session):
            upkeep.run_daily(session, shop)
            session.commit()
        dropped = upkeep.drop_old_bodies(session, timedelta(days=app.config["WEBHOOK_BODY_RETENTION_DAYS"]))
    log.info("dropped %d webhook bodies past the retention window", dropped)


def _learn_timezone(app: Flask, session: Session, shop: Shop) -> None:
    """Ask Shopify once for a shop's time zone (``shop/update`` keeps it after); on failure, UTC this time."""
    try:
        zone = shop_timezone(client_for(app, session, shop))
    except ShopifyError:
        log.warning("could not read the time zone of shop %s; using UTC for now", shop.id, exc_info=True)
        return
    log.info("shop %s: %s", shop.id, update_from_shopify(shop, {"iana_timezone": zone}))
    session.commit()


def credit_birthdays() -> int:
    """Hourly job: credit today's birthdays in every shop whose day it is (each shop's own time zone).

    Hourly rather than daily so a shop anywhere gets its birthdays soon after its own midnight;
    every run after the first of the day posts nothing (the credit is keyed per member and year).
    """
    posted = 0
    with _job_session() as (app, session):
        for shop in active_shops(session):
            if shop.timezone is None and not shop.needs_reauth:
                _learn_timezone(app, session, shop)
            posted += birthdays.credit_birthdays(session, shop)
            session.commit()
    log.info("credited %d birthdays", posted)
    return posted


def reconcile_shop(shop_id: int, since: str, until: str) -> dict[str, int]:
    """Job: catch up on the orders changed in [since, until) (ISO 8601) that the webhooks missed."""
    with _job_session() as (app, session):
        shop = require_shop(session, shop_id)
        result = reconcile(session, shop, client_for(app, session, shop), datetime.fromisoformat(since),
                           datetime.fromisoformat(until), checkpoint=session.commit)
        session.commit()
    log.info("reconciled shop %s: %s", shop_id, result)
    return dataclasses.asdict(result)


def reconcile_recent() -> None:
    """Daily job: reconcile the last two days of every shop, one job each."""
    with _job_session() as (_, session):
        shop_ids = [shop.id for shop in active_shops(session) if not shop.needs_reauth]
    until = utcnow()
    for shop_id in shop_ids:
        args = (shop_id, (until - timedelta(days=2)).isoformat(), until.isoformat())
        if queues.inline:
            reconcile_shop(*args)
        else:
            queues.jobs.enqueue(reconcile_shop, *args, job_timeout=3600,  # type: ignore[union-attr]
                                   retry=Retry(max=3, interval=[60, 300, 900]))


def _connected_shops(app: Flask, session: Session) -> Iterator[tuple[Shop, AdminClient]]:
    """Every active shop with an Admin client; a shop that must re-authorise is skipped."""
    for shop in active_shops(session):
        try:
            client = client_for(app, session, shop)
        except ReauthRequired:
            continue
        yield shop, client


def settle_reservations() -> None:
    """Every few minutes: settle redemptions whose code Shopify may or may not have made (looked up by code)."""
    with _job_session() as (app, session):
        for shop, client in _connected_shops(app, session):
            redemptions.settle_reservations(session, shop, client, RESERVATION_SETTLE)
            store_credit.settle_reservations(session, shop, lambda client=client: client, RESERVATION_SETTLE)


def send_store_credit(shop_id: int) -> dict[str, int]:
    """Job: send a shop's waiting cashback credits and debits; raises (so RQ retries) while Shopify cannot say."""
    with _job_session() as (app, session):
        shop = require_shop(session, shop_id)
        # max_retries=0: the mutations have no idempotency key; send_pending looks before it sends again
        outcome = store_credit.send_pending(session, shop, lambda: client_for(app, session, shop, max_retries=0))
    log.info("shop %s: store credit %s", shop_id, outcome)
    return outcome


def send_all_store_credit() -> None:
    """Every few minutes: send what a lost enqueue or an exhausted retry left waiting, shop by shop."""
    with _job_session() as (_, session):
        shop_ids = store_credit.pending_shops(session)
    for shop_id in shop_ids:
        try:
            send_store_credit(shop_id)
        except Exception:  # one shop's outage must not hold up the others
            log.warning("shop %s: store credit waits for the next run", shop_id, exc_info=True)


def expire_codes() -> None:
    """Hourly job: settle expired codes (returning points only if never used)."""
    with _job_session() as (app, session):
        for shop, client in _connected_shops(app, session):
            redemptions.expire_codes(session, shop, client)


def send_flow_triggers() -> None:
    """Every minute: send each shop's due Shopify Flow triggers (at most once each; see services/flow.py)."""
    with _job_session() as (app, session):
        for shop, client in _connected_shops(app, session):
            result = flow.send_due(session, shop, lambda handle, payload: send_trigger(client, handle, payload))
            if result != flow.SendResult(0, 0, 0, 0, 0):
                log.info("flow triggers for shop %s: %s", shop.id, result)


def remind_expiring_points() -> None:
    """Daily job: record each shop's "points expiring" reminders (30 and 7 days before); the sender sends them."""
    with _job_session() as (_, session):
        for shop in active_shops(session):
            flow.remind_expiring(session, shop)
            session.commit()
