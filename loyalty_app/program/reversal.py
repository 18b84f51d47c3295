"""How many of an order's points a refund or cancellation takes back."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal


def reversal_target(earned: int, eligible: Decimal, refunded: Decimal, cancelled: bool) -> int:
    """Total points that should stand reversed for an order after its refunds so far.

    Computed on the cumulative refunded amount, so repeated partial refunds never drift by
    rounding and a full refund reverses exactly what was earned. A cancellation reverses the
    rest. The result never exceeds ``earned``.
    """
    if earned <= 0:
        return 0
    if cancelled or eligible <= 0:
        return earned
    if refunded <= 0:
        return 0
    share = min(Decimal("1"), refunded / eligible)
    return min(earned, int((earned * share).to_integral_value(rounding=ROUND_HALF_UP)))


def reversal_delta(earned: int, already_reversed: int, eligible: Decimal, refunded: Decimal, cancelled: bool) -> int:
    """Points to reverse now (never negative: a reversal is never undone by a later refund)."""
    return max(0, reversal_target(earned, eligible, refunded, cancelled) - already_reversed)
