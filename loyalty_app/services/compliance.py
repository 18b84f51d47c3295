"""Uninstall and the mandatory privacy topics: data request, customer redaction, shop redaction."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from ..models import DataRequest, LedgerEntry, OrderRecord, Redemption, Shop, WebhookEvent, utcnow
from .members import find_member, tier_name
from .payloads import PayloadError, parse_id


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
        }
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


def redact_customer(session: Session, shop: Shop, payload: Any, now: datetime | None = None) -> str:
    """Erase a member's personal data; the ledger stays, anonymised, so totals still balance."""
    customer_id = _customerparse_id(payload)
    member = find_member(session, shop.id, customer_id)
    order_ids = [o for o in (payload.get("orders_to_redact") or []) if isinstance(o, int)]
    session.execute(update(OrderRecord).where(OrderRecord.shop_id == shop.id, OrderRecord.order_id.in_(order_ids))
                    .values(email=None))
    if member is None:
        return "nothing to redact"
    session.execute(update(OrderRecord).where(OrderRecord.member_id == member.id).values(email=None))
    member.email = member.first_name = member.last_name = None
    member.birthday = None
    member.customer_id = -member.id  # no longer points at the person; stays unique within the shop
    member.redacted_at = now or utcnow()
    session.execute(delete(DataRequest).where(DataRequest.shop_id == shop.id,
                                              DataRequest.customer_id == customer_id))
    session.flush()
    return "redacted"


def redact_shop(session: Session, shop: Shop, event: WebhookEvent) -> str:
    """Delete everything of the shop; its inbox rows stay as a bare record of what was received."""
    session.execute(update(WebhookEvent).where(WebhookEvent.shop_id == shop.id).values(body=None, shop_id=None))
    event.body, event.shop_id = None, None
    session.delete(shop)
    session.flush()
    return "shop deleted"
