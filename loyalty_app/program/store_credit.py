"""Store credit: cashback on orders, what a refund takes back of it, and the code reward offered where credit cannot go.

Money is counted in minor units (cents) here so cashback and its reversals are exact integers
and reuse the points' reversal maths (``reversal.reversal_target``) unchanged: a refund takes
back the same share of an order's cashback as it would of its points.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from .reversal import reversal_delta

CENT = Decimal("0.01")
CODE_REWARD_KINDS = ("fixed_amount", "percentage", "free_shipping")


def to_cents(amount: Decimal) -> int:
    """Money (2 places at most) as whole cents."""
    return int((amount / CENT).to_integral_value())


def from_cents(cents: int) -> Decimal:
    """Whole cents as money with 2 places."""
    return (Decimal(cents) * CENT).quantize(CENT)


def cashback_cents(eligible: Decimal, percent: Decimal) -> int:
    """Cashback for an order: ``percent`` of its eligible amount, rounded down to the cent (never over-paid)."""
    if eligible < 0 or percent < 0:
        raise ValueError("eligible amount and percent must not be negative")
    return int((eligible * percent / 100 / CENT).to_integral_value(rounding=ROUND_FLOOR))


def cashback_reversal_cents(granted: int, already_reversed: int, eligible: Decimal, refunded: Decimal,
                            cancelled: bool) -> int:
    """Cents of an order's cashback to take back now, by the same cumulative proportions as points.

    Never more than the order granted in total, never negative.
    """
    return reversal_delta(granted, already_reversed, eligible, refunded, cancelled)


@dataclass(frozen=True)
class RewardOption:
    """A reward as the fallback choice sees it."""

    id: int
    kind: str
    cost: int
    value: Decimal
    active: bool = True


def fallback_reward(store_credit: RewardOption, rewards: Sequence[RewardOption]) -> int | None:
    """The discount-code reward to offer when store credit cannot be issued, or None if the shop has none.

    The closest match to what the shopper asked for: an amount-off code first (it is what store
    credit is worth), the nearest in value and then in cost.
    """
    codes = [r for r in rewards if r.active and r.kind in CODE_REWARD_KINDS]
    if not codes:
        return None
    best = min(codes, key=lambda r: (r.kind != "fixed_amount", abs(r.value - store_credit.value),
                                     abs(r.cost - store_credit.cost), r.id))
    return best.id
