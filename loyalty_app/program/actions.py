"""Points for things other than orders, each within its limit."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

ACTIONS = ("signup", "birthday", "referral", "product_review", "social_follow", "newsletter", "custom")
LIMITS = ("once", "per_year", "per_period", "unlimited")


@dataclass(frozen=True)
class ActionLimit:
    """How often an action earns: once ever, once a calendar year, or ``count`` per ``period_days``."""

    kind: str = "once"
    count: int = 1
    period_days: int = 365


def action_allowed(limit: ActionLimit, previous_claims: list[datetime], now: datetime) -> bool:
    """Whether one more claim at ``now`` stays within the limit."""
    if limit.kind == "unlimited":
        return True
    if limit.kind == "once":
        return not previous_claims
    if limit.kind == "per_year":
        return not any(claim.year == now.year for claim in previous_claims)
    if limit.kind == "per_period":
        since = now - timedelta(days=limit.period_days)
        return sum(1 for claim in previous_claims if claim > since) < limit.count
    raise ValueError(f"unknown action limit {limit.kind!r}")


def action_bucket(limit: ActionLimit, now: datetime) -> str | None:
    """A stable idempotency suffix for limits that have one (None: the caller must supply a key)."""
    if limit.kind == "once":
        return "once"
    if limit.kind == "per_year":
        return str(now.year)
    return None
