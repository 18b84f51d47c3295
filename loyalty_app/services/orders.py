"""Orders earn points; refunds and cancellations take back what that order actually earned.

Every posting is keyed on Shopify's own ids (``order:<id>``, ``refund:<id>``, ``cancel:<id>``),
so the same change delivered twice, or under another webhook id, credits nothing twice.
A refund or cancellation that arrives before the order earned is held on the order's row
and applied the moment it earns.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import ledger
from ..models import Campaign, LedgerEntry, Member, OrderRecord, OrderRefund, Shop, utcnow
from ..program.earning import OrderAmounts, best_campaign_multiplier, eligible_amount, order_points
from ..program.reversal import reversal_delta
from ..program.tiers import tier_with_key
from ..sql import insert_ignoring_conflict, transaction_cache, upsert_locked
from .members import enrol, reevaluate_member, tier_rules, update_tier
from .payloads import PayloadError, parse_datetime, parse_email, parse_id, shop_money
from .shops import program_settings


@dataclass(frozen=True)
class Customer:
    customer_id: int
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None


@dataclass(frozen=True)
class OrderFacts:
    """What the program needs from an order payload, in the shop's currency."""

    order_id: int
    customer: Customer | None
    email: str | None
    amounts: OrderAmounts
    taxes_included: bool
    placed_at: datetime | None
    test: bool


@dataclass(frozen=True)
class RefundFacts:
    refund_id: int
    order_id: int
    subtotal: Decimal
    tax: Decimal


def order_facts(payload: Any) -> OrderFacts:
    """Read an order webhook body (the bare order resource)."""
    if not isinstance(payload, dict):
        raise PayloadError("an order payload must be a JSON object")
    order_id = parse_id(payload, "id")
    line_items = payload.get("line_items") or []
    if not isinstance(line_items, list):
        raise PayloadError("line_items must be a list")
    taxes_included = bool(payload.get("taxes_included"))
    gift_cards = Decimal("0")
    included_tax = Decimal("0")
    for line in line_items:
        discounts = sum((shop_money(d, "amount_set") for d in line.get("discount_allocations") or []), Decimal("0"))
        if line.get("gift_card"):
            gift_cards += shop_money(line, "price_set") * int(line.get("quantity") or 0) - discounts
        elif taxes_included:
            included_tax += sum((shop_money(t, "price_set") for t in line.get("tax_lines") or []), Decimal("0"))
    customer_node = payload.get("customer")
    customer = None
    if isinstance(customer_node, dict) and customer_node.get("id"):
        customer = Customer(parse_id(customer_node, "id"), parse_email(customer_node.get("email")),
                            customer_node.get("first_name"), customer_node.get("last_name"))
    return OrderFacts(
        order_id=order_id,
        customer=customer,
        email=parse_email(payload.get("email") or payload.get("contact_email")),
        amounts=OrderAmounts(shop_money(payload, "subtotal_price_set"), max(gift_cards, Decimal("0")), included_tax),
        taxes_included=taxes_included,
        placed_at=parse_datetime(payload.get("processed_at") or payload.get("created_at")),
        test=bool(payload.get("test")),
    )


def refund_facts(payload: Any) -> RefundFacts:
    """Read a refund webhook body: the refunded goods, gift cards left out."""
    if not isinstance(payload, dict):
        raise PayloadError("a refund payload must be a JSON object")
    subtotal = tax = Decimal("0")
    for item in payload.get("refund_line_items") or []:
        if (item.get("line_item") or {}).get("gift_card"):
            continue
        subtotal += shop_money(item, "subtotal_set")
        tax += shop_money(item, "total_tax_set") if item.get("total_tax_set") else Decimal("0")
    return RefundFacts(parse_id(payload, "id"), parse_id(payload, "order_id"), subtotal, tax)


def _locked_order(session: Session, shop_id: int, order_id: int) -> tuple[OrderRecord, bool]:
    """The order's row, created if new, locked so its events apply one at a time; returns (row, created)."""
    return upsert_locked(session, OrderRecord, {
        "shop_id": shop_id, "order_id": order_id, "refunded_amount": Decimal("0"), "points_reversed": 0,
        "cancelled": False, "taxes_included": False, "created_at": utcnow()}, on=["shop_id", "order_id"])


def _campaign_multiplier(session: Session, shop_id: int, moment: datetime) -> Decimal:
    """The best campaign multiplier at ``moment`` (the shop's campaigns are read once per transaction)."""
    cache = transaction_cache(session)
    if ("campaigns", shop_id) not in cache:
        cache["campaigns", shop_id] = session.execute(
            select(Campaign.starts_at, Campaign.ends_at, Campaign.multiplier).where(Campaign.shop_id == shop_id)
        ).all()
    return best_campaign_multiplier([m for start, end, m in cache["campaigns", shop_id] if start <= moment < end])


def record_paid_order(session: Session, shop: Shop, payload: Any, now: datetime | None = None) -> str:
    """Earn points for a paid order webhook; returns what happened (for the inbox row and logs)."""
    return record_paid_facts(session, shop, order_facts(payload), now)


def record_paid_facts(session: Session, shop: Shop, facts: OrderFacts, now: datetime | None = None) -> str:
    """Earn points for a paid order however it reached us (webhook or reconciliation): one path, one key."""
    now = now or utcnow()
    settings = program_settings(shop)
    if facts.test and not settings.include_test_orders:
        return "ignored: test order"
    record, created = _locked_order(session, shop.id, facts.order_id)
    if record.points_earned is not None:
        return "duplicate: order already earned"
    member = None
    if facts.customer is not None:
        member, _ = enrol(session, shop, facts.customer.customer_id, email=facts.customer.email,
                          first_name=facts.customer.first_name, last_name=facts.customer.last_name)
    # Set after enrolling, so the order's row is written once with its points (no autoflush in between).
    record.eligible_amount = eligible_amount(facts.amounts)
    record.taxes_included = facts.taxes_included
    record.placed_at = facts.placed_at or now
    record.email = facts.email or (facts.customer.email if facts.customer else None)
    if member is None:
        session.flush()
        return "held: guest order" if settings.credit_guest_orders else "ignored: guest order"
    points = _earn(session, shop, record, member, now, nothing_held=created)
    return f"earned {points}"


def _earn(session: Session, shop: Shop, record: OrderRecord, member: Member, now: datetime,
          nothing_held: bool = False) -> int:
    """Post an order's points for a member, then apply anything held against the order.

    ``nothing_held``: the order's row was created by this very event, so no refund or
    cancellation can be waiting on it.
    """
    settings = program_settings(shop)
    tier = tier_with_key(tier_rules(session, shop.id), member.tier_id)
    points = order_points(
        record.eligible_amount or Decimal("0"), settings.points_per_unit,
        tier.multiplier if tier else Decimal("1"),
        _campaign_multiplier(session, shop.id, record.placed_at or now), settings.rounding,
    )
    record.member_id = member.id
    record.points_earned = points
    earn = None
    if points > 0:
        pending = settings.pending_days > 0
        earn = ledger.post(session, member.id, amount=points, kind="earn", key=f"order:{record.order_id}",
                    source=f"order:{record.order_id}", state="pending" if pending else "available",
                    available_at=now + timedelta(days=settings.pending_days) if pending else None, now=now)
    if not nothing_held:
        _settle(session, record, now, earn)
    if points > 0:  # the posting above holds the member's lock
        update_tier(session, shop, member, now, trigger=earn)
    return points


def _settle(session: Session, record: OrderRecord, now: datetime, earn: LedgerEntry | None = None) -> None:
    """Apply held refunds in arrival order, then a cancellation, against what the order earned."""
    if record.points_earned is None or record.member_id is None:
        return
    earn = earn or ledger.find_entry(session, record.shop_id, f"order:{record.order_id}")
    state = earn.state if earn is not None else "available"
    available_at = earn.available_at if earn is not None and earn.state == "pending" else None
    eligible = record.eligible_amount or Decimal("0")
    reversed_before = record.points_reversed

    def reverse(points: int, key: str, note: str) -> None:
        if points > 0:
            ledger.post(session, record.member_id, amount=-points, kind="reversal", key=key, source=f"order:{record.order_id}",
                        state=state, available_at=available_at, note=note, now=now)
            record.points_reversed += points

    held = session.execute(
        select(OrderRefund).where(OrderRefund.order_record_id == record.id, OrderRefund.applied.is_(False))
        .order_by(OrderRefund.id)
    ).scalars().all()
    for refund in held:
        refunded = refund.subtotal - (refund.tax if record.taxes_included else Decimal("0"))
        record.refunded_amount += max(Decimal("0"), refunded)
        reverse(reversal_delta(record.points_earned, record.points_reversed, eligible, record.refunded_amount, False),
                f"refund:{refund.refund_id}", f"Refund {refund.refund_id}")
        refund.applied = True
    if record.cancelled:
        reverse(reversal_delta(record.points_earned, record.points_reversed, eligible, record.refunded_amount, True),
                f"cancel:{record.order_id}", "Order cancelled")
    session.flush()
    if record.points_reversed > reversed_before:  # the basis of a promotion may be gone: re-rank at once
        reevaluate_member(session, record.shop_id, record.member_id, now, trigger=earn)


def record_refund(session: Session, shop: Shop, payload: Any, now: datetime | None = None) -> str:
    """Reverse points in proportion to the eligible amount refunded (held if the order has not earned)."""
    now = now or utcnow()
    facts = refund_facts(payload)
    record, _ = _locked_order(session, shop.id, facts.order_id)
    inserted = insert_ignoring_conflict(
        session, OrderRefund,
        {"shop_id": shop.id, "order_record_id": record.id, "refund_id": facts.refund_id, "subtotal": facts.subtotal,
         "tax": facts.tax, "applied": False, "created_at": now},
        on=["shop_id", "refund_id"],
    )
    if not inserted:
        return "duplicate: refund already recorded"
    if record.points_earned is None:
        return "held: order has not earned yet"
    before = record.points_reversed
    _settle(session, record, now)
    return f"reversed {record.points_reversed - before}"


def record_cancellation(session: Session, shop: Shop, payload: Any, now: datetime | None = None) -> str:
    """Reverse whatever an order still holds (held if the order has not earned)."""
    now = now or utcnow()
    if not isinstance(payload, dict):
        raise PayloadError("an order payload must be a JSON object")
    record, _ = _locked_order(session, shop.id, parse_id(payload, "id"))
    if record.cancelled:
        return "duplicate: order already cancelled"
    record.cancelled = True
    if record.points_earned is None:
        session.flush()
        return "held: order has not earned yet"
    before = record.points_reversed
    _settle(session, record, now)
    return f"reversed {record.points_reversed - before}"


def credit_guest_orders(session: Session, shop: Shop, member: Member, now: datetime | None = None) -> int:
    """Credit a new member for earlier guest orders placed with their email; returns points earned."""
    if not member.email or not program_settings(shop).credit_guest_orders:
        return 0
    now = now or utcnow()
    waiting = session.execute(
        select(OrderRecord.order_id).where(
            OrderRecord.shop_id == shop.id, OrderRecord.member_id.is_(None), OrderRecord.points_earned.is_(None),
            OrderRecord.eligible_amount.is_not(None), func.lower(OrderRecord.email) == member.email.lower(),
        ).order_by(OrderRecord.id)
    ).scalars().all()
    total = 0
    for order_id in waiting:
        record, _ = _locked_order(session, shop.id, order_id)
        if record.points_earned is None:
            total += _earn(session, shop, record, member, now)
    return total
