"""Analytics: the program's figures over a period the merchant picks, with its charts drawn on the server."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import g, render_template, request
from marshmallow import ValidationError

from ...extensions import db
from ...models import utcnow
from ...schemas.analytics import AnalyticsQuerySchema
from ...services.analytics import Analytics, Window, analytics as compute
from ..admin_auth import current_shop
from . import bp, page
from .charts import LineChart, line_chart
from .i18n import translate

PRESETS = (7, 30, 90, 365)
"""The period picker's shortcuts, in days ending today."""


def points_chart(figures: Analytics, **size: Any) -> LineChart:
    """Points issued vs redeemed per day."""
    return line_chart([d.day for d in figures.days], [
        ("issued", translate(g.lang, "analytics.points_issued"), [d.points_issued for d in figures.days]),
        ("redeemed", translate(g.lang, "analytics.points_redeemed"), [d.points_redeemed for d in figures.days]),
    ], **size)


def aov_chart(figures: Analytics, **size: Any) -> LineChart:
    """Average order value of members vs non-members per day (a day without orders has no point)."""
    return line_chart([d.day for d in figures.days], [
        ("members", translate(g.lang, "analytics.members_aov"), [d.member_aov for d in figures.days]),
        ("non_members", translate(g.lang, "analytics.non_members_aov"), [d.non_member_aov for d in figures.days]),
    ], **size)


@bp.get("/analytics")
@page
def analytics():  # type: ignore[no-untyped-def]
    """The figures of ``?since=&until=`` (the last 30 days by default); a bad period is shown, not fatal."""
    asked = {key: request.args[key] for key in ("since", "until") if request.args.get(key)}
    errors: dict[str, Any] = {}
    try:
        window = AnalyticsQuerySchema().load(asked)
    except ValidationError as exc:
        errors, window = exc.messages, Window.last_days(utcnow().date())  # type: ignore[assignment]
    figures = compute(db.session(), current_shop(), window)  # type: ignore[misc]
    today = utcnow().date()
    presets = [(days, (today - timedelta(days=days - 1)).isoformat(), today.isoformat()) for days in PRESETS]
    return render_template("admin/analytics.html", figures=figures, errors=errors, asked=asked, presets=presets,
                           points=points_chart(figures), aov=aov_chart(figures))
