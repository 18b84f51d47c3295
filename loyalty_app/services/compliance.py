"""Uninstall and the mandatory privacy topics: data request, customer redaction, shop redaction."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from ..models import DataRequest, LedgerEntry, OrderRecord, Redemption, Shop, StoreCreditGrant, WebhookEvent, utcnow
from .members import find_member, tier_name
from .inbox import Deferred
from .payloads import PayloadError, parse_id
from .referrals import forget_referral_data, referral_report
from .subjects import NOBODY, Subject, subject


class ShopMismatch(PayloadError):
    """A delivery whose body names another shop than its headers: refused, and kept failed for inspection."""


SHOP_FIELDS = {"app/uninstalled": "myshopify_domain", "shop/update": "myshopify_domain", "shop/redact": "shop_domain",
               "customers/redact": "shop_domain", "customers/data_request": "shop_domain"}
"""Where each destructive topic's body names its shop."""


def require_same_shop(shop: Shop, topic: str, payload: Any) -> None:
    """Refuse a destructive delivery unless its body names the shop its headers do.

    Shopify's HMAC covers the body but not the headers, so a captured signed body could be
    re-sent with another shop's domain or another topic (an order body as ``app/uninstalled``).
    The body's own shop field is signed; these topics act only when it agrees.
    """
    named = payload.get(SHOP_FIELDS[topic]) if isinstance(payload, dict) else None
    if not isinstance(named, str) or named.strip().lower() != shop.domain:
        raise ShopMismatch(f"{topic} body names {str(named)[:255]!r}, not {shop.domain}")


def uninstall(session: Session, shop: Shop, now: datetime | None = None) -> str:
    """Deactivate the shop and drop its tokens; its data stays until ``shop/redact``."""
    shop.uninstalled_at = now or utcnow()
    shop.access_token_encrypted = None
    shop.refresh_token_encrypted = None
    shop.token_expires_at = None
    session.flush()
    return "uninstalled"


def _customerparse_id(payload: Any) -> int:
    if not isinstance(payload, dict) or not isinstance(payload.get("customer"), dict):
        raise PayloadError("a compliance payload must carry a customer object")
    return parse_id(payload["customer"], "id")


def data_request(session: Session, shop: Shop, payload: Any) -> str:
    """Assemble everything we hold on a customer into a report the merchant can fetch."""
    customer_id = _customerparse_id(payload)
    member = find_member(session, shop.id, customer_id)
    report: dict[str, Any] = {"shop": shop.domain, "customer_id": customer_id, "member": None}
    if member is not None:
        entries = session.execute(select(LedgerEntry).where(LedgerEntry.member_id == member.id)
                                  .order_by(LedgerEntry.id)).scalars()
        redemptions = session.execute(select(Redemption).where(Redemption.member_id == member.id)
                                      .order_by(Redemption.id)).scalars()
        report["member"] = {
            "email": member.email, "first_name": member.first_name, "last_name": member.last_name,
            "birthday": member.birthday.isoformat() if member.birthday else None,
            "balance": member.balance, "pending": member.pending, "lifetime": member.lifetime,
            "tier": tier_name(session, member), "enrolled_at": member.created_at.isoformat(),
            "ledger": [{"amount": e.amount, "kind": e.kind, "source": e.source, "state": e.state,
                        "created_at": e.created_at.isoformat(), "note": e.note} for e in entries],
            "redemptions": [{"code": r.code, "cost": r.cost, "state": r.state,
                             "created_at": r.created_at.isoformat()} for r in redemptions],
            "store_credit": [{"kind": c.kind, "amount": str(c.amount), "currency": c.currency, "state": c.state,
                              "order_id": c.order_id, "created_at": c.created_at.isoformat()}
                             for c in session.execute(select(StoreCreditGrant).where(
                                 StoreCreditGrant.member_id == member.id).order_by(StoreCreditGrant.id)).scalars()],
        }
    report["referrals"] = referral_report(session, shop, customer_id, member)
    session.add(DataRequest(shop_id=shop.id, customer_id=customer_id, report=report))
    session.flush()
    return "report ready" if member else "report ready: not a member"


def latest_report(session: Session, shop_id: int, customer_id: int) -> dict[str, Any] | None:
    """The newest data report assembled for a customer, if any."""
    request = session.execute(
        select(DataRequest).where(DataRequest.shop_id == shop_id, DataRequest.customer_id == customer_id)
        .order_by(DataRequest.id.desc()).limit(1)
    ).scalar_one_or_none()
    return request.report if request else None


def redact_customer(session: Session, shop: Shop, payload: Any, event: WebhookEvent,
                    now: datetime | None = None) -> str:
    """Erase a customer's personal data: the member, their orders' emails and the stored webhook bodies.

    The ledger stays, anonymised, so totals still balance. Raises ``Deferred`` while an event
    about the customer still waits to be processed (see ``_drop_bodies``). Leaves the commit
    to the caller.
    """
    customer_id = _customerparse_id(payload)
    member = find_member(session, shop.id, customer_id)
    order_ids = {o for o in (payload.get("orders_to_redact") or []) if isinstance(o, int) and not isinstance(o, bool)}
    if member is not None:
        order_ids.update(session.execute(select(OrderRecord.order_id)
                                         .where(OrderRecord.member_id == member.id)).scalars())
    dropped = _drop_bodies(session, shop, customer_id, order_ids, event)
    session.execute(update(OrderRecord).values(email=None).where(
        OrderRecord.shop_id == shop.id, OrderRecord.order_id.in_(sorted(order_ids))))
    forget_referral_data(session, shop, customer_id, order_ids)
    if member is None:
        return f"not a member; {dropped} webhook bodies dropped"
    member.email = member.first_name = member.last_name = None
    member.birthday = member.birthday_set_by = member.birthday_set_at = None
    member.customer_id = -member.id  # no longer points at the person; stays unique within the shop
    member.redacted_at = now or utcnow()
    session.execute(delete(DataRequest).where(DataRequest.shop_id == shop.id,
                                              DataRequest.customer_id == customer_id))
    session.flush()
    return f"redacted; {dropped} webhook bodies dropped"


_PENDING = ("received", "processing")


def _drop_bodies(session: Session, shop: Shop, customer_id: int, order_ids: set[int], event: WebhookEvent) -> int:
    """Drop (set NULL) the stored bodies of the shop's webhooks about this customer; returns how many.

    A body is about the customer when its event names the customer (``customer_id``) or one of
    ``order_ids`` (``orders_to_redact`` and the orders the member earned on, which also catches
    their refunds). The rows stay, with topic, status and result. The redaction's own body goes
    too: it holds the customer's email and phone.

    The drain fills ``order_id``/``customer_id`` when it processes an event, so two kinds of rows
    have neither and are matched by reading their bodies (``subject``), bounded to the shop's
    topics that name someone and to bodies still stored, which the retention window
    (``WEBHOOK_BODY_RETENTION_DAYS``) keeps to the last few weeks:

    - rows the drain never read: processed before it recorded ids, or stored as ``ignored`` (an
      uninstalled shop); their bodies are parsed and matched here;
    - events still waiting to be processed: their bodies are needed (the points they carry would
      be lost without them), so the redaction waits instead: it raises ``Deferred`` and the inbox
      tries it again shortly, after those events are processed, and then drops their bodies too.
      Other ``customers/redact`` events never hold it up (two of them would wait on each other).
    """
    def about_customer(order: int | None, customer: int | None) -> bool:
        return customer == customer_id or order in order_ids

    someone = or_(WebhookEvent.topic.like("orders/%"), WebhookEvent.topic.like("customers/%"),
                  WebhookEvent.topic == "refunds/create")
    waiting = session.execute(select(WebhookEvent.topic, WebhookEvent.body).where(
        WebhookEvent.shop_id == shop.id, WebhookEvent.status.in_(_PENDING), WebhookEvent.id != event.id,
        WebhookEvent.topic != "customers/redact", WebhookEvent.body.is_not(None), someone,
    ).execution_options(yield_per=500))
    pending = sum(1 for topic, body in waiting if about_customer(*_subject_of(topic, body)))
    if pending:
        raise Deferred(f"waiting for {pending} event(s) about the customer to be processed first")

    stored = (WebhookEvent.shop_id == shop.id, WebhookEvent.body.is_not(None), WebhookEvent.status.not_in(_PENDING))
    legacy = session.execute(select(WebhookEvent.id, WebhookEvent.topic, WebhookEvent.body).where(
        *stored, WebhookEvent.order_id.is_(None), WebhookEvent.customer_id.is_(None), someone,
    ).execution_options(yield_per=500))
    matched = [row_id for row_id, topic, body in legacy if about_customer(*_subject_of(topic, body))]
    known = or_(WebhookEvent.customer_id == customer_id, WebhookEvent.order_id.in_(sorted(order_ids)),
                WebhookEvent.id.in_(matched))
    dropped = session.execute(update(WebhookEvent).where(*stored, known).values(body=None)
                              .execution_options(synchronize_session=False)).rowcount
    event.body = None
    session.flush()
    return dropped + 1


def _subject_of(topic: str, body: str) -> Subject:
    """What a stored body is about; a body that is not JSON names nobody."""
    try:
        return subject(topic, json.loads(body))
    except ValueError:
        return NOBODY


def redact_shop(session: Session, shop: Shop, event: WebhookEvent) -> str:
    """Delete everything of the shop; its inbox rows stay as a bare record of what was received.

    Shopify sends ``shop/redact`` 48 hours after an uninstall. A shop that has installed the app
    again since is a live customer of ours, so the late request deletes nothing.
    """
    if shop.active:
        return "ignored: the shop has installed the app again"
    session.execute(update(WebhookEvent).where(WebhookEvent.shop_id == shop.id)
                    .values(body=None, shop_id=None, customer_id=None))
    event.body, event.shop_id = None, None
    session.delete(shop)
    session.flush()
    return "shop deleted"
