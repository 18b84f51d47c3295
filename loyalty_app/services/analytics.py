"""Analytics: what the program issued, what it costs and how members buy, from our own tables.

Every figure is one set-based query over a shop's rows in a window of whole UTC days, the same
SQL on PostgreSQL and SQLite. Reads only.

Definitions (so each number can be checked by hand):

- points issued: ``earn``, ``action`` and ``bonus`` entries; reversed: ``reversal`` entries
  (refunds, cancellations, edits that removed items); adjusted: the net of manual adjustments
  and imports; redeemed: ``redeem`` entries net of ``release`` (points given back for a code that
  could not be made or expired unused); expired: ``expire`` entries. All as positive numbers
  except adjusted, which keeps its sign.
- outstanding: the points (available and pending) members not since erased held at the end of
  the window; the liability is that at the point value (the program's ``point_value`` setting,
  else the best money-per-point of the active fixed-amount rewards, else unknown).
- redemption rate: points redeemed ÷ points issued in the window.
- an order counts when it was paid (recorded with its money), placed in the window and not
  cancelled; its value is Shopify's total price (the subtotal when the total is missing). A
  member's order is one linked to a member; every other order (guests, excluded members) is a
  non-member's. A buyer is the member, else the order's email, else the order alone; the
  repeat-purchase rate is the share of buyers with two or more orders in the window.
- loyalty-code revenue: the value of counted orders that used one of our redemption codes,
  matched by the order id the code was marked used by (``redemptions.order_id``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, case, cast, func, select
from sqlalchemy.orm import Session

from ..ledger import ACTIVITY_KINDS, EARN_KINDS
from ..models import LedgerEntry, Member, OrderRecord, Redemption, Reward, Shop, Tier
from .shops import program_settings

DEFAULT_DAYS = 30
MAX_DAYS = 366
ZERO = Decimal("0")
POINT_VALUE_PLACES = Decimal("0.0001")


@dataclass(frozen=True)
class Window:
    """Whole UTC days from ``since`` to ``until``, both included."""

    since: date
    until: date

    @property
    def start(self) -> datetime:
        return datetime.combine(self.since, time(), timezone.utc)

    @property
    def end(self) -> datetime:
        """The first moment after the window."""
        return datetime.combine(self.until + timedelta(days=1), time(), timezone.utc)

    @property
    def days(self) -> list[date]:
        return [self.since + timedelta(days=n) for n in range((self.until - self.since).days + 1)]

    @classmethod
    def last_days(cls, today: date, days: int = DEFAULT_DAYS) -> Window:
        """The ``days`` days that end today."""
        return cls(today - timedelta(days=days - 1), today)


@dataclass(frozen=True)
class Buyers:
    """Orders of one group of buyers (members or non-members) in the window."""

    orders: int = 0
    revenue: Decimal = ZERO
    buyers: int = 0
    repeat_buyers: int = 0

    @property
    def average_order_value(self) -> Decimal | None:
        return _ratio(self.revenue, self.orders, Decimal("0.01"))

    @property
    def repeat_purchase_rate(self) -> Decimal | None:
        return _ratio(Decimal(self.repeat_buyers), self.buyers, Decimal("0.0001"))


@dataclass(frozen=True)
class Day:
    """One day of the chart's series."""

    day: date
    points_issued: int = 0
    points_redeemed: int = 0
    member_orders: int = 0
    member_revenue: Decimal = ZERO
    non_member_orders: int = 0
    non_member_revenue: Decimal = ZERO

    @property
    def member_aov(self) -> Decimal | None:
        return _ratio(self.member_revenue, self.member_orders, Decimal("0.01"))

    @property
    def non_member_aov(self) -> Decimal | None:
        return _ratio(self.non_member_revenue, self.non_member_orders, Decimal("0.01"))


@dataclass(frozen=True)
class TierCount:
    """How many members hold a tier now (``tier_id`` None: no tier)."""

    tier_id: int | None
    name: str | None
    members: int


@dataclass(frozen=True)
class Analytics:
    """The figures of one shop over one window."""

    window: Window
    currency: str
    members_total: int
    members_enrolled: int
    members_active: int
    points_issued: int
    points_reversed: int
    points_adjusted: int
    points_redeemed: int
    points_expired: int
    points_outstanding: int
    point_value: Decimal | None
    point_value_basis: str  # setting | rewards | none
    members: Buyers
    non_members: Buyers
    loyalty_code_orders: int
    loyalty_code_revenue: Decimal
    tiers: list[TierCount] = field(default_factory=list)
    days: list[Day] = field(default_factory=list)

    @property
    def since(self) -> date:
        return self.window.since

    @property
    def until(self) -> date:
        return self.window.until

    @property
    def liability(self) -> Decimal | None:
        """The outstanding points in the shop's currency, at the point value (None when it is unknown)."""
        if self.point_value is None:
            return None
        return (self.point_value * self.points_outstanding).quantize(Decimal("0.01"))

    @property
    def redemption_rate(self) -> Decimal | None:
        return _ratio(Decimal(self.points_redeemed), self.points_issued, Decimal("0.0001"))


def _ratio(numerator: Decimal, denominator: int, places: Decimal) -> Decimal | None:
    return (numerator / denominator).quantize(places) if denominator else None


def _day(session: Session, column: Any) -> Any:
    """The UTC calendar day of a timestamp column, on either backend (SQLite stores UTC as naive text)."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone("UTC", column), Date)
    return func.date(column)


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def point_value(session: Session, shop: Shop) -> tuple[Decimal | None, str]:
    """Money per point and its basis: the program's setting, else the active fixed-amount rewards.

    Of several rewards the best value per point is taken: the most a point can be worth, so the
    liability is never understated.
    """
    configured = program_settings(shop).point_value
    if configured is not None:
        return configured, "setting"
    rates = [value / cost for value, cost in session.execute(
        select(Reward.value, Reward.cost).where(Reward.shop_id == shop.id, Reward.active.is_(True),
                                                Reward.kind == "fixed_amount", Reward.cost > 0, Reward.value > 0))]
    if not rates:
        return None, "none"
    return max(rates).quantize(POINT_VALUE_PLACES), "rewards"


def analytics(session: Session, shop: Shop, window: Window) -> Analytics:
    """Every figure of the analytics page for ``shop`` over ``window``; reads only."""
    days = {day: dict(points_issued=0, points_redeemed=0, member_orders=0, member_revenue=ZERO,
                      non_member_orders=0, non_member_revenue=ZERO) for day in window.days}
    ledger_totals = _ledger(session, shop, window, days)
    members, non_members, code_orders, code_revenue = _orders(session, shop, window, days)
    tiers, members_total, enrolled, outstanding_now = _members(session, shop, window)
    value, basis = point_value(session, shop)
    return Analytics(
        window=window, currency=shop.currency, members_total=members_total, members_enrolled=enrolled,
        members_active=_active_members(session, shop, window),
        points_outstanding=outstanding_now - _posted_since(session, shop, window.end),
        point_value=value, point_value_basis=basis, members=members, non_members=non_members,
        loyalty_code_orders=code_orders, loyalty_code_revenue=code_revenue, tiers=tiers,
        days=[Day(day, **figures) for day, figures in days.items()], **ledger_totals)


def _ledger(session: Session, shop: Shop, window: Window, days: dict[date, dict[str, Any]]) -> dict[str, int]:
    """Points issued, reversed, adjusted, redeemed and expired in the window, in total and per day.

    One pass over the shop's entries of the window (an index-only scan on PostgreSQL), summed by
    day and kind; the kinds are put into figures here.
    """
    day = _day(session, LedgerEntry.created_at).label("day")
    rows = session.execute(
        select(day, LedgerEntry.kind, func.sum(LedgerEntry.amount))
        .where(LedgerEntry.shop_id == shop.id, LedgerEntry.created_at >= window.start,
               LedgerEntry.created_at < window.end)
        .group_by(day, LedgerEntry.kind)).all()
    totals = dict(points_issued=0, points_reversed=0, points_adjusted=0, points_redeemed=0, points_expired=0)
    for when, kind, amount in rows:
        figures, amount = days[_as_date(when)], int(amount)
        if kind in EARN_KINDS:
            figures["points_issued"] += amount
            totals["points_issued"] += amount
        elif kind in ("redeem", "release"):
            figures["points_redeemed"] -= amount
            totals["points_redeemed"] -= amount
        elif kind == "reversal":
            totals["points_reversed"] -= amount
        elif kind == "expire":
            totals["points_expired"] -= amount
        elif kind == "adjust":
            totals["points_adjusted"] += amount
    return totals


def _active_members(session: Session, shop: Shop, window: Window) -> int:
    """Members who earned, completed an action, got a bonus or redeemed in the window."""
    return session.execute(
        select(func.count(func.distinct(LedgerEntry.member_id)))
        .where(LedgerEntry.shop_id == shop.id, LedgerEntry.created_at >= window.start,
               LedgerEntry.created_at < window.end, LedgerEntry.kind.in_(sorted(ACTIVITY_KINDS)))).scalar_one()


def _posted_since(session: Session, shop: Shop, moment: datetime) -> int:
    """Points posted from ``moment`` on to members not erased: today's outstanding less these is the window's.

    A window that ends today reads no rows here; an older one reads only what came after it.
    """
    return int(session.execute(
        select(func.coalesce(func.sum(LedgerEntry.amount), 0))
        .join(Member, Member.id == LedgerEntry.member_id)
        .where(LedgerEntry.shop_id == shop.id, LedgerEntry.created_at >= moment, Member.redacted_at.is_(None))
    ).scalar_one())


def _members(session: Session, shop: Shop, window: Window) -> tuple[list[TierCount], int, int, int]:
    """(members per tier now, members now, members enrolled in the window, points outstanding now).

    Members erased at their request are left out, as Home leaves them out.
    """
    enrolled = (Member.created_at >= window.start) & (Member.created_at < window.end)
    rows = session.execute(
        select(Member.tier_id, func.count(Member.id), func.coalesce(func.sum(case((enrolled, 1), else_=0)), 0),
               func.coalesce(func.sum(Member.balance + Member.pending), 0))
        .where(Member.shop_id == shop.id, Member.redacted_at.is_(None))
        .group_by(Member.tier_id)).all()
    names = dict(session.execute(select(Tier.id, Tier.name).where(Tier.shop_id == shop.id)
                                 .order_by(Tier.threshold)).all())
    counts = {tier_id: int(count) for tier_id, count, _, _ in rows}
    tiers = [TierCount(None, None, counts.get(None, 0))] + [
        TierCount(tier_id, name, counts.get(tier_id, 0)) for tier_id, name in names.items()]
    return (tiers, sum(counts.values()), sum(int(new) for _, _, new, _ in rows),
            sum(int(points) for _, _, _, points in rows))


def _counted_orders(shop: Shop, window: Window) -> list[Any]:
    """The conditions of an order that counts: paid (recorded with its money), in the window, not cancelled."""
    return [OrderRecord.shop_id == shop.id, OrderRecord.placed_at >= window.start,
            OrderRecord.placed_at < window.end, OrderRecord.cancelled.is_(False),
            OrderRecord.eligible_amount.is_not(None)]


def _order_value() -> Any:
    return func.coalesce(OrderRecord.total_amount, OrderRecord.eligible_amount)


def _orders(session: Session, shop: Shop, window: Window, days: dict[date, dict[str, Any]]
            ) -> tuple[Buyers, Buyers, int, Decimal]:
    """Orders, revenue and repeat buyers of members and of non-members, in total and per day; and the
    (orders, revenue) of those that used one of our codes, each order once however many it used."""
    is_member = OrderRecord.member_id.is_not(None)
    day = _day(session, OrderRecord.placed_at).label("day")
    member = case((is_member, 1), else_=0).label("member")
    used = (select(Redemption.order_id).distinct()
            .where(Redemption.shop_id == shop.id, Redemption.order_id.is_not(None)).subquery())
    used_code = used.c.order_id.is_not(None)
    code_orders, code_revenue = 0, ZERO
    for when, group, orders, revenue, with_code, with_code_revenue in session.execute(
            select(day, member, func.count(OrderRecord.id), func.coalesce(func.sum(_order_value()), 0),
                   func.coalesce(func.sum(case((used_code, 1), else_=0)), 0),
                   func.coalesce(func.sum(case((used_code, _order_value()), else_=0)), 0))
            .outerjoin(used, used.c.order_id == OrderRecord.order_id)
            .where(*_counted_orders(shop, window)).group_by(day, member)):
        prefix = "member" if group else "non_member"
        figures = days[_as_date(when)]
        figures[f"{prefix}_orders"] = int(orders)
        figures[f"{prefix}_revenue"] = Decimal(revenue)
        code_orders += int(with_code)
        code_revenue += Decimal(with_code_revenue)
    # A buyer: the member, else the order's email in any case, else the order alone (three columns, no string).
    guest_email = case((is_member, None), else_=func.lower(OrderRecord.email)).label("guest_email")
    lone_order = case((is_member | OrderRecord.email.is_not(None), None), else_=OrderRecord.id).label("lone_order")
    per_buyer = (select(member, func.count(OrderRecord.id).label("orders"),
                        func.coalesce(func.sum(_order_value()), 0).label("revenue"))
                 .where(*_counted_orders(shop, window))
                 .group_by(member, OrderRecord.member_id, guest_email, lone_order).subquery())
    groups = {group: Buyers(int(orders), Decimal(revenue), int(buyers), int(repeat)) for group, orders, revenue, buyers, repeat
              in session.execute(select(per_buyer.c.member, func.sum(per_buyer.c.orders), func.sum(per_buyer.c.revenue),
                                        func.count(), func.sum(case((per_buyer.c.orders >= 2, 1), else_=0)))
                                 .group_by(per_buyer.c.member))}
    return groups.get(1, Buyers()), groups.get(0, Buyers()), code_orders, code_revenue
