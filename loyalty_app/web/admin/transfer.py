"""The transfer page (a placeholder until its part of the admin is built)."""
from __future__ import annotations

from flask import render_template

from . import bp, page


@bp.get("/transfer")
@page
def transfer():  # type: ignore[no-untyped-def]
    """Placeholder."""
    return render_template("admin/base.html")
