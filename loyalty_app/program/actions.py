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


def signup_earned(topic: str, account_state: str | None, customer_created_at: datetime | None,
                  installed_at: datetime) -> bool:
    """Whether a customer webhook is the customer getting an account, which the signup bonus pays for.

    ``customers/enable`` is an account being activated: an accepted classic invite, an account made at
    checkout, or (since October 2026) a first sign-in to new customer accounts. ``customers/create`` is
    one only when the customer arrives with an account (``state`` enabled: the classic sign-up form);
    a profile made by a guest checkout, an import or the admin has none. ``customers/update`` never is.
    A customer the shop had before it installed the app never earns it, nor one whose creation
    time is unknown. See README, "Signup bonus", for the sources.
    """
    if customer_created_at is None or customer_created_at < installed_at:
        return False
    if topic == "customers/enable":
        return True
    return topic == "customers/create" and account_state == "enabled"


CREDITED_BY_THE_APP = frozenset(ACTIONS) - {"custom"}
"""Actions something in the app credits (webhooks, the widget, the review endpoint, the referral job). A
``custom`` rule has no trigger of its own: the widget never advertises it."""


def action_state(limit: ActionLimit, previous_claims: list[datetime], now: datetime) -> str:
    """What the shopper sees for an action: ``available``, ``done`` (once ever, or already this calendar year)
    or ``limit_reached`` (the rolling period's count is used up)."""
    if action_allowed(limit, previous_claims, now):
        return "available"
    return "done" if limit.kind in ("once", "per_year") else "limit_reached"


def shown_to_shopper(action: str, signed_in: bool, claimed: bool) -> bool:
    """Whether the widget lists an action: only ones that can still be credited, or were.

    The signup bonus pays for getting an account, so a signed-in shopper who never got it (a customer
    from before the app was installed) can no longer earn it and is not told they could.
    """
    if action not in CREDITED_BY_THE_APP:
        return False
    return not (action == "signup" and signed_in and not claimed)
