"""Shopify Flow: which triggers exist, when they are due, and what each one says (pure rules).

The payload keys here are the ``key`` of each field in the trigger's extension
(``extensions/flow-*/shopify.extension.toml``); a test holds the two together. Flow takes the
customer as the reference field ``customer_id`` (the numeric id) and every other field under
its own key (shopify.dev, Flow trigger reference).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

POINTS_EARNED = "points_earned"
REWARD_REDEEMED = "reward_redeemed"
TIER_CHANGED = "tier_changed"
POINTS_EXPIRING = "points_expiring"
BIRTHDAY_REWARD = "birthday_reward"

HANDLES = {
    POINTS_EARNED: "loyalty-points-earned",
    REWARD_REDEEMED: "loyalty-reward-redeemed",
    TIER_CHANGED: "loyalty-tier-changed",
    POINTS_EXPIRING: "loyalty-points-expiring",
    BIRTHDAY_REWARD: "loyalty-birthday-reward",
}
"""Trigger → the handle of its extension (at most 30 characters, letters, digits and hyphens)."""

MAX_PAYLOAD_BYTES = 50_000
"""Flow refuses a trigger payload of 50 KB or more (shopify.dev, Flow trigger reference); ours are < 1 KB."""
MAX_TEXT = 255
"""Longest text we put in a payload field (reward and tier names are far shorter)."""


class PayloadTooLarge(ValueError):
    """A payload Flow would refuse for its size."""


def window_start(moment: datetime, seconds: int) -> datetime:
    """The start of the fixed window of ``seconds`` that ``moment`` falls in (windows start at the epoch)."""
    epoch = int(moment.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=moment.tzinfo)


def window_key(start: datetime) -> str:
    """A window's name in the outbox: its start, to the second, in UTC."""
    return start.strftime("%Y-%m-%dT%H:%M:%SZ")


def reminder_due(expires_at: datetime, now: datetime, reminder_days: tuple[int, ...]) -> int | None:
    """Which "points expiring" reminder is due now for points expiring at ``expires_at``, if any.

    The nearest reminder whose moment has passed: with reminders at 30 and 7 days, the 30-day
    one from 30 days before until 7 days before, then the 7-day one. A job that first looks 5
    days before expiry sends only the 7-day reminder, never a stale 30-day one as well.
    """
    if expires_at <= now:
        return None
    left = expires_at - now
    due = [days for days in reminder_days if left <= timedelta(days=days)]
    return min(due) if due else None


@dataclass(frozen=True)
class Standing:
    """What every trigger tells about the member when it is sent."""

    customer_id: int
    balance: int


def _text(value: str | None) -> str:
    return (value or "")[:MAX_TEXT]


def payload(trigger: str, standing: Standing, points: int, detail: dict[str, Any] | None) -> dict[str, Any]:
    """The ``payload`` of ``flowTriggerReceive`` for one outbox row; raises PayloadTooLarge past Flow's limit."""
    detail = detail or {}
    body: dict[str, Any] = {"customer_id": standing.customer_id}
    if trigger == POINTS_EARNED:
        body |= {"Points earned": points, "Points balance": standing.balance}
    elif trigger == BIRTHDAY_REWARD:
        body |= {"Birthday points": points, "Points balance": standing.balance}
    elif trigger == REWARD_REDEEMED:
        body |= {"Reward name": _text(detail.get("reward")), "Points spent": points,
                 "Discount code": _text(detail.get("code")), "Points balance": standing.balance}
    elif trigger == TIER_CHANGED:
        body |= {"Previous tier": _text(detail.get("from")), "New tier": _text(detail.get("to")),
                 "Promoted": bool(detail.get("promoted")), "Points balance": standing.balance}
    elif trigger == POINTS_EXPIRING:
        body |= {"Points expiring": points, "Expiry date": str(detail.get("expires_on", "")),
                 "Days left": int(detail.get("days", 0)), "Points balance": standing.balance}
    else:
        raise ValueError(f"unknown Flow trigger {trigger!r}")
    if len(json.dumps(body).encode()) >= MAX_PAYLOAD_BYTES:
        raise PayloadTooLarge(f"{trigger} payload is over {MAX_PAYLOAD_BYTES} bytes")
    return body


def expiry_date_text(moment: datetime) -> str:
    """The expiry moment as the date a merchant's email shows (ISO 8601, UTC)."""
    return date(moment.year, moment.month, moment.day).isoformat()
