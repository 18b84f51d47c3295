"""Activity: webhook and job health the merchant can see, failed events with a Retry button, and Web Vitals."""
from __future__ import annotations

from flask import render_template

from ...extensions import db, queues
from ...services.activity import VITAL_NAMES, health, list_events, page_vitals
from ..admin_auth import current_shop
from . import NAV, bp, page

FAILED_SHOWN = 50


@bp.get("/activity")
@page
def activity():  # type: ignore[no-untyped-def]
    """The inbox's health, the latest failed events and the pages' Web Vitals, rendered with the page."""
    session, shop = db.session(), current_shop()  # type: ignore[misc]
    return render_template("admin/activity.html", health=health(session, shop, queues.state()),
                           failed=list_events(session, shop, "failed", limit=FAILED_SHOWN),
                           vitals=page_vitals(session, shop), vital_names=VITAL_NAMES,
                           page_labels=dict(NAV))
