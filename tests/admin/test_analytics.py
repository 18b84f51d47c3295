"""GET /admin/api/analytics: each figure on a small exact fixture, on SQLite and PostgreSQL; bad windows are 422."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from marshmallow import ValidationError

from loyalty_app import ledger
from loyalty_app.extensions import db
from loyalty_app.models import Member, OrderRecord, Redemption, Reward, Shop, Tier, utcnow
from loyalty_app.services import orders
from loyalty_app.services.members import enrol
from loyalty_app.services.shops import install_shop, update_settings
from tests.helpers import money, simple_order

OTHER_SHOP = "other-shop.myshopify.com"
TODAY = utcnow().date()
SINCE = TODAY - timedelta(days=9)
UNTIL = TODAY - timedelta(days=2)
WINDOW = f"?since={SINCE.isoformat()}&until={UNTIL.isoformat()}"


def at(day: int, hour: int = 12) -> datetime:
    """Day ``day`` of the window (0 = since) at ``hour`` UTC; negative days are before it."""
    return datetime.combine(SINCE + timedelta(days=day), time(hour), timezone.utc)


def member(session, shop: Shop, customer_id: int, created: datetime, **values: Any) -> Member:  # type: ignore[no-untyped-def]
    found, _ = enrol(session, shop, customer_id, email=f"c{customer_id}@example.com")
    found.created_at = created
    for key, value in values.items():
        setattr(found, key, value)
    session.flush()
    return found


def post(session, who: Member, amount: int, kind: str, moment: datetime) -> None:  # type: ignore[no-untyped-def]
    ledger.post(session, who.id, amount=amount, kind=kind, key=f"t:{who.id}:{kind}:{amount}:{moment.isoformat()}",
                source="test", now=moment)


def order(session, shop: Shop, order_id: int, total: str | None, placed: datetime | None,  # type: ignore[no-untyped-def]
          who: Member | None = None, email: str | None = None, eligible: str | None = "1", cancelled: bool = False
          ) -> OrderRecord:
    record = OrderRecord(shop_id=shop.id, order_id=order_id, member_id=who.id if who else None, email=email,
                         eligible_amount=Decimal(eligible) if eligible is not None else None,
                         total_amount=Decimal(total) if total is not None else None, placed_at=placed,
                         cancelled=cancelled)
    session.add(record)
    session.flush()
    return record


def code(session, shop: Shop, who: Member, name: str, order_id: int | None) -> None:  # type: ignore[no-untyped-def]
    session.add(Redemption(shop_id=shop.id, member_id=who.id, idempotency_key=name, code=name, cost=100,
                           state="used", order_id=order_id))
    session.flush()


def fill(session, shop: Shop) -> dict[str, Member]:  # type: ignore[no-untyped-def]
    """The fixture every figure below is worked out from by hand (see each test)."""
    silver = next(t for t in session.query(Tier).filter_by(shop_id=shop.id) if t.name == "Silver")
    m1 = member(session, shop, 1, at(-11), tier_id=silver.id)  # enrolled before the window
    m2 = member(session, shop, 2, at(1))
    m3 = member(session, shop, 3, at(3))
    m4 = member(session, shop, 4, utcnow())  # after the window
    post(session, m1, 100, "earn", at(-6))  # before the window
    post(session, m1, 200, "earn", at(0))
    post(session, m2, 50, "action", at(1))
    post(session, m2, 25, "bonus", at(1, 13))
    post(session, m1, -150, "redeem", at(2))
    post(session, m1, 30, "release", at(3))
    post(session, m2, -10, "expire", at(4))
    post(session, m1, -20, "reversal", at(4))
    post(session, m1, 40, "adjust", at(5))
    post(session, m2, -5, "adjust", at(5))
    post(session, m3, 60, "earn", utcnow())  # after the window: not outstanding at its end
    order(session, shop, 101, "110.00", at(0), who=m1)
    o2 = order(session, shop, 102, "50.00", at(2), who=m1)
    order(session, shop, 103, "30.00", at(3), who=m2)
    order(session, shop, 104, "40.00", at(3), email="g@example.com")
    order(session, shop, 105, "60.00", at(5, 23), email="G@Example.com")  # the same guest
    order(session, shop, 106, "20.00", at(5), email=None)
    order(session, shop, 107, None, at(6), email="h@example.com", eligible="25.00")  # no total: its subtotal
    order(session, shop, 108, "999.00", at(4), who=m2, cancelled=True)
    o9 = order(session, shop, 109, "999.00", at(-3), who=m1)  # before the window
    order(session, shop, 110, None, None, eligible=None)  # a refund that arrived before its order
    order(session, shop, 111, "999.00", at(8), who=m1)  # the day after the window
    code(session, shop, m1, "LOY-A", o2.order_id)
    code(session, shop, m1, "LOY-B", o2.order_id)  # two codes, one order: counted once
    code(session, shop, m1, "LOY-C", o9.order_id)  # an order outside the window
    code(session, shop, m1, "LOY-D", None)  # used, found by the expiry job: no order known
    return {"m1": m1, "m2": m2, "m3": m3, "m4": m4}


def fill_other_shop(app, session) -> Shop:  # type: ignore[no-untyped-def]
    """Another shop with activity of every kind in the same window, and the same Shopify order ids."""
    other = install_shop(session, OTHER_SHOP, "t", app.extensions["token_box"])
    stranger = member(session, other, 1, at(1))
    post(session, stranger, 5000, "earn", at(1))
    post(session, stranger, -1000, "redeem", at(2))
    post(session, stranger, -300, "expire", at(3))
    for order_id in (101, 102, 104):
        order(session, other, order_id, "777.00", at(2), who=stranger if order_id != 104 else None,
              email="g@example.com" if order_id == 104 else None)
    code(session, other, stranger, "LOY-A", 101)
    return other


@pytest.fixture
def filled(app, session, shop):  # type: ignore[no-untyped-def]
    members = fill(session, shop)
    fill_other_shop(app, session)
    session.commit()
    return members


def test_points_members_and_liability(admin_api, filled):
    answer = admin_api.get("/analytics" + WINDOW)
    assert answer.status_code == 200
    figures = answer.get_json()
    assert (figures["since"], figures["until"]) == (SINCE.isoformat(), UNTIL.isoformat())
    assert figures["members_total"] == 4  # m1..m4 (the other shop's member is not ours)
    assert figures["members_enrolled"] == 2  # m2, m3
    assert figures["members_active"] == 2  # m1 earned and redeemed, m2 did an action; m3 only after
    assert figures["points_issued"] == 200 + 50 + 25
    assert figures["points_reversed"] == 20
    assert figures["points_adjusted"] == 40 - 5
    assert figures["points_redeemed"] == 150 - 30  # net of the released code
    assert figures["points_expired"] == 10
    assert figures["redemption_rate"] == "0.4364"  # 120 / 275
    # At the window's end: m1 100+200-150+30-20+40, m2 50+25-10-5; m3's 60 came after.
    assert figures["points_outstanding"] == 200 + 60
    assert (figures["point_value"], figures["point_value_basis"]) == ("0.0100", "rewards")  # the default rewards
    assert figures["liability"] == "2.60"
    assert figures["currency"] == "USD"
    assert [(t["name"], t["members"]) for t in figures["tiers"]] == [(None, 3), ("Bronze", 0), ("Silver", 1),
                                                                     ("Gold", 0)]


def test_members_and_non_members_orders(admin_api, filled):
    figures = admin_api.get("/analytics" + WINDOW).get_json()
    # Members: 110 and 50 by m1 (a repeat buyer), 30 by m2; the cancelled, earlier and later orders do not count.
    assert figures["members"] == {"orders": 3, "revenue": "190.00", "average_order_value": "63.33", "buyers": 2,
                                  "repeat_buyers": 1, "repeat_purchase_rate": "0.5000"}
    # Non-members: one guest by email in any case (40 + 60), one without email (20), one without a total (25).
    assert figures["non_members"] == {"orders": 4, "revenue": "145.00", "average_order_value": "36.25", "buyers": 3,
                                      "repeat_buyers": 1, "repeat_purchase_rate": "0.3333"}
    assert (figures["loyalty_code_orders"], figures["loyalty_code_revenue"]) == (1, "50.00")


def test_the_daily_series(admin_api, filled):
    days = admin_api.get("/analytics" + WINDOW).get_json()["days"]
    assert [d["day"] for d in days] == [(SINCE + timedelta(days=n)).isoformat() for n in range(8)]
    assert [d["points_issued"] for d in days] == [200, 75, 0, 0, 0, 0, 0, 0]
    assert [d["points_redeemed"] for d in days] == [0, 0, 150, -30, 0, 0, 0, 0]
    assert [d["member_orders"] for d in days] == [1, 0, 1, 1, 0, 0, 0, 0]
    assert [d["member_aov"] for d in days] == ["110.00", None, "50.00", "30.00", None, None, None, None]
    assert [d["non_member_orders"] for d in days] == [0, 0, 0, 1, 0, 2, 1, 0]
    assert [d["non_member_aov"] for d in days] == [None, None, None, "40.00", None, "40.00", "25.00", None]


def test_another_shops_figures_never_count(app, client, session, filled, staff_token):
    from tests.helpers import AdminApi

    theirs = AdminApi(client, staff_token(shop=OTHER_SHOP)).get("/analytics" + WINDOW).get_json()
    assert (theirs["members_total"], theirs["members_enrolled"], theirs["members_active"]) == (1, 1, 1)
    assert (theirs["points_issued"], theirs["points_redeemed"], theirs["points_expired"]) == (5000, 1000, 300)
    assert theirs["points_outstanding"] == 3700
    assert theirs["members"]["orders"] == 2 and theirs["non_members"]["orders"] == 1
    assert (theirs["loyalty_code_orders"], theirs["loyalty_code_revenue"]) == (1, "777.00")


def test_the_point_value_setting_wins_and_without_rewards_the_liability_is_unknown(admin_api, session, shop, filled):
    update_settings(shop, {"point_value": "0.05"})
    session.commit()
    figures = admin_api.get("/analytics" + WINDOW).get_json()
    assert (figures["point_value"], figures["point_value_basis"], figures["liability"]) == ("0.05", "setting", "13.00")
    update_settings(shop, {"point_value": None})
    for reward in session.query(Reward).filter_by(shop_id=shop.id):
        reward.active = False
    session.add(Reward(shop_id=shop.id, name="15 off", kind="fixed_amount", cost=1000, value=Decimal("15")))
    session.add(Reward(shop_id=shop.id, name="5 off", kind="fixed_amount", cost=500, value=Decimal("5")))
    session.add(Reward(shop_id=shop.id, name="10 %", kind="percentage", cost=100, value=Decimal("10")))
    session.commit()
    figures = admin_api.get("/analytics" + WINDOW).get_json()
    assert (figures["point_value"], figures["point_value_basis"], figures["liability"]) == ("0.0150", "rewards",
                                                                                            "3.90")
    session.query(Reward).filter_by(shop_id=shop.id).update({"active": False})
    session.commit()
    figures = admin_api.get("/analytics" + WINDOW).get_json()
    assert (figures["point_value"], figures["point_value_basis"], figures["liability"]) == (None, "none", None)


@pytest.mark.parametrize("value", ["0", "-1", "abc", "NaN", "10000000"])
def test_a_bad_point_value_is_refused(session, shop, value):
    with pytest.raises(ValidationError) as caught:
        update_settings(shop, {"point_value": value})
    assert "point_value" in caught.value.messages


def test_the_default_window_is_the_last_30_days(admin_api, filled):
    figures = admin_api.get("/analytics").get_json()
    assert (figures["since"], figures["until"]) == ((TODAY - timedelta(days=29)).isoformat(), TODAY.isoformat())
    assert len(figures["days"]) == 30
    assert figures["points_issued"] == 275 + 100 + 60  # everything but nothing older than 30 days
    assert figures["points_outstanding"] == 320


@pytest.mark.parametrize(("query", "since", "until"), [
    ("?since=2026-01-10", date(2026, 1, 10), date(2026, 2, 8)),
    (f"?until={(TODAY - timedelta(days=100)).isoformat()}", TODAY - timedelta(days=129), TODAY - timedelta(days=100)),
    (f"?since={TODAY.isoformat()}", TODAY, TODAY),
    (f"?since={(TODAY - timedelta(days=365)).isoformat()}&until={TODAY.isoformat()}", TODAY - timedelta(days=365),
     TODAY),
], ids=["since-only", "until-only", "since-today", "366-days"])
def test_one_end_gives_the_other(admin_api, shop, query, since, until):
    figures = admin_api.get("/analytics" + query).get_json()
    assert (figures["since"], figures["until"]) == (since.isoformat(), min(until, TODAY).isoformat())


@pytest.mark.parametrize(("query", "field"), [
    ("?since=yesterday", "since"),
    ("?until=2026-13-01", "until"),
    ("?since=2026-02-30", "since"),
    (f"?since={TODAY.isoformat()}&until={(TODAY - timedelta(days=1)).isoformat()}", "since"),
    (f"?since={(TODAY - timedelta(days=366)).isoformat()}&until={TODAY.isoformat()}", "since"),
    (f"?until={(TODAY + timedelta(days=2)).isoformat()}", "until"),
    ("?since=1999-12-31&until=2000-01-30", "since"),
    ("?since=", "since"),
    ("?since=9999-12-31", "since"),
    ("?until=0001-01-01", "until"),
], ids=["not-a-date", "month-13", "feb-30", "since-after-until", "367-days", "future", "before-2000", "empty",
        "since-far-future", "until-year-1"])
def test_bad_windows_are_422_with_the_field(admin_api, shop, query, field):
    answer = admin_api.get("/analytics" + query)
    assert answer.status_code == 422
    assert field in answer.get_json()["errors"]


def test_without_a_token_it_is_401(client, shop):
    assert client.get("/admin/api/analytics").status_code == 401


def test_a_members_order_below_the_minimum_is_still_a_members_order(admin_api, session, shop):
    """The order pipeline links the member even when the order earns nothing, so it is not counted as a guest's."""
    update_settings(shop, {"minimum_order_amount": "50"})
    placed = at(2).isoformat()
    assert orders.record_paid_order(session, shop, simple_order(1, 5, "20.00", processed_at=placed,
                                                                total_price_set=money("25.00"))) \
        == "ignored: below the minimum of 50"
    orders.record_paid_order(session, shop, simple_order(2, None, "30.00", processed_at=placed,
                                                         total_price_set=money("32.00")))
    session.commit()
    figures = admin_api.get("/analytics" + WINDOW).get_json()
    assert (figures["members"]["orders"], figures["members"]["revenue"]) == (1, "25.00")
    assert (figures["non_members"]["orders"], figures["non_members"]["revenue"]) == (1, "32.00")
    assert figures["points_issued"] == 0
