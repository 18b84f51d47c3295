"""``POST /hooks/reviews/<shop>``: review apps and the merchant's automation report a review, signed.

The body is ``{"customer_id": 207119551, "review_id": "r-1", "rating": 5, "has_media": true}``,
signed with the shop's review secret (admin, Program → Product reviews): the hex HMAC-SHA256 of
the raw body in ``X-Loyalty-Hmac-Sha256``. Answers:

- 200 ``{"points", "balance", "entry_id", "state": "done", "replayed"}``: credited now, or before
  (a replay of the same review id answers the same entry and credits nothing new);
- 409 ``limit_reached``: the customer is over the rule's limit for the period (nothing credited,
  and a retry will not help); 409 ``review_claimed``: the id was credited to another customer;
- 401 bad or missing signature; 404 unknown shop or no active review rule; 400 malformed JSON or
  fields; 413 a body over ``REVIEW_MAX_BYTES``; 429 over ``REVIEW_RATE_LIMIT`` for the shop.
"""
from __future__ import annotations

import json

from flask import Blueprint, current_app, jsonify, request
from marshmallow import ValidationError

from webhooks.jobs import schedule_committed_standings

from ..extensions import db
from ..models import Shop
from ..rate_limits import review_allowed
from ..schemas.reviews import ReviewSchema
from ..services import reviews
from ..services.shops import get_shop
from .errors import json_error

bp = Blueprint("reviews", __name__, url_prefix="/hooks")
SIGNATURE_HEADER = "X-Loyalty-Hmac-Sha256"


_schema = ReviewSchema()


def endpoint_info(shop: Shop, secret: str) -> dict[str, str]:
    """What a review app is configured with: this shop's URL, the signature header and the secret."""
    return {"endpoint": f"{current_app.config['APP_URL'].rstrip('/')}/hooks/reviews/{shop.domain}",
            "header": SIGNATURE_HEADER, "secret": secret}


def shown_endpoint(shop: Shop) -> dict[str, str]:
    """The endpoint as the admin shows it (page and API alike); the secret is made, and committed, on first view."""
    secret = reviews.review_secret(shop, current_app.extensions["token_box"])
    db.session.commit()  # type: ignore[union-attr]
    return endpoint_info(shop, secret)


@bp.post("/reviews/<shop_domain>")
def review(shop_domain: str):  # type: ignore[no-untyped-def]
    """Credit a review reported by a review app; see the module docstring for the answers."""
    limit = current_app.config["REVIEW_MAX_BYTES"]
    if request.content_length is not None and request.content_length > limit:
        return json_error("too_large", f"the body is over {limit} bytes", 413)
    body = request.stream.read(limit + 1)
    if len(body) > limit:
        return json_error("too_large", f"the body is over {limit} bytes", 413)
    session = db.session()  # type: ignore[misc]
    shop = get_shop(session, shop_domain) if len(shop_domain) <= 255 else None
    if shop is None or not shop.active:
        return json_error("unknown_shop", "no shop runs the loyalty program at this address", 404)
    if not review_allowed(shop.id):
        return json_error("rate_limited", "too many review calls for this shop; slow down", 429)
    box = current_app.extensions["token_box"]
    if not reviews.signature_valid(shop, box, body, request.headers.get(SIGNATURE_HEADER)):
        return json_error("bad_signature", f"{SIGNATURE_HEADER} is not the HMAC-SHA256 of the body under the shop's "
                      "review secret", 401)
    try:
        data = _schema.load(json.loads(body))
    except (ValueError, UnicodeDecodeError):
        return json_error("bad_json", "the body is not JSON", 400)
    except ValidationError as exc:
        return json_error("bad_request", str(exc.messages), 400)
    except TypeError:
        return json_error("bad_request", "the body must be a JSON object", 400)
    try:
        credit = reviews.credit_review(session, shop, data["customer_id"], data["review_id"], data["has_media"])
    except reviews.ReviewRefused as exc:
        session.rollback()
        return json_error(exc.reason, str(exc), 404 if exc.reason == "action_inactive" else 409)
    session.commit()
    schedule_committed_standings(current_app._get_current_object(), session, on_request_path=True)  # type: ignore[attr-defined]
    return jsonify(points=credit.entry.amount, balance=credit.balance, entry_id=credit.entry.id, state="done",
                   replayed=credit.replayed)
