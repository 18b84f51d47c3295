"""Flow triggers: recorded with the ledger, coalesced per window, sent at most once (fake Admin counts calls)."""
from datetime import datetime, timedelta, timezone

import pytest
import requests
import responses
from sqlalchemy import select

from loyalty_app import ledger
from loyalty_app.models import FlowTrigger, Reward, utcnow
from loyalty_app.program.expiry import add_months
from loyalty_app.services import flow, redemptions
from loyalty_app.services.actions import award_action
from loyalty_app.services.members import enrol, update_tier
from loyalty_app.services.shops import update_settings
from loyalty_app.shopify.client import AdminClient
from loyalty_app.shopify.flow import send_trigger
from tests.fake_admin import FakeAdmin

T = datetime(2026, 11, 25, 21, 0, tzinfo=timezone.utc)
OK = {"flowTriggerReceive": {"userErrors": []}}


@pytest.fixture
def fake():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield FakeAdmin(rsps)


@pytest.fixture
def send():
    client = AdminClient("demo-shop.myshopify.com", "t", api_version="2026-10", sleep=lambda _: None)
    return lambda handle, payload: send_trigger(client, handle, payload)


@pytest.fixture
def flow_shop(session, shop):
    update_settings(shop, {"flow_triggers": True})
    session.commit()
    return shop


def _member(session, shop, customer_id=207119551):
    member, _ = enrol(session, shop, customer_id)
    session.commit()
    return member


def _earn(session, member, amount, key, now, **kw):
    entry = ledger.post(session, member.id, amount=amount, kind="earn", key=key, source="order", now=now, **kw)
    session.commit()
    return entry


def rows(session, trigger=None):
    query = select(FlowTrigger).order_by(FlowTrigger.id)
    if trigger:
        query = query.where(FlowTrigger.trigger == trigger)
    return list(session.execute(query.execution_options(populate_existing=True)).scalars())


def test_a_burst_of_point_changes_sends_one_trigger_per_member_per_window(session, flow_shop, fake, send):
    fake.serve("FlowTriggerReceive", lambda _: OK)
    member, other = _member(session, flow_shop), _member(session, flow_shop, 42)
    for i in range(20):  # 20 changes within one 5-minute window
        _earn(session, member, 10, f"order:{i}", T + timedelta(seconds=14 * i))
    _earn(session, other, 7, "order:other", T + timedelta(minutes=1))

    assert flow.send_due(session, flow_shop, send, now=T + timedelta(minutes=4)).sent == 0  # window still open
    assert fake.sent("FlowTriggerReceive") == []
    result = flow.send_due(session, flow_shop, send, now=T + timedelta(minutes=5))
    assert result.sent == 2
    sent = sorted(fake.sent("FlowTriggerReceive"), key=lambda v: v["payload"]["customer_id"])
    assert sent == [
        {"handle": "loyalty-points-earned", "payload": {"customer_id": 42, "Points earned": 7, "Points balance": 7}},
        {"handle": "loyalty-points-earned",
         "payload": {"customer_id": 207119551, "Points earned": 200, "Points balance": 200}},
    ]
    assert flow.send_due(session, flow_shop, send, now=T + timedelta(hours=1)).sent == 0  # a rerun sends nothing
    assert len(fake.sent("FlowTriggerReceive")) == 2


def test_a_change_after_its_window_was_sent_joins_the_next_window(session, flow_shop, fake, send):
    fake.serve("FlowTriggerReceive", lambda _: OK)
    member = _member(session, flow_shop)
    _earn(session, member, 10, "order:1", T)
    flow.send_due(session, flow_shop, send, now=T + timedelta(minutes=5))
    _earn(session, member, 5, "order:2", T + timedelta(minutes=1))  # late: dated inside the window already sent
    _earn(session, member, 3, "order:3", T + timedelta(minutes=6))
    flow.send_due(session, flow_shop, send, now=T + timedelta(minutes=10))
    assert [v["payload"]["Points earned"] for v in fake.sent("FlowTriggerReceive")] == [10, 8]


def test_nothing_is_recorded_for_a_shop_without_flow(session, shop, fake, send):
    member = _member(session, shop)
    _earn(session, member, 10, "order:1", T)
    assert rows(session) == []
    assert flow.send_due(session, shop, send, now=T + timedelta(hours=1)).sent == 0
    assert fake.requests == []


def test_turning_flow_off_skips_what_is_waiting(session, flow_shop, fake, send):
    member = _member(session, flow_shop)
    _earn(session, member, 10, "order:1", T)
    update_settings(flow_shop, {"flow_triggers": False})
    session.commit()
    assert flow.send_due(session, flow_shop, send, now=T + timedelta(hours=1)).skipped == 1
    assert fake.requests == []


def test_adjustments_and_spending_are_not_points_earned(session, flow_shop):
    member = _member(session, flow_shop)
    _earn(session, member, 100, "order:1", T)
    ledger.post(session, member.id, amount=50, kind="adjust", key="flow:run-1", source="flow", now=T)
    ledger.post(session, member.id, amount=-20, kind="reversal", key="refund:1", source="order", now=T)
    session.commit()
    assert [(r.trigger, r.points) for r in rows(session)] == [("points_earned", 100)]


def test_tier_change_sends_from_the_first_tier_to_the_last(session, flow_shop, fake, send):
    fake.serve("FlowTriggerReceive", lambda _: OK)
    member = _member(session, flow_shop)
    for i, amount in enumerate((10, 600, 1000)):  # Bronze, then Silver, then Gold within one window
        entry = ledger.post(session, member.id, amount=amount, kind="earn", key=f"order:{i}", source="order",
                            now=T + timedelta(seconds=i))
        update_tier(session, flow_shop, ledger.lock_member(session, member.id), T + timedelta(seconds=i),
                    trigger=entry)
        session.commit()
    flow.send_due(session, flow_shop, send, now=T + timedelta(minutes=5))
    [tier] = [v["payload"] for v in fake.sent("FlowTriggerReceive") if v["handle"] == "loyalty-tier-changed"]
    assert tier == {"customer_id": 207119551, "Previous tier": "", "New tier": "Gold", "Promoted": True,
                    "Points balance": 10 + 600 + 1000 + 100 + 250}


def test_a_tier_left_and_regained_within_the_window_sends_nothing(session, flow_shop, fake, send):
    from loyalty_app.services import flow_outbox
    member = _member(session, flow_shop)
    flow_outbox.record_tier_change(session, flow_shop.id, member.id, "Silver", "Bronze", False, T)
    flow_outbox.record_tier_change(session, flow_shop.id, member.id, "Bronze", "Silver", True, T)
    session.commit()
    assert flow.send_due(session, flow_shop, send, now=T + timedelta(minutes=5)).skipped == 1
    assert fake.requests == []


def test_birthday_reward_and_reward_redeemed(session, flow_shop, fake, send):
    fake.serve("FlowTriggerReceive", lambda _: OK)
    member = _member(session, flow_shop)
    award_action(session, flow_shop, member, "birthday", now=T)
    session.commit()
    reward = session.execute(select(Reward).where(Reward.shop_id == flow_shop.id, Reward.cost == 500)).scalar_one()
    _earn(session, member, 400, "order:1", T)
    redemption, _ = redemptions.reserve(session, flow_shop, member.id, reward.id, "click-0001", now=T)
    session.commit()
    assert rows(session, "reward_redeemed") == []  # no code yet: nothing to tell
    redemptions.activate(session, redemption, "gid://shopify/DiscountCodeNode/1")
    redemptions.activate(session, redemption, "gid://shopify/DiscountCodeNode/1")  # a settle that finds it again
    session.commit()
    flow.send_due(session, flow_shop, send, now=utcnow() + timedelta(minutes=1))  # activation is dated by the clock
    by_handle = {v["handle"]: v["payload"] for v in fake.sent("FlowTriggerReceive")}
    assert len(fake.sent("FlowTriggerReceive")) == 4  # birthday, points earned, reward redeemed, tier (→ Bronze)
    assert by_handle["loyalty-birthday-reward"] == {"customer_id": 207119551, "Birthday points": 200,
                                                    "Points balance": 100}
    assert by_handle["loyalty-points-earned"]["Points earned"] == 600
    assert by_handle["loyalty-reward-redeemed"] == {"customer_id": 207119551, "Reward name": "5 off your order",
                                                    "Points spent": 500, "Discount code": redemption.code,
                                                    "Points balance": 100}


@pytest.mark.parametrize("failure", [requests.ReadTimeout("read timed out"), None])
def test_a_retry_after_an_unknown_outcome_never_sends_twice(session, flow_shop, fake, send, failure):
    """A read timeout or a 5xx may have reached Flow: marked unknown, never sent again (at most once)."""
    if failure is not None:
        fake.answer(raise_exc=failure)
    else:
        fake.answer(status=502)
    member = _member(session, flow_shop)
    _earn(session, member, 10, "order:1", T)
    assert flow.send_due(session, flow_shop, send, now=T + timedelta(minutes=5)).unknown == 1
    assert len(fake.requests) == 1  # the client did not retry it either
    fake.serve("FlowTriggerReceive", lambda _: OK)
    assert flow.send_due(session, flow_shop, send, now=T + timedelta(hours=1)) == flow.SendResult(0, 0, 0, 0, 0)
    assert [r.state for r in rows(session)] == ["unknown"]
    assert len(fake.requests) == 1


def test_a_worker_killed_mid_call_leaves_the_row_unknown(session, flow_shop, fake, send):
    member = _member(session, flow_shop)
    _earn(session, member, 10, "order:1", T)
    [row] = rows(session)
    row.state, row.sent_at = "sending", T + timedelta(minutes=5)  # claimed and committed, then the worker died
    session.commit()
    fake.serve("FlowTriggerReceive", lambda _: OK)
    assert flow.send_due(session, flow_shop, send, now=T + timedelta(minutes=6)).sent == 0  # maybe still in flight
    flow.send_due(session, flow_shop, send, now=T + timedelta(minutes=16))
    assert [r.state for r in rows(session)] == ["unknown"]
    assert fake.requests == []


def test_failures_that_prove_nothing_was_sent_are_tried_again_once(session, flow_shop, fake, send):
    fake.answer(raise_exc=requests.ConnectTimeout("no connection"))
    for _ in range(4):  # the client's own retries of a connection that never opened
        fake.answer(raise_exc=requests.ConnectTimeout("no connection"))
    member = _member(session, flow_shop)
    _earn(session, member, 10, "order:1", T)
    assert flow.send_due(session, flow_shop, send, now=T + timedelta(minutes=5)).deferred == 1
    assert len(fake.requests) == 5  # every attempt failed to connect
    fake.serve("FlowTriggerReceive", lambda _: OK)
    assert flow.send_due(session, flow_shop, send, now=T + timedelta(minutes=6)).sent == 0  # backing off
    assert flow.send_due(session, flow_shop, send, now=T + timedelta(minutes=8)).sent == 1
    assert flow.send_due(session, flow_shop, send, now=T + timedelta(hours=8)).sent == 0
    assert len(fake.requests) == 6


def test_flow_declining_a_trigger_fails_it_without_retrying(session, flow_shop, fake, send):
    fake.answer({"flowTriggerReceive": {"userErrors": [{"field": ["handle"], "message": "Invalid handle"}]}})
    member = _member(session, flow_shop)
    _earn(session, member, 10, "order:1", T)
    assert flow.send_due(session, flow_shop, send, now=T + timedelta(minutes=5)).failed == 1
    assert flow.send_due(session, flow_shop, send, now=T + timedelta(hours=5)).failed == 0
    [row] = rows(session)
    assert (row.state, row.error) == ("failed", "handle: Invalid handle")


def test_expiry_reminders_are_sent_30_and_7_days_before_once_each(session, flow_shop, fake, send):
    """A daily job over 60 days (run twice a day, to prove it idempotent) sends exactly two reminders."""
    fake.serve("FlowTriggerReceive", lambda _: OK)
    update_settings(flow_shop, {"expiry_months": 12})
    session.commit()
    member = _member(session, flow_shop)
    last_active = T - timedelta(days=300)
    _earn(session, member, 480, "order:1", last_active)
    expires = add_months(last_active, 12)
    day = expires - timedelta(days=50)
    while day < expires + timedelta(days=5):
        for hour in (3, 15):
            moment = day.replace(hour=hour, minute=30)
            flow.remind_expiring(session, flow_shop, moment)
            session.commit()
            flow.send_due(session, flow_shop, send, now=moment)
        day += timedelta(days=1)
    reminders = [v["payload"] for v in fake.sent("FlowTriggerReceive") if v["handle"] == "loyalty-points-expiring"]
    assert reminders == [
        {"customer_id": 207119551, "Points expiring": 480, "Expiry date": expires.date().isoformat(),
         "Days left": 30, "Points balance": 480},
        {"customer_id": 207119551, "Points expiring": 480, "Expiry date": expires.date().isoformat(),
         "Days left": 7, "Points balance": 480},
    ]


def test_new_activity_moves_the_expiry_and_the_reminders_start_again(session, flow_shop):
    update_settings(flow_shop, {"expiry_months": 12})
    session.commit()
    member = _member(session, flow_shop)
    _earn(session, member, 100, "order:1", T - timedelta(days=340))
    assert flow.remind_expiring(session, flow_shop, T) == 1  # 30-day reminder for the first expiry date
    _earn(session, member, 5, "order:2", T)  # shopping again: expiry is a year away
    assert flow.remind_expiring(session, flow_shop, T + timedelta(days=1)) == 0
    assert flow.remind_expiring(session, flow_shop, T + timedelta(days=340)) == 1  # the new date's 30-day one


def test_a_reminder_waiting_when_the_member_shops_again_is_not_sent(session, flow_shop, fake, send):
    update_settings(flow_shop, {"expiry_months": 12})
    session.commit()
    member = _member(session, flow_shop)
    _earn(session, member, 100, "order:1", T - timedelta(days=340))
    flow.remind_expiring(session, flow_shop, T)
    session.commit()
    _earn(session, member, 5, "order:2", T + timedelta(seconds=5))  # before the sender ran
    fake.serve("FlowTriggerReceive", lambda _: OK)
    flow.send_due(session, flow_shop, send, now=T + timedelta(minutes=5))
    assert "loyalty-points-expiring" not in {v["handle"] for v in fake.sent("FlowTriggerReceive")}
    assert {r.trigger: r.state for r in rows(session)}["points_expiring"] == "skipped"


def test_no_reminders_without_expiry_or_without_flow(session, shop):
    member = _member(session, shop)
    _earn(session, member, 100, "order:1", T - timedelta(days=340))
    update_settings(shop, {"expiry_months": 12})
    session.commit()
    assert flow.remind_expiring(session, shop, T) == 0  # Flow off
    update_settings(shop, {"expiry_months": None, "flow_triggers": True})
    assert flow.remind_expiring(session, shop, T) == 0  # no expiry
