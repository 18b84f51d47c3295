"""Referrals: the flagged ones waiting for the merchant (approve / deny), and every other by status.

Rendered with its data (the status filter and paging through the query string); the buttons post
to ``/admin/api/referrals/<id>/approve|deny`` and reload the page.
"""
from __future__ import annotations

from typing import Any

from flask import g, render_template, request
from marshmallow import ValidationError

from ...extensions import db
from ...program.referrals import REASONS, STATUSES
from ...schemas.referrals import OTHER_REASONS, ReferralQuerySchema
from ...services.referrals import list_referrals
from ...services.shops import program_settings
from ..admin_auth import current_shop
from . import bp, page
from .i18n import translate

SHOWN = 50
FRIEND_KINDS = ("percentage", "fixed_amount", "free_shipping")


@bp.get("/referrals")
@page
def referrals() -> Any:
    """``?status=`` (flagged by default: the review queue; empty for all) and ``?cursor=`` for older ones."""
    arguments = {"status": "flagged", **request.args.to_dict()}
    try:
        params = ReferralQuerySchema().load({key: arguments[key] for key in ("status", "cursor") if key in arguments})
    except ValidationError:
        params = {"status": "flagged"}
    found = list_referrals(db.session(), current_shop(), params.get("status"), params.get("cursor"),  # type: ignore[misc]
                           SHOWN)
    labels = {value: translate(g.lang, f"referrals.status_{value}") for value in STATUSES}
    reasons = {value: translate(g.lang, f"referrals.reason_{value}") for value in (*REASONS, *OTHER_REASONS)}
    kinds = {kind: translate(g.lang, f"referrals.kind_{kind}") for kind in FRIEND_KINDS}
    shop = current_shop()
    return render_template("admin/referrals.html", found=found, status=params.get("status"), status_labels=labels,
                           reason_labels=reasons, settings=program_settings(shop), friend_kinds=kinds,
                           currency=shop.currency)
