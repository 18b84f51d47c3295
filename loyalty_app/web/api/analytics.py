"""Analytics: the program's figures over a window of days, for the Analytics page and the merchant's own tools."""
from __future__ import annotations

from typing import Any

from ...extensions import db
from ...schemas.analytics import AnalyticsQuerySchema, AnalyticsSchema
from ...services.analytics import Window, analytics
from ..admin_auth import current_shop
from . import route


@route("/analytics", "GET", summary="Members, points, liability, buyers and a daily series over a window of days",
       query=AnalyticsQuerySchema, response=AnalyticsSchema)
def get_analytics(params: Window) -> Any:
    """The last 30 days unless ``since``/``until`` say otherwise; reads only."""
    return analytics(db.session(), current_shop(), params)  # type: ignore[misc]
