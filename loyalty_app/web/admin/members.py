"""The members page (a placeholder until its part of the admin is built)."""
from __future__ import annotations

from flask import render_template

from . import bp, page


@bp.get("/members")
@page
def members():  # type: ignore[no-untyped-def]
    """Placeholder."""
    return render_template("admin/base.html")
