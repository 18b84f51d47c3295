"""Shopify Flow: sending the recorded triggers, "points expiring" reminders and the "Adjust points" action.

Delivery is **at most once**. A row is claimed (``sending``) and committed before the call,
then marked ``sent`` (or ``failed``) after it. A call whose outcome is unknown (a read timeout,
a 5xx, a worker killed mid-call) is marked ``unknown`` and never sent again: Flow has no
idempotency key for triggers, so a second send would run the merchant's workflow twice (a second
email to the customer, or a second "Adjust points" run, which has its own run id and would pay
twice). A lost trigger is the smaller harm. Failures that prove Flow never got the request
(no connection, throttling) go back to ``pending`` with a backoff and are tried again.
"""
from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from .. import ledger
from ..models import FlowTrigger, LedgerEntry, Member, Shop, utcnow
from ..program import flow
from ..program.expiry import add_months
from ..shopify.errors import OutcomeUnknown, ShopifyError, ShopifyUnavailable, TokenRevoked
from .flow_outbox import record_once
from .members import enrol
from .shops import program_settings

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
"""Sends that provably never reached Flow, after which a row is failed."""
STALE_CLAIM = timedelta(minutes=10)
"""A row ``sending`` for this long belongs to a worker that died mid-call: its outcome is unknown."""

Send = Callable[[str, dict[str, Any]], None]


@dataclass(frozen=True)
class SendResult:
    sent: int
    skipped: int
    failed: int
    unknown: int
    deferred: int


def _claim(session: Session, row_id: int, now: datetime) -> FlowTrigger | None:
    """Take a pending row (``sending``); None if another worker took it first."""
    claimed = session.execute(
        update(FlowTrigger).where(FlowTrigger.id == row_id, FlowTrigger.state == "pending")
        .values(state="sending", attempts=FlowTrigger.attempts + 1, sent_at=now)
        .returning(FlowTrigger.id).execution_options(synchronize_session=False)).first()
    return session.get(FlowTrigger, row_id, populate_existing=True) if claimed else None


def _settle(row: FlowTrigger, state: str, error: str | None = None) -> None:
    row.state, row.error = state, (error or None) and error[:500]


def send_due(session: Session, shop: Shop, send: Send, now: datetime | None = None, limit: int = 500) -> SendResult:
    """Send the shop's due triggers, oldest first. Commits each claim before its call and each outcome after it."""
    now = now or utcnow()
    counts = {"sent": 0, "skipped": 0, "failed": 0, "unknown": 0, "deferred": 0}
    session.execute(update(FlowTrigger).where(  # claims of workers that died mid-call
        FlowTrigger.shop_id == shop.id, FlowTrigger.state == "sending", FlowTrigger.sent_at <= now - STALE_CLAIM,
    ).values(state="unknown", error="the worker stopped during the call").execution_options(
        synchronize_session=False))
    session.commit()
    enabled = program_settings(shop).flow_triggers
    ids = session.execute(select(FlowTrigger.id).where(
        FlowTrigger.shop_id == shop.id, FlowTrigger.state == "pending", FlowTrigger.due_at <= now,
    ).order_by(FlowTrigger.due_at, FlowTrigger.id).limit(limit)).scalars().all()
    for row_id in ids:
        row = _claim(session, row_id, now)
        if row is None:
            continue
        session.commit()  # the claim is durable before Shopify hears of it: a retried job never sends it again
        outcome = _send_one(session, shop, row, send, enabled, now)
        counts[outcome] += 1
        session.commit()
        if outcome == "deferred" and row.error == "token revoked":
            break  # every other call for this shop would fail the same way
    return SendResult(**counts)


def _send_one(session: Session, shop: Shop, row: FlowTrigger, send: Send, enabled: bool, now: datetime) -> str:
    """Send one claimed row and settle it; returns the outcome's name."""
    member = session.get(Member, row.member_id)
    detail = row.detail or {}
    if not enabled or member is None or member.redacted_at is not None:
        _settle(row, "skipped", "Flow triggers are off" if not enabled else "member gone")
        return "skipped"
    if row.trigger == flow.TIER_CHANGED and detail.get("from") == detail.get("to"):
        _settle(row, "skipped", "back to the same tier within the window")
        return "skipped"
    points = row.points
    if row.trigger == flow.POINTS_EXPIRING:
        active_since = member.last_activity_at.isoformat() if member.last_activity_at else None
        if active_since != detail.get("active_since") or member.balance <= 0:
            _settle(row, "skipped", "the member was active since: the points no longer expire then")
            return "skipped"
        points = member.balance  # the whole available balance expires
    try:
        body = flow.payload(row.trigger, flow.Standing(member.customer_id, member.balance), points, detail)
        send(flow.HANDLES[row.trigger], body)
    except OutcomeUnknown as exc:
        _settle(row, "unknown", str(exc))
        log.warning("flow trigger %s: outcome unknown, not sent again: %s", row.id, exc)
        return "unknown"
    except (ShopifyUnavailable, TokenRevoked) as exc:  # provably not run: try again later
        if row.attempts >= MAX_ATTEMPTS:
            _settle(row, "failed", str(exc))
            return "failed"
        row.state, row.error = "pending", "token revoked" if isinstance(exc, TokenRevoked) else str(exc)[:500]
        row.due_at = now + timedelta(minutes=2 ** row.attempts)
        return "deferred"
    except (ShopifyError, flow.PayloadTooLarge) as exc:  # Flow declined it: sending it again changes nothing
        _settle(row, "failed", str(exc))
        return "failed"
    _settle(row, "sent")
    row.sent_at = now
    return "sent"


def remind_expiring(session: Session, shop: Shop, now: datetime | None = None) -> int:
    """Record the "points expiring" reminders due today; returns how many are new. Caller commits.

    Points expire ``expiry_months`` after the member's last activity (program/expiry.py). Each
    reminder (30 and 7 days before, by default) is recorded once per member and expiry date:
    its window names both, so the daily job may run any number of times. New activity moves the
    expiry date, and the reminders start again for the new one.
    """
    now = now or utcnow()
    settings = program_settings(shop)
    months = settings.expiry_months
    if not settings.flow_triggers or not months or not settings.expiry_reminder_days:
        return 0
    horizon = max(settings.expiry_reminder_days)
    # expiry = last activity + months falls in (now, now + horizon]: bound the query a day wide each side
    low = add_months(now, -months) - timedelta(days=1)
    high = add_months(now + timedelta(days=horizon), -months) + timedelta(days=1)
    candidates = session.execute(select(Member.id, Member.last_activity_at, Member.balance).where(
        Member.shop_id == shop.id, Member.balance > 0, Member.redacted_at.is_(None),
        Member.last_activity_at > low, Member.last_activity_at <= high)).all()
    recorded = 0
    for member_id, last_activity, balance in candidates:
        expires_at = add_months(last_activity, months)
        days = flow.reminder_due(expires_at, now, settings.expiry_reminder_days)
        if days is None:
            continue
        left = math.ceil((expires_at - now) / timedelta(days=1))
        recorded += record_once(session, shop.id, member_id, flow.POINTS_EXPIRING,
                                f"{flow.window_key(expires_at)}:{days}d", now, points=balance,
                                detail={"expires_on": flow.expiry_date_text(expires_at), "days": left,
                                        "active_since": last_activity.isoformat()})
    return recorded


class AdjustmentRefused(ValueError):
    """An adjustment the ledger must not take (it would spend points the member does not have)."""


def adjust_points(session: Session, shop: Shop, customer_id: int, points: int, reason: str | None,
                  run_id: str, now: datetime | None = None) -> tuple[LedgerEntry, bool]:
    """The "Adjust points" Flow action: one ``adjust`` entry keyed on Flow's run id; returns (entry, created).

    Flow retries a run it got no answer for, with the same ``action_run_id``: the replay finds
    the entry and changes nothing. A customer not yet a member is enrolled. A deduction larger
    than the available balance is refused (AdjustmentRefused): like a redemption, a workflow may
    not take a member below zero. Runs under the member's lock; the caller commits.
    """
    key = f"flow:{run_id}"
    existing = ledger.find_entry(session, shop.id, key)
    if existing is not None:
        return existing, False
    member, _ = enrol(session, shop, customer_id)
    member = ledger.lock_member(session, member.id)
    existing = ledger.find_entry(session, shop.id, key)  # a concurrent retry posted while we waited
    if existing is not None:
        return existing, False
    if points < 0 and member.balance + points < 0:
        raise AdjustmentRefused(f"the member has {member.balance} points; cannot take {-points}")
    entry = ledger.post(session, member.id, amount=points, kind="adjust", key=key, source="flow", actor="flow",
                        note=(reason or "Shopify Flow")[:500], now=now)
    return entry, True
