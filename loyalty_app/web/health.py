"""Liveness and health for load balancers and the on-call engineer."""
from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import JOB_QUEUE, WEBHOOK_QUEUE, db
from ..models import utcnow
from ..services.inbox import backlog

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)
STALE_BACKLOG_SECONDS = 300
"""An event waiting longer than this means webhooks are not being processed: the app reports itself degraded."""


@bp.get("/ping")
def ping():  # type: ignore[no-untyped-def]
    """Liveness only: the process answers. No database, so it is also the benchmarks' hello-world route."""
    return "ok", 200, {"Content-Type": "text/plain"}


def _redis() -> tuple[str, dict[str, int]]:
    """Redis's state and the queue depths, asked over the millisecond-timeout connection."""
    queues = current_app.extensions["queues"]
    if queues.inline:
        return "not configured", {}
    try:
        pipe = queues.request_redis.pipeline()
        for name in (WEBHOOK_QUEUE, JOB_QUEUE):
            pipe.llen(f"rq:queue:{name}")
        depths = pipe.execute()
    except Exception as exc:  # reported, not raised: webhooks are still acknowledged without Redis
        log.warning("healthz: Redis unreachable: %s", type(exc).__name__)
        return "unreachable", {}
    return "ok", dict(zip((WEBHOOK_QUEUE, JOB_QUEUE), depths))


@bp.get("/healthz")
def healthz():  # type: ignore[no-untyped-def]
    """Database, Redis, queue depths and the inbox backlog; 503 only when the database is down.

    Without Redis the app still acknowledges and stores webhooks, so a load balancer should keep
    sending traffic: that is reported as ``degraded``, as is a backlog older than five minutes.
    """
    body: dict[str, Any] = {"api_version": current_app.config["SHOPIFY_API_VERSION"],
                            "jobs": "inline" if current_app.extensions["queues"].inline else "rq"}
    try:
        session = db.session()  # type: ignore[misc]
        session.execute(text("SELECT 1"))
        inbox = backlog(session, utcnow())
        session.rollback()
    except SQLAlchemyError as exc:
        log.warning("healthz: database unreachable: %s", type(exc).__name__)
        return jsonify(status="down", database="unreachable", **body), 503
    body["redis"], body["queues"] = _redis()
    body["inbox"] = {"waiting": inbox.counts["received"], "processing": inbox.counts["processing"],
                     "failed": inbox.counts["failed"], "oldest_waiting_seconds": inbox.oldest_unprocessed_age_seconds}
    stale = (inbox.oldest_unprocessed_age_seconds or 0) > STALE_BACKLOG_SECONDS
    body["status"] = "degraded" if body["redis"] == "unreachable" or stale else "ok"
    body["database"] = "ok"
    return jsonify(body)
