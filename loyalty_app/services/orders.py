"""Orders earn points; refunds, cancellations and edits move them the way Shopify's data means it.

Every posting is keyed on Shopify's own ids (``order:<id>``, ``refund:<id>``, ``cancel:<id>``,
``edit:<id>:<updated_at>``), so the same change delivered twice, or under another webhook id,
credits nothing twice. A refund or cancellation that arrives before the order earned is held
on the order's row and applied the moment it earns. Every entry records in ``detail`` what
produced it, for ``loyalty explain``.

No function here commits: the caller (the inbox, reconciliation, the CLI) owns the transaction.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import ledger
from ..models import Campaign, LedgerEntry, Member, OrderLine, OrderRecord, OrderRefund, Shop, utcnow
from ..program.earning import best_campaign_multiplier, eligible_amount, round_points
from ..program.orders import ZERO, OrderBasis, OrderFacts, RefundFacts, edited_lines, refunded_eligible
from ..program.reversal import reversal_delta
from ..program.tiers import tier_with_key
from ..sql import insert_ignoring_conflict, transaction_cache, upsert_locked
from .members import enrol, reevaluate_member, tier_rules, update_tier
from .payloads import order_facts, refund_facts
from .shops import program_settings

MONEY_PRECISION = Decimal("0.0001")
"""Refunded eligible amounts are kept to the precision of the order's money columns."""


def _locked_order(session: Session, shop_id: int, order_id: int) -> tuple[OrderRecord, bool]:
    """The order's row, created if new, locked so its events apply one at a time; returns (row, created)."""
    return upsert_locked(session, OrderRecord, {
        "shop_id": shop_id, "order_id": order_id, "refunded_amount": Decimal("0"), "points_reversed": 0,
        "cancelled": False, "taxes_included": False, "created_at": utcnow()}, on=["shop_id", "order_id"])


def active_campaign_multiplier(session: Session, shop_id: int, moment: datetime) -> Decimal:
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
    """Earn points for a paid order however it reached us (webhook or reconciliation): one path, one key.

    The order earns on Shopify's subtotal; its goods lines are kept as they stand in this payload,
    the baseline later edits are measured against.
    """
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
    record.total_amount = facts.total
    record.presentment_total = facts.presentment_total
    record.taxes_included = facts.taxes_included
    record.placed_at = facts.placed_at or now
    record.email = facts.email or (facts.customer.email if facts.customer else None)
    record.source_updated_at = facts.updated_at
    if created or not _has_lines(session, record):
        session.add_all(OrderLine(order_record_id=record.id, line_item_id=line_id, quantity=quantity, eligible=eligible)
                        for line_id, (quantity, eligible) in edited_lines(facts).items())
    if member is None:
        session.flush()
        return "held: guest order" if settings.credit_guest_orders else "ignored: guest order"
    if member.excluded:
        session.flush()
        return "ignored: member excluded from the program"
    # Linked even when it earns nothing, so analytics counts a member's small order as a member's, not a guest's.
    record.member_id = member.id
    if record.eligible_amount < settings.minimum_order_amount:
        session.flush()
        return f"ignored: below the minimum of {settings.minimum_order_amount}"
    return f"earned {_earn(session, shop, record, member, now, nothing_held=created)}"


def _has_lines(session: Session, record: OrderRecord) -> bool:
    return session.execute(select(OrderLine.id).where(OrderLine.order_record_id == record.id).limit(1)).first() \
        is not None


def _earn(session: Session, shop: Shop, record: OrderRecord, member: Member, now: datetime,
          nothing_held: bool = False) -> int:
    """Post an order's points for a member, then apply anything held against the order.

    ``nothing_held``: the order's row was created by this very event, so no refund or
    cancellation can be waiting on it.
    """
    settings = program_settings(shop)
    tier = tier_with_key(tier_rules(session, shop.id), member.tier_id)
    tier_multiplier = tier.multiplier if tier else Decimal("1")
    campaign_multiplier = active_campaign_multiplier(session, shop.id, record.placed_at or now)
    eligible = record.eligible_amount or ZERO
    record.points_rate = settings.points_per_unit * tier_multiplier * campaign_multiplier
    points = round_points(eligible * record.points_rate, settings.rounding)
    record.member_id = member.id
    record.points_earned = points
    earn = None
    if points > 0:
        pending = settings.pending_days > 0
        detail = {"program_version": shop.program_version, "eligible": str(eligible),
                  "points_per_unit": str(settings.points_per_unit), "tier": tier.name if tier else None,
                  "tier_multiplier": str(tier_multiplier), "campaign_multiplier": str(campaign_multiplier),
                  "rounding": settings.rounding,
                  "formula": f"{settings.rounding}({eligible} × {settings.points_per_unit} × {tier_multiplier}"
                             f" × {campaign_multiplier}) = {points}"}
        earn = ledger.post(session, member.id, amount=points, kind="earn", key=f"order:{record.order_id}",
                           source=f"order:{record.order_id}", state="pending" if pending else "available",
                           available_at=now + timedelta(days=settings.pending_days) if pending else None, now=now,
                           detail=detail)
    if not nothing_held:
        _settle(session, shop, record, now, earn)
    if points > 0:  # the posting above holds the member's lock
        update_tier(session, shop, member, now, trigger=earn)
    return points


def _earn_entry(session: Session, record: OrderRecord) -> LedgerEntry | None:
    """The order's own earn entry (none when it earned 0 points)."""
    return ledger.find_entry(session, record.shop_id, f"order:{record.order_id}")


def _basis(session: Session, shop: Shop, record: OrderRecord) -> OrderBasis:
    lines = session.execute(select(OrderLine.line_item_id, OrderLine.quantity, OrderLine.eligible)
                            .where(OrderLine.order_record_id == record.id)).all()
    return OrderBasis(record.eligible_amount or ZERO, record.total_amount, record.presentment_total, shop.currency,
                      record.taxes_included, {line_id: (quantity, eligible) for line_id, quantity, eligible in lines})


def _settle(session: Session, shop: Shop, record: OrderRecord, now: datetime, earn: LedgerEntry | None = None) -> None:
    """Apply held refunds in arrival order, then a cancellation, against what the order earned."""
    if record.points_earned is None or record.member_id is None:
        return
    earn = earn or _earn_entry(session, record)
    state, available_at = ledger.same_state_as(earn)
    eligible = record.eligible_amount or ZERO
    reverse_on = program_settings(shop).reverse_on
    reversed_before = record.points_reversed

    def reverse(points: int, key: str, note: str, detail: dict[str, Any]) -> None:
        if points > 0:
            ledger.post(session, record.member_id, amount=-points, kind="reversal", key=key,  # type: ignore[arg-type]
                        source=f"order:{record.order_id}", state=state, available_at=available_at, note=note,
                        now=now, detail={"program_version": shop.program_version, "order_eligible": str(eligible),
                                         "order_points": record.points_earned, **detail})
            record.points_reversed += points

    held = session.execute(
        select(OrderRefund).where(OrderRefund.order_record_id == record.id, OrderRefund.applied.is_(False))
        .order_by(OrderRefund.id)
    ).scalars().all()
    basis = _basis(session, shop, record) if held else None
    for refund in held:
        facts = RefundFacts.from_json(refund.refund_id, record.order_id, refund.facts) if refund.facts is not None \
            else RefundFacts(refund.refund_id, record.order_id)  # a row stored before refunds kept their facts
        refund.eligible = (refunded_eligible(facts, basis, reverse_on) if refund.facts is not None else  # type: ignore[arg-type]
                           max(ZERO, refund.subtotal - (refund.tax if record.taxes_included else ZERO))).quantize(MONEY_PRECISION)
        record.refunded_amount += refund.eligible
        reverse(reversal_delta(record.points_earned, record.points_reversed, eligible, record.refunded_amount, False),
                f"refund:{refund.refund_id}", f"Refund {refund.refund_id}",
                {"refunded_eligible": str(refund.eligible), "refunded_so_far": str(record.refunded_amount),
                 "reverse_on": reverse_on})
        refund.applied = True
    if record.cancelled:
        reverse(reversal_delta(record.points_earned, record.points_reversed, eligible, record.refunded_amount, True),
                f"cancel:{record.order_id}", "Order cancelled", {"cancelled": True})
    session.flush()
    if record.points_reversed > reversed_before:  # the basis of a promotion may be gone: re-rank at once
        reevaluate_member(session, shop, record.member_id, now, trigger=earn)


def record_refund(session: Session, shop: Shop, payload: Any, now: datetime | None = None) -> str:
    """Reverse points for the eligible money a refund took away (held if the order has not earned)."""
    return record_refund_facts(session, shop, refund_facts(payload), now)


def record_refund_facts(session: Session, shop: Shop, facts: RefundFacts, now: datetime | None = None) -> str:
    """Record a refund however it reached us (webhook or reconciliation): one path, one key."""
    now = now or utcnow()
    record, _ = _locked_order(session, shop.id, facts.order_id)
    goods = [line for line in facts.lines if line.kind == "goods"]
    inserted = insert_ignoring_conflict(
        session, OrderRefund,
        {"shop_id": shop.id, "order_record_id": record.id, "refund_id": facts.refund_id,
         "subtotal": sum((line.subtotal for line in goods), ZERO), "tax": sum((line.tax for line in goods), ZERO),
         "facts": facts.to_json(), "applied": False, "created_at": now},
        on=["shop_id", "refund_id"],
    )
    if not inserted:
        return "duplicate: refund already recorded"
    if record.points_earned is None:
        return "held: order has not earned yet"
    before = record.points_reversed
    _settle(session, shop, record, now)
    return f"reversed {record.points_reversed - before}"


def record_cancellation(session: Session, shop: Shop, payload: Any, now: datetime | None = None) -> str:
    """Reverse whatever an order still holds (held if the order has not earned)."""
    return cancel_order(session, shop, order_facts(payload).order_id, now)


def cancel_order(session: Session, shop: Shop, order_id: int, now: datetime | None = None) -> str:
    """Mark an order cancelled and reverse what it still holds: the webhook's and reconciliation's path."""
    now = now or utcnow()
    record, _ = _locked_order(session, shop.id, order_id)
    if record.cancelled:
        return "duplicate: order already cancelled"
    record.cancelled = True
    if record.points_earned is None:
        session.flush()
        return "held: order has not earned yet"
    before = record.points_reversed
    _settle(session, shop, record, now)
    return f"reversed {record.points_reversed - before}"


def record_order_edit(session: Session, shop: Shop, facts: OrderFacts, now: datetime | None = None) -> str:
    """Earn or reverse what an edit of an earned order added or removed (``orders/updated``).

    An update older than the newest one applied changes nothing, and so does a replay, so
    deliveries in any order end at the same points.
    """
    now = now or utcnow()
    record = session.execute(
        select(OrderRecord).where(OrderRecord.shop_id == shop.id, OrderRecord.order_id == facts.order_id)
        .with_for_update()
    ).scalar_one_or_none()
    if record is None or record.points_earned is None or record.member_id is None:
        return "no change: order has not earned"
    if record.cancelled:
        return "no change: order cancelled"
    if facts.updated_at is None:
        return "no change: update without updated_at"
    if record.source_updated_at is not None and facts.updated_at <= record.source_updated_at:  # type: ignore[operator]
        return "no change: an update at least as new was applied"
    record.source_updated_at = facts.updated_at
    stored = {line.line_item_id: line for line in session.execute(
        select(OrderLine).where(OrderLine.order_record_id == record.id)).scalars()}
    delta = ZERO
    for line_id, (quantity, eligible) in edited_lines(facts).items():
        line = stored.get(line_id)
        if line is None:
            session.add(OrderLine(order_record_id=record.id, line_item_id=line_id, quantity=quantity,
                                  eligible=eligible))
            delta += eligible
        elif line.quantity != quantity:
            delta += eligible - line.eligible
            line.quantity, line.eligible = quantity, eligible
    if delta == 0:
        session.flush()
        return "no change: no lines added or removed"
    settings = program_settings(shop)
    before_eligible, before_points = record.eligible_amount or ZERO, record.points_earned or 0
    record.eligible_amount = max(ZERO, before_eligible + delta)
    rate = record.points_rate if record.points_rate is not None else settings.points_per_unit
    points = round_points(record.eligible_amount * rate, settings.rounding)
    change = points - before_points
    record.points_earned = points
    if change:
        state, available_at = ledger.same_state_as(_earn_entry(session, record))
        entry = ledger.post(session, record.member_id, amount=change,  # type: ignore[arg-type]
                            kind="earn" if change > 0 else "reversal",
                            key=f"edit:{record.order_id}:{facts.updated_at.isoformat()}",  # type: ignore[union-attr]
                            source=f"order:{record.order_id}", state=state, available_at=available_at,
                            note="Order edited", now=now,
                            detail={"program_version": shop.program_version, "eligible_before": str(before_eligible),
                                    "eligible_after": str(record.eligible_amount), "rate": str(rate),
                                    "rounding": settings.rounding, "points_before": before_points, "points_after": points})
        if change > 0:
            update_tier(session, shop, ledger.lock_member(session, record.member_id), now,  # type: ignore[arg-type]
                        trigger=entry)
        else:  # items removed may take away the basis of a promotion
            reevaluate_member(session, shop, record.member_id, now, trigger=entry)  # type: ignore[arg-type]
    session.flush()
    return f"edited: {'+' if change >= 0 else ''}{change} points"


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
