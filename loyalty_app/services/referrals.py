"""Referrals: members' codes, the friend's discount code on landing, referred orders, fraud review and payout.

A friend lands on ``/apps/loyalty/r/<code>``; the page remembers the code (cookie and cart
attribute) and shows a single-use discount code made for that visitor. The friend's first paid
order that carries the attribute, or uses that discount code, becomes a ``Referral``: the fraud
rules (program/referrals.py) decide whether it waits for the pending period or for the merchant.
``settle_due`` (daily upkeep, or ``flask loyalty referrals-settle``) pays the referrer the referral
rule's points once the pending period is over and the order was neither refunded nor cancelled.
Points go through ``award_action``, keyed on the order, so a replay never pays twice.

No function here commits, unless its docstring says so: the caller owns the transaction.
"""
from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from .. import ledger
from ..models import FriendCode, Member, OrderFingerprint, OrderRecord, OrderRefund, Referral, ReferralCode, Shop, utcnow
from ..program import referrals as rules
from ..program.referrals import CODE_ALPHABET, CODE_PATTERN, Fingerprint
from ..shopify.discounts import CodeRequest, code_taken, new_code
from ..shopify.errors import ShopifyError
from ..sql import insert_ignoring_conflict
from .actions import ActionError, award_action
from .refusals import Refused
from .shops import program_settings

FRIEND_CODES_PER_DAY = 25
"""At most this many friend codes per referral code in 24 hours: a link posted publicly cannot mint thousands."""
FRIEND_CODE_DAYS = 30
"""How long a friend's discount code stays usable."""
VISITOR_PATTERN = r"^[A-Za-z0-9_-]{16,64}$"


class ReferralError(Refused):
    """A referral request that cannot be served; ``reason`` is a stable code for the caller to translate."""


# Members' codes.

def _derived_code(secret: str, shop_id: int, member_id: int) -> str:
    """A code from the app's secret: unguessable, and the same however often it is made before it is stored."""
    digest = hmac.new(secret.encode(), f"referral:{shop_id}:{member_id}".encode(), hashlib.sha256).digest()
    return "".join(CODE_ALPHABET[byte % len(CODE_ALPHABET)] for byte in digest[:10])


def code_for(session: Session, shop: Shop, member: Member, secret: str) -> str:
    """The member's referral code, stored on first use (a concurrent first use stores the same code)."""
    found = session.execute(select(ReferralCode.code).where(ReferralCode.member_id == member.id)).scalar()
    if found is not None:
        return found
    insert_ignoring_conflict(session, ReferralCode, {"shop_id": shop.id, "member_id": member.id,
                                                     "code": _derived_code(secret, shop.id, member.id),
                                                     "created_at": utcnow()}, on=["member_id"])
    return session.execute(select(ReferralCode.code).where(ReferralCode.member_id == member.id)).scalar_one()


def referral_url(session: Session, shop: Shop, member: Member, secret: str) -> str:
    """The member's link: the app proxy path on the shop's domain."""
    return f"https://{shop.domain}/apps/loyalty/r/{code_for(session, shop, member, secret)}"


def find_code(session: Session, shop: Shop, code: str) -> ReferralCode | None:
    """The shop's referral code, if it exists and its member can still refer (not redacted or excluded)."""
    code = code.strip().lower()
    if not CODE_PATTERN.match(code):
        return None
    return session.execute(
        select(ReferralCode).join(Member, Member.id == ReferralCode.member_id)
        .where(ReferralCode.shop_id == shop.id, ReferralCode.code == code, Member.redacted_at.is_(None),
               Member.excluded.is_(False))
    ).scalar_one_or_none()


# The friend's discount code.

def reserve_friend_code(session: Session, shop: Shop, referral_code: ReferralCode, visitor: str | None,
                        customer_id: int | None, now: datetime | None = None) -> FriendCode:
    """The visitor's friend code row for this referral code: the existing one, or a new reserved one.

    A signed-in shopper is keyed by customer id, anyone else by the visitor id the landing page
    keeps in a cookie; so reloading the page never makes a second code. Raises ReferralError for
    the referrer's own link (``self_referral``), a missing visitor id (``bad_visitor``) or a link
    over its daily number of new codes (``too_many``). The caller commits before asking Shopify.
    """
    now = now or utcnow()
    referrer = session.get(Member, referral_code.member_id)
    if customer_id is not None and referrer is not None and customer_id == referrer.customer_id:
        raise ReferralError("self_referral", "this is your own referral link")
    if customer_id is not None:
        key = f"customer:{customer_id}"
    elif visitor:
        key = f"visitor:{visitor}"
    else:
        raise ReferralError("bad_visitor", "a visitor id is required")
    existing = _friend_code(session, shop, referral_code, key)
    if existing is not None:
        return existing
    recent = session.execute(select(func.count()).select_from(FriendCode).where(
        FriendCode.referral_code_id == referral_code.id, FriendCode.created_at > now - timedelta(days=1))).scalar_one()
    if recent >= FRIEND_CODES_PER_DAY:
        raise ReferralError("too_many", "this link has given out its codes for today")
    insert_ignoring_conflict(session, FriendCode, {
        "shop_id": shop.id, "referral_code_id": referral_code.id, "visitor": key, "code": new_code(),
        "state": "reserved", "created_at": now}, on=["shop_id", "referral_code_id", "visitor"])
    return _friend_code(session, shop, referral_code, key)  # type: ignore[return-value]


def _friend_code(session: Session, shop: Shop, referral_code: ReferralCode, key: str) -> FriendCode | None:
    return session.execute(select(FriendCode).where(
        FriendCode.shop_id == shop.id, FriendCode.referral_code_id == referral_code.id, FriendCode.visitor == key)
    ).scalar_one_or_none()


def activate_friend_code(shop: Shop, friend: FriendCode, customer_id: int | None,
                         create: Callable[[CodeRequest], str], lookup: Callable[[str], str | None],
                         now: datetime | None = None) -> FriendCode:
    """Create the friend's code in Shopify unless it is active already; ReferralError ``shopify_failed`` if refused.

    The code is fixed before Shopify is asked, so a create that timed out is found again by
    ``lookup`` on the next visit (Shopify answers TAKEN). The caller commits the row's new state.
    """
    if friend.state == "active":
        return friend
    now = now or utcnow()
    settings = program_settings(shop)
    request = CodeRequest(code=friend.code, title=f"Referral welcome {friend.code}", kind=settings.referral_friend_kind,
                          value=settings.referral_friend_value, customer_id=customer_id, starts_at=now,
                          ends_at=now + timedelta(days=FRIEND_CODE_DAYS))
    try:
        friend.discount_id = create(request)
    except ShopifyError as exc:
        found = lookup(friend.code) if code_taken(exc) else None
        if found is None:
            friend.state = "failed"
            raise ReferralError("shopify_failed", "Shopify did not create the code; try again") from exc
        friend.discount_id = found
    friend.state = "active"
    return friend


# Referred orders.

def record_fingerprint(session: Session, shop: Shop, order: dict[str, Any]) -> Fingerprint | None:
    """Keep the digests of an order's buyer (for later fraud checks); returns them (None without an order id)."""
    order_id = order.get("id")
    if isinstance(order_id, bool) or not isinstance(order_id, int) or order_id <= 0:
        return None
    fingerprint = rules.order_fingerprint(shop.id, order)
    insert_ignoring_conflict(session, OrderFingerprint, {
        "shop_id": shop.id, "order_id": order_id, "customer_id": fingerprint.customer_id, "email": fingerprint.email,
        "ip": fingerprint.ip, "device": fingerprint.device, "address": fingerprint.address, "created_at": utcnow()},
        on=["shop_id", "order_id"])
    return fingerprint


def _referral_code_of(session: Session, shop: Shop, order: dict[str, Any]) -> tuple[ReferralCode, str] | None:
    """The referral code an order came through: its cart attribute, else a friend code it used."""
    attribute = rules.referral_attribute(order)
    if attribute is not None:
        found = find_code(session, shop, attribute)
        if found is not None:
            return found, "cart_attribute"
    used = [d.get("code") for d in order.get("discount_codes") or [] if isinstance(d, dict)]
    names = sorted({code.upper() for code in used if isinstance(code, str)})
    if not names:
        return None
    friend = session.execute(select(FriendCode).where(FriendCode.shop_id == shop.id, FriendCode.code.in_(names))
                             .order_by(FriendCode.id).limit(1)).scalar_one_or_none()
    if friend is None:
        return None
    code = session.get(ReferralCode, friend.referral_code_id)
    return (code, "discount_code") if code is not None else None


def _not_first_order(session: Session, shop: Shop, order_id: int, friend: Fingerprint, email: str | None) -> bool:
    """Whether the friend ordered before (as a member or a guest) or was referred already."""
    earlier = select(OrderRecord.id).where(OrderRecord.shop_id == shop.id, OrderRecord.order_id != order_id)
    conditions = []
    if friend.customer_id is not None:
        conditions.append(select(Member.id).where(Member.shop_id == shop.id, Member.customer_id == friend.customer_id)
                          .scalar_subquery() == OrderRecord.member_id)
    if email:
        conditions.append(func.lower(OrderRecord.email) == email.lower())
    for condition in conditions:
        if session.execute(earlier.where(condition).limit(1)).first() is not None:
            return True
    referred = select(Referral.id).where(Referral.shop_id == shop.id, Referral.order_id != order_id)
    if friend.customer_id is not None and session.execute(
            referred.where(Referral.friend_customer_id == friend.customer_id).limit(1)).first() is not None:
        return True
    return bool(email) and session.execute(
        referred.where(func.lower(Referral.friend_email) == email.lower()).limit(1)).first() is not None  # type: ignore[union-attr]


def record_order(session: Session, shop: Shop, order: dict[str, Any], now: datetime | None = None) -> str | None:
    """Record a paid order's referral, if it came through one; returns what happened (None: no referral).

    Stores the order's fingerprint first, for every order, so referrers' own orders can be compared
    later. A self-referral is recorded denied; any other fraud rule flags it for the merchant; a
    clean one waits for the pending period (paid at once when the shop has none). Replays find the
    order's row and change nothing.
    """
    now = now or utcnow()
    friend = record_fingerprint(session, shop, order)
    if friend is None:
        return None
    order_id: int = order["id"]
    if order.get("test") is True and not program_settings(shop).include_test_orders:
        return None
    found = _referral_code_of(session, shop, order)
    if found is None:
        return None
    code, via = found
    if session.execute(select(Referral.id).where(Referral.shop_id == shop.id, Referral.order_id == order_id)
                       ).first() is not None:
        return "referral: already recorded"
    referrer = session.get(Member, code.member_id)
    assert referrer is not None  # the code's row cascades with its member
    customer = order.get("customer") if isinstance(order.get("customer"), dict) else {}
    email = order.get("email") or customer.get("email")
    email = email if isinstance(email, str) and email else None
    settings = program_settings(shop)
    ledger.lock_member(session, referrer.id)  # the referrer's referrals are counted against the cap one order at a time
    own_orders = [Fingerprint(row.customer_id, row.email, row.ip, row.device, row.address) for row in session.execute(
        select(OrderFingerprint).where(OrderFingerprint.shop_id == shop.id,
                                       OrderFingerprint.customer_id == referrer.customer_id,
                                       OrderFingerprint.order_id != order_id)).scalars()]
    in_period = session.execute(select(func.count()).select_from(Referral).where(
        Referral.referrer_id == referrer.id, Referral.status.not_in(("denied", "void")),
        Referral.created_at > now - timedelta(days=settings.referral_cap_days))).scalar_one()
    reasons = rules.fraud_reasons(friend, rules.digest(shop.id, "email", referrer.email), referrer.customer_id,
                                  own_orders, in_period, settings.referral_cap)
    # A referrer using their own link is recorded (denied) even though it is not a first order: the merchant sees it.
    if not rules.REFUSED_OUTRIGHT & set(reasons) and _not_first_order(session, shop, order_id, friend, email):
        return "referral ignored: not the friend's first order"
    status = rules.initial_status(reasons)
    inserted = insert_ignoring_conflict(session, Referral, {
        "shop_id": shop.id, "referrer_id": referrer.id, "order_id": order_id, "friend_customer_id": friend.customer_id,
        "friend_email": email, "via": via, "status": status, "reasons": list(reasons),
        "due_at": rules.due_at(now, settings.pending_days), "created_at": now,
        "decided_by": "system" if status == "denied" else None, "decided_at": now if status == "denied" else None},
        on=["shop_id", "order_id"])
    if not inserted:
        return "referral: already recorded"
    referral = _locked(session, shop, order_id)
    if referral.status == "pending":
        settle(session, shop, referral, now)
    return f"referral {referral.id}: {referral.status}" + (f" ({', '.join(reasons)})" if reasons else "")


def _locked(session: Session, shop: Shop, order_id: int) -> Referral:
    return session.execute(select(Referral).where(Referral.shop_id == shop.id, Referral.order_id == order_id)
                           .with_for_update().execution_options(populate_existing=True)).scalar_one()


def _order_reversed(session: Session, shop: Shop, order_id: int) -> bool:
    """Whether the order was cancelled or has any refund recorded (held or applied)."""
    record = session.execute(select(OrderRecord).where(OrderRecord.shop_id == shop.id, OrderRecord.order_id == order_id)
                             ).scalar_one_or_none()
    if record is None:
        return False
    return record.cancelled or session.execute(
        select(OrderRefund.id).where(OrderRefund.order_record_id == record.id).limit(1)).first() is not None


def order_reversed(session: Session, shop: Shop, order_id: int, now: datetime | None = None) -> str | None:
    """A refund or cancellation of a referred order before payout voids its referral; returns what happened.

    Called after the refund or cancellation is recorded; a referral already paid stays paid (its
    pending period is over).
    """
    referral = session.execute(select(Referral).where(Referral.shop_id == shop.id, Referral.order_id == order_id)
                               .with_for_update()).scalar_one_or_none()
    if referral is None or referral.status not in ("pending", "flagged"):
        return None
    settle(session, shop, referral, now or utcnow())
    return f"referral {referral.id}: {referral.status}"


def settle(session: Session, shop: Shop, referral: Referral, now: datetime) -> None:
    """Pay, void or leave one (locked) referral as ``settle_decision`` says."""
    decision = rules.settle_decision(referral.status, referral.due_at, now,
                                     _order_reversed(session, shop, referral.order_id))
    if decision == "wait":
        return
    referral.settled_at = now
    if decision == "void":
        referral.status, referral.reasons = "void", [*referral.reasons, "refunded_or_cancelled"]
        return
    referrer = session.get(Member, referral.referrer_id)
    try:
        entry = award_action(session, shop, referrer, "referral", reference=f"order:{referral.order_id}",  # type: ignore[arg-type]
                             now=now)
    except ActionError:
        referral.status, referral.reasons = "void", [*referral.reasons, "no_referral_rule"]
        return
    if entry is None:
        referral.status, referral.reasons = "void", [*referral.reasons, "referral_limit_reached"]
        return
    referral.status, referral.points = "paid", entry.amount


def settle_due(session: Session, shop: Shop, now: datetime | None = None) -> int:
    """Pay every pending referral whose period is over at ``now`` (or void it if refunded); returns how many paid.

    The daily upkeep's step, and ``flask loyalty referrals-settle``. Leaves the commit to the caller.
    """
    now = now or utcnow()
    due = session.execute(select(Referral).where(Referral.shop_id == shop.id, Referral.status == "pending",
                                                 Referral.due_at <= now)
                          .order_by(Referral.id).with_for_update()).scalars().all()
    for referral in due:
        settle(session, shop, referral, now)
    return sum(1 for referral in due if referral.status == "paid")


def referral_report(session: Session, shop: Shop, customer_id: int, member: Member | None) -> dict[str, Any]:
    """``customers/data_request``: the customer's referral code, the referrals they made, and those they came through."""
    def described(referral: Referral) -> dict[str, Any]:
        return {"order_id": referral.order_id, "status": referral.status, "reasons": list(referral.reasons or []),
                "points": referral.points, "created_at": referral.created_at.isoformat()}

    code = session.execute(select(ReferralCode.code).where(ReferralCode.member_id == member.id)).scalar() \
        if member is not None else None
    made = session.execute(select(Referral).where(Referral.referrer_id == member.id).order_by(Referral.id)
                           ).scalars().all() if member is not None else []
    came = session.execute(select(Referral).where(Referral.shop_id == shop.id, Referral.friend_customer_id == customer_id)
                           .order_by(Referral.id)).scalars().all()
    return {"code": code, "made": [described(r) for r in made], "referred_by": [described(r) for r in came]}


def forget_referral_data(session: Session, shop: Shop, customer_id: int, order_ids: set[int]) -> None:
    """``customers/redact``: drop the customer's order fingerprints and their email on referrals they made as a friend.

    Referral rows stay (the referrer's points are explained by them), without the friend's identity.
    """
    session.execute(delete(OrderFingerprint).where(
        OrderFingerprint.shop_id == shop.id,
        or_(OrderFingerprint.customer_id == customer_id, OrderFingerprint.order_id.in_(sorted(order_ids)))))
    session.execute(update(Referral).values(friend_email=None, friend_customer_id=None).where(
        Referral.shop_id == shop.id,
        or_(Referral.friend_customer_id == customer_id, Referral.order_id.in_(sorted(order_ids)))))


# The merchant's review.

def approve(session: Session, shop: Shop, referral: Referral, actor: str, now: datetime | None = None) -> Referral:
    """Approve a flagged referral: it pays now if its period is over (and the order stands), else when it is."""
    now = now or utcnow()
    if referral.status != "flagged":
        raise ReferralError("not_flagged", f"only a flagged referral can be approved; this one is {referral.status}")
    referral.status, referral.decided_by, referral.decided_at = "pending", actor, now
    settle(session, shop, referral, now)
    session.flush()
    return referral


def deny(session: Session, shop: Shop, referral: Referral, actor: str, now: datetime | None = None) -> Referral:
    """Deny a flagged or pending referral: the referrer is never paid for it."""
    if referral.status not in ("flagged", "pending"):
        raise ReferralError("not_open", f"only a flagged or pending referral can be denied; this one is {referral.status}")
    referral.status, referral.decided_by, referral.decided_at = "denied", actor, now or utcnow()
    session.flush()
    return referral


@dataclass(frozen=True)
class ReferralRow:
    """A referral as the admin lists it."""

    id: int
    status: str
    reasons: list[str]
    order_id: int
    via: str
    referrer_customer_id: int
    referrer_email: str | None
    friend_customer_id: int | None
    friend_email: str | None
    points: int | None
    due_at: datetime
    created_at: datetime
    decided_by: str | None
    decided_at: datetime | None


def row(session: Session, referral: Referral) -> ReferralRow:
    """One referral with its referrer's customer id and email."""
    referrer = session.get(Member, referral.referrer_id)
    return _row(referral, referrer)  # type: ignore[arg-type]


def _row(referral: Referral, referrer: Member) -> ReferralRow:
    return ReferralRow(referral.id, referral.status, list(referral.reasons or []), referral.order_id, referral.via,
                       referrer.customer_id, referrer.email, referral.friend_customer_id, referral.friend_email,
                       referral.points, referral.due_at, referral.created_at, referral.decided_by, referral.decided_at)


def list_referrals(session: Session, shop: Shop, status: str | None, cursor: int | None,
                   limit: int) -> dict[str, Any]:
    """A page of the shop's referrals, newest first, optionally of one status; ``next_cursor`` for the next page."""
    query = select(Referral, Member).join(Member, Member.id == Referral.referrer_id).where(Referral.shop_id == shop.id)
    if status is not None:
        query = query.where(Referral.status == status)
    if cursor is not None:
        query = query.where(Referral.id < cursor)
    found = session.execute(query.order_by(Referral.id.desc()).limit(limit + 1)).all()
    rows = [_row(referral, member) for referral, member in found[:limit]]
    return {"referrals": rows, "next_cursor": rows[-1].id if len(found) > limit else None}


def owned_referral(session: Session, shop: Shop, referral_id: int) -> Referral | None:
    """The shop's referral with this id, locked; None for another shop's or an unknown id."""
    found = session.execute(select(Referral).where(Referral.id == referral_id, Referral.shop_id == shop.id)
                            .with_for_update()).scalar_one_or_none()
    return found
