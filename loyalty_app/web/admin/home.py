"""Home: is the program running, and the figures a merchant checks first."""
from __future__ import annotations

from flask import render_template

from ...extensions import db
from ...services.overview import overview
from ..admin_auth import current_shop
from . import bp, page
from .analytics import points_chart


@bp.get("")
@page
def home():  # type: ignore[no-untyped-def]
    """The program's status and key figures, rendered with the page."""
    figures = overview(db.session(), current_shop())  # type: ignore[misc]
    return render_template("admin/home.html", overview=figures,
                           points=points_chart(figures.recent, width=560, height=160, labels=3, ticks=2))
