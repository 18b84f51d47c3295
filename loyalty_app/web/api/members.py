"""Members in the admin API: search, one member's standing and ledger, adjustments by staff, exclusion.

A member is addressed by their Shopify customer id. Another shop's customer, a customer who is
not a member and a redacted member all answer 404 alike, so nothing is learnt from the status.
"""
from __future__ import annotations

from typing import Any

from flask import abort, current_app

from webhooks.jobs import schedule_committed_standings

from ...extensions import db
from ...models import Member
from ...schemas.members import (AdjustmentInputSchema, AdjustmentSchema, ExcludedInputSchema, MemberDetailSchema,
                                MemberLedgerPageSchema, MemberPageSchema, MemberRowSchema, MemberSearchQuerySchema,
                                PageQuerySchema)
from ...services import member_admin
from ..admin_auth import current_principal, current_shop
from . import error, route


def _member(customer_id: int) -> Member:
    """The caller's shop's member for this customer id, or 404."""
    member = member_admin.find_visible_member(db.session(), current_shop(), customer_id)  # type: ignore[misc]
    if member is None:
        abort(404)
    return member


@route("/members", "GET", summary="Search members by email, name or customer id, newest enrolment first",
       query=MemberSearchQuerySchema, response=MemberPageSchema)
def search_members(params: dict[str, Any]) -> Any:
    """Every word of ``query`` must start the email, first or last name, or be the customer id."""
    return member_admin.search_members(db.session(), current_shop(), params["query"],  # type: ignore[misc]
                                       params["cursor"], params["limit"])


@route("/members/<id:customer_id>", "GET", summary="A member: balances, tier and progress, latest codes and orders",
       response=MemberDetailSchema)
def get_member(customer_id: int) -> Any:
    """The member page's data, read in one go."""
    return member_admin.member_detail(db.session(), current_shop(), _member(customer_id))  # type: ignore[misc]


@route("/members/<id:customer_id>/ledger", "GET", summary="A member's ledger entries, newest first",
       query=PageQuerySchema, response=MemberLedgerPageSchema)
def member_ledger(customer_id: int, params: dict[str, Any]) -> Any:
    """A page at a time: pass ``next_cursor`` back as ``cursor``."""
    return member_admin.member_ledger(db.session(), _member(customer_id), params["cursor"],  # type: ignore[misc]
                                      params["limit"])


@route("/members/<id:customer_id>/adjustments", "POST",
       summary="Add or take points by hand, with a reason; a replayed idempotency key changes nothing",
       body=AdjustmentInputSchema, response=AdjustmentSchema, status=201)
def adjust_member(customer_id: int, data: dict[str, Any]) -> Any:
    """One ``adjust`` entry by the caller; 422 for a debit beyond the balance or a key reused differently.

    The member's customer metafields follow, as after an order (a replayed key changed nothing, so syncs nothing).
    """
    session = db.session()  # type: ignore[misc]
    try:
        adjustment = member_admin.adjust_points(session, current_shop(), _member(customer_id), data["points"],
                                                data["reason"], data["idempotency_key"], current_principal().actor)
    except member_admin.AdjustmentRefused as exc:
        session.rollback()
        return error("invalid", str(exc), 422, errors={exc.field: [str(exc)]})
    session.commit()
    schedule_committed_standings(current_app._get_current_object(), session,  # type: ignore[attr-defined]
                                 on_request_path=True)
    return adjustment


@route("/members/<id:customer_id>/excluded", "PUT", summary="Exclude a member from earning on orders, or include them",
       body=ExcludedInputSchema, response=MemberRowSchema)
def set_member_excluded(customer_id: int, data: dict[str, Any]) -> Any:
    """Their points stay; only future orders stop (or start again) earning."""
    session = db.session()  # type: ignore[misc]
    row = member_admin.set_excluded(session, current_shop(), _member(customer_id), data["excluded"])
    session.commit()
    return row
