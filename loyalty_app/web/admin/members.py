"""Members: the searchable list, and one member's page with their points, codes, orders, ledger and actions.

Both pages render with their data (search and paging through the query string, no fetch on
first paint); the adjustment form and the exclude button post to ``/admin/api/members/…``.
"""
from __future__ import annotations

import uuid
from typing import Any

from flask import abort, g, render_template, request
from marshmallow import ValidationError

from ...extensions import db
from ...schemas.members import Cursor, MemberSearchQuerySchema
from ...services import member_admin
from ..admin_auth import current_shop
from . import bp, page
from .i18n import catalog, translate

_KEPT_IN_FORMS = ("shop", "host", "embedded", "locale")
"""Shopify's query a GET form must carry along (never the token: the id-token flow brings a fresh one)."""


def _kept_query() -> dict[str, str]:
    return {key: request.args[key] for key in _KEPT_IN_FORMS if key in request.args}


def _label(group: str, value: str) -> str:
    """The words for a ledger kind or code state; an unknown one (a kind added later) shows as stored, never a 500."""
    key = f"members.{group}_{value}"
    return translate(g.lang, key) if key in catalog("en") else value


@bp.get("/members")
@page
def members() -> Any:
    """The shop's members, newest first, filtered by ``?query=`` and paged by ``?cursor=``."""
    try:
        params = MemberSearchQuerySchema().load(request.args.to_dict())
    except ValidationError:  # a hand-edited link or an over-long search: say so, with the search box to retry
        return render_template("admin/members.html", page_of=member_admin.Page([], None), query="", paged=False,
                               kept=_kept_query(), unreadable=True), 400
    found = member_admin.search_members(db.session(), current_shop(), params["query"],  # type: ignore[misc]
                                        params["cursor"], params["limit"])
    return render_template("admin/members.html", page_of=found, query=params["query"].strip(),
                           paged=params["cursor"] is not None, kept=_kept_query(), unreadable=False)


@bp.get("/members/<id:customer_id>")
@page
def member(customer_id: int) -> Any:
    """One member: balances, tier, codes, orders, a page of the ledger (``?ledger_cursor=``), adjust and exclude."""
    session = db.session()  # type: ignore[misc]
    found = member_admin.find_visible_member(session, current_shop(), customer_id)
    if found is None:
        abort(404)
    try:
        cursor = Cursor(load_default=None).deserialize(request.args.get("ledger_cursor"))
    except ValidationError:
        abort(400)
    return render_template("admin/member.html", member=member_admin.member_detail(session, current_shop(), found),
                           ledger=member_admin.member_ledger(session, found, cursor),
                           ledger_paged=cursor is not None, label=_label,
                           adjustment_key=uuid.uuid4().hex)  # one per render: a double click posts once
