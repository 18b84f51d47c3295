"""Why an order has the points it has: every webhook received for it and every entry posted, with their reasons.

Read-only: nothing here writes, so there is no transaction to own.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import LedgerEntry, Member, OrderLine, OrderRecord, OrderRefund, Shop, StoreCreditGrant, WebhookEvent


@dataclass
class OrderExplanation:
    """One order's story, oldest first."""

    order_id: int
    webhooks: list[WebhookEvent] = field(default_factory=list)
    record: OrderRecord | None = None
    member: Member | None = None
    lines: list[OrderLine] = field(default_factory=list)
    refunds: list[OrderRefund] = field(default_factory=list)
    entries: list[LedgerEntry] = field(default_factory=list)
    store_credit: list[StoreCreditGrant] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        """In one line: what the order earned, or why it earned nothing."""
        record = self.record
        if record is None:
            outcomes = [event.result or event.error or event.status for event in self.webhooks]
            return f"never earned: {outcomes[-1]}" if outcomes else "unknown: no webhook or entry for this order"
        if record.points_earned is None:
            reasons = [event.result for event in self.webhooks
                       if event.result and event.result.startswith(("ignored", "held"))]
            if reasons:
                return f"earned nothing: {reasons[-1]}"
            return "earned nothing: guest order" if record.member_id is None else "earned nothing yet"
        net = record.points_earned - record.points_reversed
        return (f"earned {record.points_earned}, reversed {record.points_reversed}, stands at {net}"
                + (" (cancelled)" if record.cancelled else ""))

    def lines_of_text(self) -> list[str]:
        """The explanation as the CLI prints it."""
        out = [f"order {self.order_id}: {self.verdict}"]
        record = self.record
        if record is not None:
            who = f"customer {self.member.customer_id}" if self.member else "guest (no customer)"
            out.append(f"  {who}; eligible {record.eligible_amount}, refunded eligible {record.refunded_amount}, "
                       f"rate {record.points_rate} points per unit")
            for line in self.lines:
                out.append(f"  line {line.line_item_id}: quantity {line.quantity}, eligible {line.eligible}")
            for refund in self.refunds:
                out.append(f"  refund {refund.refund_id}: " + (f"took {refund.eligible} of the eligible amount"
                                                              if refund.applied else "held until the order earns"))
        out.append("webhooks:")
        if not self.webhooks:
            out.append("  none recorded for this order")
        for event in self.webhooks:
            outcome = event.result or event.error or ""
            out.append(f"  {event.received_at:%Y-%m-%d %H:%M:%S} {event.topic} [{event.webhook_id}] "
                       f"{event.status}: {outcome}")
        out.append("entries:")
        if not self.entries:
            out.append("  none")
        for entry in self.entries:
            state = f"{entry.state} until {entry.available_at:%Y-%m-%d}" if entry.state == "pending" \
                and entry.available_at else entry.state
            out.append(f"  #{entry.id} {entry.created_at:%Y-%m-%d %H:%M:%S} {entry.kind} {entry.amount:+d} "
                       f"[{entry.idempotency_key}] {state}" + (f" — {entry.note}" if entry.note else ""))
            for key, value in (entry.detail or {}).items():
                out.append(f"      {key}: {value}")
        if self.store_credit:  # cashback mode: the order earned store credit instead of points
            out.append("store credit:")
            for grant in self.store_credit:
                sign = "-" if grant.kind == "cashback_reversal" else "+"
                out.append(f"  #{grant.id} {grant.created_at:%Y-%m-%d %H:%M:%S} {grant.kind} {sign}{grant.amount} "
                           f"{grant.currency} [{grant.key}] {grant.state}"
                           + (f" {grant.transaction_id}" if grant.transaction_id else "")
                           + (f" — {grant.error}" if grant.error else ""))
        return out


def explain_order(session: Session, shop: Shop, order_id: int) -> OrderExplanation:
    """Gather what we received and posted for one order of a shop."""
    explanation = OrderExplanation(order_id)
    explanation.webhooks = list(session.execute(
        select(WebhookEvent).where(WebhookEvent.shop_id == shop.id, WebhookEvent.order_id == order_id)
        .order_by(WebhookEvent.id)).scalars())
    record = session.execute(select(OrderRecord).where(OrderRecord.shop_id == shop.id,
                                                        OrderRecord.order_id == order_id)).scalar_one_or_none()
    explanation.record = record
    if record is not None:
        explanation.member = session.get(Member, record.member_id) if record.member_id else None
        explanation.lines = list(session.execute(select(OrderLine).where(OrderLine.order_record_id == record.id)
                                                 .order_by(OrderLine.id)).scalars())
        explanation.refunds = list(session.execute(select(OrderRefund).where(OrderRefund.order_record_id == record.id)
                                                   .order_by(OrderRefund.id)).scalars())
    explanation.entries = list(session.execute(
        select(LedgerEntry).where(LedgerEntry.shop_id == shop.id, LedgerEntry.source == f"order:{order_id}")
        .order_by(LedgerEntry.id)).scalars())
    explanation.store_credit = list(session.execute(
        select(StoreCreditGrant).where(StoreCreditGrant.shop_id == shop.id, StoreCreditGrant.order_id == order_id)
        .order_by(StoreCreditGrant.id)).scalars())
    return explanation
