"""Recording Shopify Flow trigger candidates, in the transaction that caused them.

Three hooks, each one line in the code that already writes the fact, so nobody else calls Flow
code: ``ledger.post`` (points earned; a birthday credit, source ``action:birthday``),
``members.update_tier`` (tier changed) and ``redemptions.activate`` (reward redeemed: the code
exists in Shopify). Nothing is recorded for a shop that has not turned ``flow_triggers`` on.
Does not commit: the row commits or rolls back with the entry that caused it.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..models import FlowTrigger, LedgerEntry, Shop, utcnow
from ..program import flow
from ..sql import insert_ignoring_conflict
from .shops import program_settings

EARNING_KINDS = frozenset({"earn", "action", "bonus"})
"""Entries that are points earned. ``adjust`` is left out on purpose: the "Adjust points" Flow action
posts adjustments, and a workflow "points earned → adjust points" must not feed itself."""
BIRTHDAY_SOURCE = "action:birthday"
KEY = ["shop_id", "member_id", "trigger", "window"]


def _enabled(session: Session, shop_id: int) -> tuple[bool, int]:
    """(whether the shop sends Flow triggers, its window in seconds)."""
    shop = session.get(Shop, shop_id)
    if shop is None:
        return False, 0
    settings = program_settings(shop)
    return settings.flow_triggers, settings.flow_window_minutes * 60


def _find(session: Session, shop_id: int, member_id: int, trigger: str, window: str) -> FlowTrigger | None:
    return session.execute(select(FlowTrigger).where(
        FlowTrigger.shop_id == shop_id, FlowTrigger.member_id == member_id, FlowTrigger.trigger == trigger,
        FlowTrigger.window == window).with_for_update()).scalar_one_or_none()


def record_windowed(session: Session, shop_id: int, member_id: int, trigger: str, moment: datetime,
                    seconds: int, *, points: int = 0, detail: dict[str, Any] | None = None) -> FlowTrigger:
    """Add a change to the member's open row of ``trigger`` for the window ``moment`` is in.

    Points add up; ``detail`` keys overwrite, except those already set that name where a change
    started (``from``). A change arriving after its window's row was sent joins the next window,
    so nothing is lost and a window still sends once. The caller holds the member's lock (it has
    just posted for them), so two changes for one member never race for the row.
    """
    start = flow.window_start(moment, seconds)
    while True:
        window = flow.window_key(start)
        if detail is None:  # points only (the common case, once per ledger entry): one upsert
            added = _add_points(session, shop_id, member_id, trigger, window, points,
                                start + timedelta(seconds=seconds))
            if added is not None:
                return added
            start += timedelta(seconds=seconds)
            continue
        row = _find(session, shop_id, member_id, trigger, window)
        if row is None:
            values = {"shop_id": shop_id, "member_id": member_id, "trigger": trigger, "window": window,
                      "points": points, "detail": detail, "state": "pending", "attempts": 0,
                      "due_at": start + timedelta(seconds=seconds), "created_at": utcnow()}
            if insert_ignoring_conflict(session, FlowTrigger, values, KEY):
                found = _find(session, shop_id, member_id, trigger, window)
                assert found is not None
                return found
            continue  # inserted by someone else meanwhile: read it again
        if row.state == "pending":
            row.points += points
            kept = {key: value for key, value in (row.detail or {}).items() if key == "from"}
            row.detail = {**(row.detail or {}), **(detail or {}), **kept}
            session.flush()
            return row
        start += timedelta(seconds=seconds)


@cache
def _upsert_points(dialect: str) -> Any:
    """INSERT … ON CONFLICT DO UPDATE adding the points while the row is pending, built once per dialect."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(FlowTrigger)
    return statement.on_conflict_do_update(
        index_elements=KEY, set_={"points": FlowTrigger.points + statement.excluded.points},
        where=FlowTrigger.state == "pending").returning(FlowTrigger)


def _add_points(session: Session, shop_id: int, member_id: int, trigger: str, window: str, points: int,
                due_at: datetime) -> FlowTrigger | None:
    """INSERT the window's row, or add ``points`` to it while it is pending; None when it was already sent."""
    values = {"shop_id": shop_id, "member_id": member_id, "trigger": trigger, "window": window, "points": points,
              "state": "pending", "attempts": 0, "due_at": due_at, "created_at": utcnow()}
    return session.scalars(_upsert_points(session.get_bind().dialect.name), values,
                           execution_options={"populate_existing": True}).first()


def record_once(session: Session, shop_id: int, member_id: int, trigger: str, window: str, due_at: datetime, *,
                points: int = 0, detail: dict[str, Any] | None = None) -> bool:
    """Record a trigger that happens once per ``window`` (a redemption, an expiry reminder); True if new."""
    values = {"shop_id": shop_id, "member_id": member_id, "trigger": trigger, "window": window, "points": points,
              "detail": detail, "state": "pending", "attempts": 0, "due_at": due_at, "created_at": utcnow()}
    return insert_ignoring_conflict(session, FlowTrigger, values, KEY)


def record_entry(session: Session, entry: LedgerEntry) -> None:
    """``ledger.post``'s hook: points earned (coalesced per window) and birthday rewards (one each)."""
    if entry.kind not in EARNING_KINDS or entry.amount <= 0:
        return
    enabled, seconds = _enabled(session, entry.shop_id)
    if not enabled:
        return
    record_windowed(session, entry.shop_id, entry.member_id, flow.POINTS_EARNED, entry.created_at, seconds,
                    points=entry.amount)
    if entry.source == BIRTHDAY_SOURCE:
        record_once(session, entry.shop_id, entry.member_id, flow.BIRTHDAY_REWARD, entry.idempotency_key[:100],
                    entry.created_at, points=entry.amount)


def record_tier_change(session: Session, shop_id: int, member_id: int, before: str | None, after: str | None,
                       promoted: bool, now: datetime) -> None:
    """``members.update_tier``'s hook: one "tier changed" per member per window, from the first tier to the last."""
    enabled, seconds = _enabled(session, shop_id)
    if enabled:
        record_windowed(session, shop_id, member_id, flow.TIER_CHANGED, now, seconds,
                        detail={"from": before, "to": after, "promoted": promoted})


def record_redemption(session: Session, shop_id: int, member_id: int, redemption_id: int, reward: str | None,
                      code: str, cost: int, now: datetime) -> None:
    """``redemptions.activate``'s hook: one "reward redeemed" per redemption, once its code exists."""
    enabled, _ = _enabled(session, shop_id)
    if enabled:
        record_once(session, shop_id, member_id, flow.REWARD_REDEEMED, f"redemption:{redemption_id}", now,
                    points=cost, detail={"reward": reward, "code": code})
