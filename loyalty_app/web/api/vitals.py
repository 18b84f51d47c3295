"""Web Vitals of the admin's pages: App Bridge reports them, the Activity page shows them against targets."""
from __future__ import annotations

from typing import Any

from ...extensions import db
from ...schemas.activity import PageVitalsSchema, VitalsReportSchema
from ...services.activity import page_vitals, record_vitals
from ..admin_auth import current_shop
from . import route


@route("/vitals", "POST", summary="Report Web Vitals of an admin page (the last value per metric is kept)",
       body=VitalsReportSchema, status=204)
def report_vitals(data: dict[str, Any]) -> None:
    """Called by admin.js from App Bridge's ``webVitals.onReport``."""
    record_vitals(db.session(), current_shop(), data["page"], data["metrics"])  # type: ignore[misc]
    db.session.commit()  # type: ignore[union-attr]


@route("/vitals", "GET", summary="The last Web Vitals per admin page, against Built for Shopify's targets",
       response=PageVitalsSchema, many=True)
def list_vitals() -> Any:
    """LCP < 2.5 s, CLS <= 0.1, INP <= 200 ms; FCP and TTFB are shown without a target."""
    return page_vitals(db.session(), current_shop())  # type: ignore[misc]
