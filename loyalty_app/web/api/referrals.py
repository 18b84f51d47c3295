"""Referrals in the admin API: the list (flagged ones are the merchant's queue), approve and deny."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, current_app

from webhooks.jobs import schedule_committed_standings

from ...extensions import db
from ...schemas.referrals import ReferralPageSchema, ReferralQuerySchema, ReferralSchema
from ...services import referrals
from ..admin_auth import current_principal, current_shop
from . import error, route


@route("/referrals", "GET", summary="The shop's referrals, newest first; ?status=flagged for those awaiting review",
       query=ReferralQuerySchema, response=ReferralPageSchema)
def list_referrals(params: dict[str, Any]) -> Any:
    """A page at a time: pass ``next_cursor`` back as ``cursor``."""
    return referrals.list_referrals(db.session(), current_shop(), params.get("status"),  # type: ignore[misc]
                                    params.get("cursor"), params["limit"])


def _decide(referral_id: int, decide: Callable[..., Any]) -> Any:
    """Apply the merchant's decision to the shop's referral: 404 for another shop's, 409 if already decided."""
    session = db.session()  # type: ignore[misc]
    shop = current_shop()
    referral = referrals.owned_referral(session, shop, referral_id)
    if referral is None:
        abort(404)
    try:
        decide(session, shop, referral, current_principal().actor)
    except referrals.ReferralError as exc:
        session.rollback()
        return error("conflict", str(exc), 409)
    session.commit()
    schedule_committed_standings(current_app._get_current_object(), session, on_request_path=True)  # type: ignore[attr-defined]
    return referrals.row(session, referral)


@route("/referrals/<id:referral_id>/approve", "POST", errors=(409,), response=ReferralSchema,
       summary="Approve a flagged referral: the referrer is paid when the pending period is over (at once if it is)")
def approve_referral(referral_id: int) -> Any:
    """409 unless the referral is flagged."""
    return _decide(referral_id, referrals.approve)


@route("/referrals/<id:referral_id>/deny", "POST", errors=(409,), response=ReferralSchema,
       summary="Deny a flagged or pending referral: the referrer is never paid for it")
def deny_referral(referral_id: int) -> Any:
    """409 once the referral is paid, void or denied."""
    return _decide(referral_id, referrals.deny)
