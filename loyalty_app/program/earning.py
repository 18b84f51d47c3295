"""Points earned on an order."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

_ROUNDING = {"floor": ROUND_FLOOR, "half_up": ROUND_HALF_UP, "ceil": ROUND_CEILING}


class InvalidAmount(ValueError):
    """An amount that cannot earn points (negative, or not a number)."""


@dataclass(frozen=True)
class OrderAmounts:
    """The money on an order that decides its points, all in the shop's currency.

    ``subtotal`` is Shopify's subtotal: after discounts, before shipping, taxes and tips.
    ``gift_cards`` is what of it bought gift cards (after their discounts), and
    ``included_tax`` the line tax inside it when the shop's prices include tax.
    """

    subtotal: Decimal
    gift_cards: Decimal = Decimal("0")
    included_tax: Decimal = Decimal("0")


def eligible_amount(amounts: OrderAmounts) -> Decimal:
    """The amount that earns points: goods only, never shipping, tax, tips or gift cards."""
    for name in ("subtotal", "gift_cards", "included_tax"):
        if getattr(amounts, name) < 0:
            raise InvalidAmount(f"{name} must not be negative")
    return max(Decimal("0"), amounts.subtotal - amounts.gift_cards - amounts.included_tax)


def round_points(value: Decimal, mode: str) -> int:
    """Round a fractional number of points by the shop's rounding mode."""
    try:
        rounding = _ROUNDING[mode]
    except KeyError:
        raise ValueError(f"unknown rounding mode {mode!r}") from None
    return int(value.to_integral_value(rounding=rounding))


def order_points(
    eligible: Decimal,
    points_per_unit: Decimal,
    tier_multiplier: Decimal = Decimal("1"),
    campaign_multiplier: Decimal = Decimal("1"),
    rounding: str = "floor",
) -> int:
    """points = round(eligible × rate × tier multiplier × campaign multiplier)."""
    if eligible < 0:
        raise InvalidAmount("eligible amount must not be negative")
    if points_per_unit < 0 or tier_multiplier < 0 or campaign_multiplier < 0:
        raise InvalidAmount("rates and multipliers must not be negative")
    return round_points(eligible * points_per_unit * tier_multiplier * campaign_multiplier, rounding)


def best_campaign_multiplier(active_multipliers: list[Decimal]) -> Decimal:
    """Campaigns do not stack: the most generous active one applies."""
    return max(active_multipliers, default=Decimal("1"))
