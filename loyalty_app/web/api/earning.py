"""Birthdays and the review endpoint's secret in the admin API."""
from __future__ import annotations

from typing import Any

from flask import abort, current_app

from ...extensions import db
from ...models import Member
from ...program.birthdays import month_day
from ...schemas.earning import MemberBirthdayInputSchema, MemberBirthdaySchema, ReviewSecretSchema
from ...services import birthdays, member_admin, reviews
from ..admin_auth import current_shop
from ..reviews import endpoint_info, shown_endpoint
from . import route


def _birthday(member: Member) -> dict[str, Any]:
    return {"customer_id": member.customer_id, "birthday": month_day(member.birthday),
            "birthday_set_by": member.birthday_set_by, "birthday_set_at": member.birthday_set_at}


@route("/members/<id:customer_id>/birthday", "PUT",
       summary="Set, change or clear a member's birthday (MM-DD); a change never pays the birthday twice in a year",
       body=MemberBirthdayInputSchema, response=MemberBirthdaySchema)
def set_member_birthday(customer_id: int, data: dict[str, Any]) -> Any:
    """The merchant may change what the shopper can set only once."""
    session = db.session()  # type: ignore[misc]
    member = member_admin.find_visible_member(session, current_shop(), customer_id)
    if member is None:
        abort(404)
    member = birthdays.set_by_merchant(session, member, data["birthday"])
    session.commit()
    return _birthday(member)


@route("/review-secret", "GET", summary="The review endpoint, its signature header and the shop's secret",
       response=ReviewSecretSchema, staff_only=True)
def get_review_secret() -> Any:
    """Made on first view; only staff see it (an API key cannot read the secret that signs reviews)."""
    return shown_endpoint(current_shop())


@route("/review-secret/rotate", "POST", summary="Replace the review secret; the old one stops working at once",
       response=ReviewSecretSchema, staff_only=True)
def rotate_review_secret() -> Any:
    """For a leaked secret, or a review app the merchant stopped using."""
    shop = current_shop()
    secret = reviews.rotate_secret(shop, current_app.extensions["token_box"])
    db.session.commit()  # type: ignore[union-attr]
    return endpoint_info(shop, secret)
