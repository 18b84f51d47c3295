"""Points for product reviews, reported by review apps or the merchant's automation on a signed endpoint.

Each shop has its own secret (``Shop.review_secret_encrypted``, sealed like the access token because
it must be read back to verify). A caller signs the raw body with HMAC-SHA256 and sends the hex
digest; the body names ``customer_id``, ``review_id``, ``rating`` and ``has_media``. A review earns
the rule's points plus its ``photo_bonus`` when it has media, within the rule's limit, once per
review id in the shop (the same id for another customer earns nothing).
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import ledger
from ..crypto import TokenBox
from ..models import LedgerEntry, Shop, utcnow
from .actions import award_action, find_rule
from .members import enrol
from .refusals import Refused

ACTION = "product_review"


class ReviewRefused(Refused):
    """Why a review earned nothing: ``action_inactive``, ``review_claimed`` (credited to another customer)
    or ``limit_reached``."""


@dataclass(frozen=True)
class ReviewCredit:
    entry: LedgerEntry
    balance: int
    replayed: bool  # the review was credited before: this is that entry, nothing new


def review_secret(shop: Shop, box: TokenBox) -> str:
    """The shop's review signing secret, made on first need. The caller commits (a new one must be saved)."""
    if shop.review_secret_encrypted is None:
        return rotate_secret(shop, box)
    return box.open(shop.review_secret_encrypted)


def rotate_secret(shop: Shop, box: TokenBox) -> str:
    """A new secret; the old one stops verifying at once. The caller commits."""
    secret = secrets.token_hex(32)
    shop.review_secret_encrypted = box.seal(secret)
    return secret


def signature(secret: str, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``body``: what ``openssl dgst -sha256 -hmac SECRET`` prints."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_valid(shop: Shop, box: TokenBox, body: bytes, sent: str | None) -> bool:
    """Whether ``sent`` is the body's signature under the shop's secret (constant time; no secret: never)."""
    if not sent or shop.review_secret_encrypted is None:
        return False
    expected = signature(box.open(shop.review_secret_encrypted), body)
    return hmac.compare_digest(expected, sent.strip().lower().encode("ascii", "replace").decode())


def _suffix(review_id: str) -> str:
    return f"review:{review_id}"


def credit_review(session: Session, shop: Shop, customer_id: int, review_id: str, has_media: bool,
                  now: datetime | None = None) -> ReviewCredit:
    """Credit one review; raises ReviewRefused. The caller commits.

    Replay-safe: the same review id answers the entry it earned. The rating is not priced: a
    one-star review is as welcome as a five-star one (paying for praise is what review guidelines forbid).
    """
    now = now or utcnow()
    rule = find_rule(session, shop, ACTION)
    if rule is None:
        raise ReviewRefused("action_inactive", "this shop does not give points for reviews")
    member, _ = enrol(session, shop, customer_id)
    key = f"action:{ACTION}:{member.id}:{_suffix(review_id)}"
    existing = ledger.find_entry(session, shop.id, key)
    if existing is None:
        escaped = review_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        other = session.execute(select(LedgerEntry.id).where(
            LedgerEntry.shop_id == shop.id, LedgerEntry.source == f"action:{ACTION}",
            LedgerEntry.idempotency_key.like(f"action:{ACTION}:%:{_suffix(escaped)}", escape="\\")).limit(1)).first()
        if other is not None:
            raise ReviewRefused("review_claimed", "this review id was already credited to another customer")
    bonus = int((rule.settings or {}).get("photo_bonus") or 0) if has_media else 0
    entry = existing or award_action(session, shop, member, ACTION, reference=_suffix(review_id), now=now,
                                     extra_points=bonus, detail={"review_id": review_id, "has_media": has_media,
                                                                 "photo_bonus": bonus})
    if entry is None:
        raise ReviewRefused("limit_reached", "the customer has reached the review limit for this period")
    member = ledger.lock_member(session, member.id)
    return ReviewCredit(entry, member.balance, existing is not None)
