"""The widget's earning clicks on the app proxy: the shopper's birthday and one-click actions (follow, newsletter).

Registered on the proxy blueprint, so every request carries Shopify's fresh signature and the
shopper is the signed ``logged_in_customer_id``, never anything in the body.
"""
from __future__ import annotations

from flask import current_app, g, jsonify, request
from marshmallow import ValidationError

from webhooks.jobs import schedule_committed_standings

from ..connections import client_for
from ..extensions import db
from ..program.birthdays import month_day
from ..rate_limits import click_allowed
from ..schemas import ActionClickSchema, BirthdayInputSchema
from ..services import birthdays, engagement
from ..shopify.customers import email_marketing_subscribed
from ..shopify.errors import ShopifyError
from .errors import json_error
from .proxy import bp, signed

_birthday_schema = BirthdayInputSchema()
_click_schema = ActionClickSchema()


@bp.post("/birthday")
@signed
def set_birthday():  # type: ignore[no-untyped-def]
    """The shopper's birthday, ``{"birthday": "MM-DD"}``, set once: 409 ``birthday_locked`` afterwards."""
    if g.customer_id is None:
        return json_error("sign_in_required", "sign in to add your birthday", 401)
    try:
        data = _birthday_schema.load(request.get_json(silent=True) or {})
    except ValidationError as exc:
        return json_error("bad_request", str(exc.messages), 400)
    session = db.session()  # type: ignore[misc]
    try:
        member = birthdays.set_by_shopper(session, g.shop, g.customer_id, data["birthday"])
    except birthdays.BirthdayLocked as exc:
        session.rollback()
        return json_error("birthday_locked", str(exc), 409)
    session.commit()
    return jsonify(birthday=month_day(member.birthday))


@bp.post("/actions/<action>")
@signed
def click_action(action: str):  # type: ignore[no-untyped-def]
    """A one-click action (social_follow, newsletter) within its limit; the newsletter needs Shopify's consent."""
    if g.customer_id is None:
        return json_error("sign_in_required", "sign in to earn points", 401)
    try:
        data = _click_schema.load(request.get_json(silent=True) or {})
    except ValidationError as exc:
        return json_error("bad_request", str(exc.messages), 400)
    if not click_allowed(g.shop.id, g.customer_id):
        return json_error("rate_limited", "too many clicks; try again in a minute", 429)
    session = db.session()  # type: ignore[misc]
    shop = g.shop
    customer_id = g.customer_id

    def consented() -> bool:  # a shopper is waiting: short timeouts and one quick retry, as for redemptions
        return email_marketing_subscribed(client_for(current_app, session, shop, max_retries=1, timeout=(3.0, 8.0)),
                                          customer_id)

    try:
        claim = engagement.claim_click(session, shop, g.customer_id, action, data["idempotency_key"], consented)
    except engagement.ClickRefused as exc:
        session.rollback()
        return json_error(exc.reason, str(exc), 404 if exc.reason == "unknown_action" else 409)
    except ShopifyError as exc:
        session.rollback()
        return json_error("shopify_failed", f"could not ask Shopify for the customer's consent: {type(exc).__name__}", 502)
    session.commit()
    schedule_committed_standings(current_app._get_current_object(), session, on_request_path=True)  # type: ignore[attr-defined]
    return jsonify(points=claim.entry.amount, balance=claim.balance, state=claim.state)
