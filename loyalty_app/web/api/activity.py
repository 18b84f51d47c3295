"""The Activity page's API: the shop's webhook events, retrying a failed one, and the inbox's health."""
from __future__ import annotations

import logging
from typing import Any

from flask import abort, current_app
from redis.exceptions import RedisError

from webhooks.jobs import schedule_drain

from ...extensions import db, queues
from ...schemas.activity import EventPageSchema, EventQuerySchema, EventSchema, HealthSchema
from ...services.activity import RetryRefused, health, list_events, retry_event
from ..admin_auth import current_shop
from . import error, route

log = logging.getLogger(__name__)


@route("/activity/events", "GET", summary="The shop's webhook events, newest first (never their bodies)",
       query=EventQuerySchema, response=EventPageSchema)
def list_activity_events(params: dict[str, Any]) -> Any:
    """Failed events with their reason are what the merchant comes for: ``?status=failed``."""
    return list_events(db.session(), current_shop(), params.get("status"), params.get("cursor"),  # type: ignore[misc]
                       params["limit"])


@route("/activity/events/<id:event_id>/retry", "POST", summary="Put a failed event back in the inbox and drain it",
       response=EventSchema, errors=(409,))
def retry_activity_event(event_id: int) -> Any:
    """Requeue, commit, then schedule the drain (inline without Redis: the answer shows the new status)."""
    session = db.session()  # type: ignore[misc]
    try:
        event = retry_event(session, current_shop(), event_id)
    except RetryRefused as exc:
        session.rollback()
        return error("conflict", str(exc), 409)
    if event is None:
        abort(404)
    session.commit()
    try:
        schedule_drain(current_app._get_current_object(), on_request_path=True)  # type: ignore[attr-defined]
    except RedisError:  # the event is committed as received and overdue: the sweeper schedules the drain
        log.exception("retry of webhook event %s: the drain could not be scheduled; the sweeper will", event_id)
    session.refresh(event)
    return event


@route("/activity/health", "GET", summary="Events by status, the oldest waiting one, and the job queue",
       response=HealthSchema)
def activity_health() -> Any:
    """The queue's figures are the whole app's (every shop shares it); null when jobs run inline."""
    return health(db.session(), current_shop(), queues.state())  # type: ignore[misc]
