"""Import and export: CSV exports of members and the ledger (streamed), opening-balance imports and their undo."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from flask import Response, current_app, request, stream_with_context
from sqlalchemy.orm import Session

from webhooks.jobs import schedule_committed_standings

from ...extensions import db
from ...models import LedgerImport, Shop
from ...schemas.transfer import (ImportBodySchema, ImportDetailSchema, ImportPreviewSchema, ImportQuerySchema,
                                 ImportSchema)
from ...services import exports, imports
from ..admin_auth import current_principal, current_shop
from . import bp, error, owned, route


@bp.before_request
def _limit_import_size() -> None:
    """An import body above ``imports.MAX_BYTES`` is refused (413) before it is read into memory."""
    if request.endpoint == "api.create_import":
        request.max_content_length = imports.MAX_BYTES + 64 * 1024  # room for a multipart envelope


def _csv_download(name: str, rows: Callable[[Session, Shop], Iterator[str]]) -> Response:
    """Stream ``rows`` as a CSV attachment.

    The session is taken inside the generator, once Flask has pushed the request's contexts again
    for the streaming: the view's own session is closed when the view returns, and the teardown
    after streaming removes the registry's session, so one held from the view would stay open in
    a transaction (on SQLite, holding the write lock) for good.
    """
    shop = current_shop()

    def stream() -> Iterator[str]:
        yield from rows(db.session(), shop)  # type: ignore[misc]

    response = Response(stream_with_context(stream()), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@route("/exports/members.csv", "GET", summary="Every member of the shop as CSV (streamed)", produces="text/csv")
def export_members() -> Response:
    """Streamed in batches: memory stays flat however many members the shop has."""
    return _csv_download("members.csv", exports.member_rows)


@route("/exports/ledger.csv", "GET", summary="Every ledger entry of the shop as CSV (streamed)", produces="text/csv")
def export_ledger() -> Response:
    """Streamed in batches, oldest entry first."""
    return _csv_download("ledger.csv", exports.ledger_rows)


@route("/imports", "POST", summary="Preview (dry_run=true, the default) or apply a file of balances",
       body=ImportBodySchema, consumes="text/csv", query=ImportQuerySchema, response=ImportPreviewSchema)
def create_import(data: bytes, params: dict[str, Any]) -> Any:
    """A dry run answers what each row would do; an applied import with any row error writes nothing (422)."""
    filename = params["filename"]
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            return error("invalid", "the request has invalid fields", 422, errors={"file": ["a file is required"]})
        data = upload.read()
        filename = filename or upload.filename or None
    if len(data) > imports.MAX_BYTES:
        return error("request_entity_too_large", f"the file is larger than {imports.MAX_BYTES} bytes; split it", 413)
    session = db.session()  # type: ignore[misc]
    try:
        if params["dry_run"]:
            return imports.preview(session, current_shop(), data, params["mode"])
        result = imports.apply(session, current_shop(), data, params["mode"], current_principal().actor,
                               filename=(filename or "")[:255] or None)
    except imports.UnreadableFile as exc:
        session.rollback()
        return error("invalid", "the file cannot be imported", 422, errors={"file": [str(exc)]})
    except imports.ImportRejected as exc:
        session.rollback()
        rows = {str(row.line): row.errors for row in exc.preview.rows if row.errors}
        return error("invalid", f"{exc.preview.error_count} rows have errors; nothing was imported", 422, errors=rows)
    session.commit()
    schedule_committed_standings(current_app._get_current_object(), session,  # type: ignore[attr-defined]
                                 on_request_path=True)
    return result


@route("/imports", "GET", summary="The shop's imports, newest first", response=ImportSchema, many=True)
def list_imports() -> Any:
    """Undone imports stay listed, with who undid them and when."""
    return imports.list_imports(db.session(), current_shop())  # type: ignore[misc]


@route("/imports/<id:import_id>", "GET", summary="One import with the entries it posted", response=ImportDetailSchema)
def show_import(import_id: int) -> Any:
    """The entries say, per row, the balance before, the change and the balance after."""
    record = owned(LedgerImport, import_id)
    entries = [{"entry_id": entry.id, "line": (entry.detail or {}).get("line"),
                "customer_id": None if member.redacted_at else member.customer_id,
                "before": (entry.detail or {}).get("before"), "change": entry.amount,
                "after": (entry.detail or {}).get("after"), "note": None if member.redacted_at else entry.note}
               for entry, member in imports.import_entries(db.session(), record)]  # type: ignore[misc]
    return {**{name: getattr(record, name) for name in ImportSchema().fields}, "entries": entries}


@route("/imports/<id:import_id>/undo", "POST", summary="Reverse an import whole, once", response=ImportSchema)
def undo_import(import_id: int) -> Any:
    """409 when it was undone already, or when members have spent the points (named, nothing reversed)."""
    record = owned(LedgerImport, import_id)
    session = db.session()  # type: ignore[misc]
    try:
        undone = imports.undo(session, current_shop(), record, current_principal().actor)
    except imports.AlreadyUndone:
        session.rollback()
        return error("conflict", "this import was undone already", 409)
    except imports.UndoBlocked as exc:
        session.rollback()
        named = "; ".join(f"customer {m['customer_id'] or '(redacted)'} has {m['balance']}, the undo takes "
                          f"{m['points']}" for m in exc.shortfalls[:10])
        more = f" and {len(exc.shortfalls) - 10} more" if len(exc.shortfalls) > 10 else ""
        return error("conflict", f"members have spent imported points since ({named}{more}); adjust them first, "
                     "then undo", 409, errors={"members": exc.shortfalls})
    session.commit()
    schedule_committed_standings(current_app._get_current_object(), session,  # type: ignore[attr-defined]
                                 on_request_path=True)
    return undone
