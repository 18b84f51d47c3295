"""Import & export: download the members and the ledger, check and apply a file of balances, undo an import."""
from __future__ import annotations

from flask import render_template, request

from ...extensions import db
from ...services.imports import MAX_BYTES, MAX_ROWS, list_imports
from ..admin_auth import current_shop
from . import bp, page


@bp.get("/transfer")
@page
def transfer():  # type: ignore[no-untyped-def]
    """The export buttons, the import form and the past imports, rendered with the page.

    ``?imported=<id>`` (where the page goes after applying a file) names the import just made.
    """
    records = list_imports(db.session(), current_shop())  # type: ignore[misc]
    imported = request.args.get("imported", type=int)
    return render_template("admin/transfer.html", imports=records,
                           imported=next((r for r in records if r.id == imported), None),
                           max_megabytes=MAX_BYTES // (1024 * 1024), max_rows=MAX_ROWS)
