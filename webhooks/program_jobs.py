"""Background work of the merchant's program changes: re-ranking members after their tiers changed.

A shop with 100,000 members cannot be re-ranked inside the request that changed a tier. With
Redis the request commits the change and queues ``rerank_shop``; without Redis (the embedded
default, small shops) the request re-ranks inline, in the transaction of the change itself.
"""
from __future__ import annotations

import logging

from flask import current_app, has_app_context
from rq import Retry
from sqlalchemy.orm import Session

from loyalty_app.extensions import db, queues
from loyalty_app.models import Shop
from loyalty_app.services import program_admin
from loyalty_app.services.shops import require_shop

from .jobs import schedule_committed_standings

log = logging.getLogger(__name__)


def rerank_now_or_later(session: Session, shop: Shop) -> bool:
    """Before the caller commits a tier change: re-rank at once without Redis. Returns whether a job must follow."""
    if queues.inline:
        program_admin.rerank(session, shop)
        return False
    return True


def enqueue_rerank(shop_id: int) -> None:
    """After the commit: queue the re-ranking job.

    If Redis refuses, the change stands and the daily upkeep's re-evaluation ranks the members;
    the merchant's change is not undone for that.
    """
    assert queues.jobs is not None
    try:
        queues.jobs.enqueue(rerank_shop, shop_id, job_timeout=3600, result_ttl=300, failure_ttl=7 * 86400,
                               retry=Retry(max=3, interval=[10, 60, 300]))
    except Exception:  # a Redis outage must not fail a change already committed
        log.exception("could not queue the re-ranking of shop %s; the daily upkeep will rank its members", shop_id)


def rerank_shop(shop_id: int) -> int:
    """Job: re-rank every member of the shop against its current tiers, committing as it goes (safe to re-run).

    The members it moved (tier, and a promotion's entry bonus) are scheduled for the standings sync.
    """
    if not has_app_context():
        raise RuntimeError("jobs run inside an app context: start workers with -w webhooks.worker.Worker")
    with current_app.app_context():
        session = db.new_session()
        try:
            moved = program_admin.rerank(session, require_shop(session, shop_id), checkpoint=session.commit)
            session.commit()
        finally:
            try:
                schedule_committed_standings(current_app._get_current_object(), session)  # type: ignore[attr-defined]
            finally:
                session.close()
    log.info("re-ranked shop %s: %d member(s) changed tier", shop_id, moved)
    return moved
