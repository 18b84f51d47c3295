"""Referrals end to end through /webhooks (inline jobs) on Shopify's sample order, with the pending period."""
from datetime import timedelta

import pytest

from loyalty_app.models import LedgerEntry, Member, Referral, utcnow
from loyalty_app.program import referrals as rules
from loyalty_app.services import referrals
from loyalty_app.services.members import find_member
from loyalty_app.services.shops import update_settings
from loyalty_app.services.upkeep import run_daily
from tests.conftest import SECRET
from tests.helpers import cancelled_order, refund_of, simple_order

REFERRER, FRIEND = 5, 6
PENDING_DAYS = 14


def buyer(order_id, customer_id, *, ip, address, agent="Mozilla/5.0 (Macintosh)", code=None, subtotal="80.00"):
    """``simple_order`` (Shopify's sample order_450789469) placed from ``ip`` with ``agent`` to ``address``."""
    order = simple_order(order_id, customer_id, subtotal)
    order["email"] = f"c{customer_id}@example.com" if customer_id else f"guest{order_id}@example.com"
    order["browser_ip"] = ip
    order["client_details"].update(browser_ip=ip, user_agent=agent, accept_language="en-US", browser_width=1440,
                                   browser_height=900)
    order["shipping_address"]["address1"] = address
    if code is not None:
        order["note_attributes"] = [*order["note_attributes"], {"name": rules.CART_ATTRIBUTE, "value": code}]
    return order


@pytest.fixture
def code(deliver, session, shop):
    """The referrer (customer 5) with one order of their own, and their referral code; the shop pends 14 days."""
    update_settings(shop, {"pending_days": PENDING_DAYS})
    session.commit()
    deliver("orders/paid", buyer(1001, REFERRER, ip="198.51.100.5", address="1 Referrer Road"))
    member = find_member(session, shop.id, REFERRER)
    value = referrals.code_for(session, shop, member, SECRET)
    session.commit()
    return value


def friend_order(code, order_id=2001, customer_id=FRIEND, test=False, **overrides):
    details = {"ip": "203.0.113.77", "address": "77 Friend Street", "agent": "Mozilla/5.0 (iPhone)", **overrides}
    order = buyer(order_id, customer_id, code=code, **details)
    order["test"] = test
    return order


def referral_of(session, order_id=2001):
    session.expire_all()
    return session.query(Referral).filter_by(order_id=order_id).one_or_none()


def referral_points(session):
    return [(e.amount, e.source, e.state) for e in session.query(LedgerEntry).filter_by(kind="action")]


def test_a_friends_first_order_pays_the_referrer_after_the_pending_period(deliver, session, shop, code):
    deliver("orders/paid", friend_order(code))
    referral = referral_of(session)
    assert (referral.status, referral.reasons, referral.via) == ("pending", [], "cart_attribute")
    assert referral.due_at > utcnow() + timedelta(days=PENDING_DAYS - 1)
    assert session.get(Member, referral.referrer_id).customer_id == REFERRER
    assert referrals.settle_due(session, shop, referral.due_at - timedelta(seconds=1)) == 0
    assert referral_points(session) == []

    assert referrals.settle_due(session, shop, referral.due_at) == 1
    session.commit()
    assert referral_of(session).status == "paid" and referral_of(session).points == 250
    assert referral_points(session) == [(250, "action:referral", "available")]
    # Settling again, and replaying the order under another webhook id, pay nothing more.
    assert referrals.settle_due(session, shop, referral.due_at + timedelta(days=1)) == 0
    deliver("orders/paid", friend_order(code))
    assert session.query(Referral).count() == 1
    assert referral_points(session) == [(250, "action:referral", "available")]


def test_the_daily_upkeep_settles_due_referrals(deliver, session, shop, code):
    deliver("orders/paid", friend_order(code))
    result = run_daily(session, shop, referral_of(session).due_at + timedelta(hours=1))
    session.commit()
    assert result.referrals_paid == 1 and referral_of(session).status == "paid"


def test_a_shop_without_a_pending_period_pays_at_once(deliver, session, shop, code):
    update_settings(shop, {"pending_days": 0})
    session.commit()
    deliver("orders/paid", friend_order(code))
    assert referral_of(session).status == "paid"
    assert referral_points(session) == [(250, "action:referral", "available")]


def test_a_refund_within_the_pending_period_voids_the_referral(deliver, session, shop, code):
    deliver("orders/paid", friend_order(code))
    deliver("refunds/create", refund_of(3001, 2001, [(466157049, 1, "80.00")], paid="80.00"))
    referral = referral_of(session)
    assert referral.status == "void" and "refunded_or_cancelled" in referral.reasons
    assert referrals.settle_due(session, shop, referral.due_at + timedelta(days=1)) == 0
    assert referral_points(session) == []


def test_a_cancellation_within_the_pending_period_voids_the_referral(deliver, session, shop, code):
    deliver("orders/paid", friend_order(code))
    deliver("orders/cancelled", cancelled_order(2001))
    assert referral_of(session).status == "void"
    assert referrals.settle_due(session, shop, utcnow() + timedelta(days=PENDING_DAYS + 1)) == 0
    assert referral_points(session) == []


def test_a_refund_after_payout_leaves_the_referral_paid(deliver, session, shop, code):
    deliver("orders/paid", friend_order(code))
    referrals.settle_due(session, shop, referral_of(session).due_at)
    session.commit()
    deliver("refunds/create", refund_of(3002, 2001, [(466157049, 1, "80.00")], paid="80.00"))
    assert referral_of(session).status == "paid"
    assert referral_points(session) == [(250, "action:referral", "available")]


@pytest.mark.parametrize("overrides, reason", [
    ({"address": "1 Referrer Road"}, rules.SAME_ADDRESS),
    ({"ip": "198.51.100.5"}, rules.SAME_IP),
    ({"agent": "Mozilla/5.0 (Macintosh)"}, rules.SAME_DEVICE),
])
def test_a_friend_sharing_the_referrers_address_ip_or_browser_is_flagged(deliver, session, shop, code, overrides,
                                                                         reason):
    deliver("orders/paid", friend_order(code, **overrides))
    referral = referral_of(session)
    assert (referral.status, referral.reasons) == ("flagged", [reason])
    assert referrals.settle_due(session, shop, referral.due_at + timedelta(days=1)) == 0
    assert referral_points(session) == []


def test_the_referrers_own_order_with_their_code_is_denied_outright(deliver, session, shop, code):
    deliver("orders/paid", friend_order(code, order_id=2002, customer_id=REFERRER))
    referral = referral_of(session, 2002)
    assert referral.status == "denied" and rules.SELF_REFERRAL in referral.reasons
    assert referral.decided_by == "system"


def test_a_friend_using_the_referrers_email_is_denied(deliver, session, shop, code):
    order = friend_order(code, customer_id=None)
    order["email"] = "C5@example.com"  # the referrer's email (simple_order gives customer 5 c5@example.com)
    deliver("orders/paid", order)
    assert (referral_of(session).status, referral_of(session).reasons) == ("denied", [rules.SAME_EMAIL])


def test_a_referrer_over_the_cap_is_flagged(deliver, session, shop, code):
    update_settings(shop, {"referral_cap": 1, "referral_cap_days": 30})
    session.commit()
    deliver("orders/paid", friend_order(code, order_id=2001, customer_id=6, ip="203.0.113.1", address="1 A St"))
    deliver("orders/paid", friend_order(code, order_id=2002, customer_id=7, ip="203.0.113.2", address="2 B St",
                                        agent="Opera"))
    assert referral_of(session, 2001).status == "pending"
    assert (referral_of(session, 2002).status, referral_of(session, 2002).reasons) == ("flagged", [rules.OVER_CAP])


def test_approving_a_flagged_referral_pays_it_once_its_period_is_over(deliver, session, shop, code):
    deliver("orders/paid", friend_order(code, ip="198.51.100.5"))
    referral = referral_of(session)
    referrals.approve(session, shop, referral, "staff:1")
    session.commit()
    assert (referral_of(session).status, referral_of(session).decided_by) == ("pending", "staff:1")
    assert referrals.settle_due(session, shop, referral.due_at) == 1
    session.commit()
    assert referral_points(session) == [(250, "action:referral", "available")]
    with pytest.raises(referrals.ReferralError) as refused:
        referrals.approve(session, shop, referral_of(session), "staff:1")
    assert refused.value.reason == "not_flagged"


def test_approving_after_the_period_pays_at_once(deliver, session, shop, code):
    deliver("orders/paid", friend_order(code, ip="198.51.100.5"))
    referral = referral_of(session)
    referrals.approve(session, shop, referral, "staff:1", now=referral.due_at + timedelta(days=1))
    session.commit()
    assert referral_of(session).status == "paid"


def test_denying_a_flagged_referral_never_pays(deliver, session, shop, code):
    deliver("orders/paid", friend_order(code, ip="198.51.100.5"))
    referrals.deny(session, shop, referral_of(session), "staff:1")
    session.commit()
    assert referral_of(session).status == "denied"
    assert referrals.settle_due(session, shop, utcnow() + timedelta(days=PENDING_DAYS + 1)) == 0
    assert referral_points(session) == []
    with pytest.raises(referrals.ReferralError):
        referrals.deny(session, shop, referral_of(session), "staff:1")


def test_only_the_friends_first_order_is_a_referral(deliver, session, shop, code):
    deliver("orders/paid", buyer(1999, FRIEND, ip="203.0.113.77", address="77 Friend Street"))  # before the link
    deliver("orders/paid", friend_order(code))
    assert referral_of(session) is None
    deliver("orders/paid", friend_order(code, order_id=2003, customer_id=8))
    deliver("orders/paid", friend_order(code, order_id=2004, customer_id=8))  # 8's second order
    assert referral_of(session, 2003) is not None and referral_of(session, 2004) is None


def test_the_friends_discount_code_alone_carries_the_referral(deliver, session, shop, code):
    friend = referrals.reserve_friend_code(session, shop, referrals.find_code(session, shop, code), "v" * 20, None)
    friend.state = "active"
    session.commit()
    order = friend_order(None)
    order["discount_codes"] = [{"code": friend.code.lower(), "amount": "8.00", "type": "percentage"}]
    deliver("orders/paid", order)
    assert (referral_of(session).status, referral_of(session).via) == ("pending", "discount_code")


def test_an_unknown_or_malformed_code_on_an_order_is_no_referral(deliver, session, shop, code):
    deliver("orders/paid", friend_order("zzzzzzzzzz"))
    deliver("orders/paid", friend_order("<script>", order_id=2002))
    assert session.query(Referral).count() == 0


def test_redacting_the_friend_forgets_their_fingerprints_and_email_but_keeps_the_referral(deliver, session, shop,
                                                                                          code):
    from loyalty_app.models import OrderFingerprint
    from tests.helpers import payload

    deliver("orders/paid", friend_order(code))
    redact = payload("compliance/customers_redact.json")
    redact["customer"].update(id=FRIEND, email=f"c{FRIEND}@example.com")
    redact["orders_to_redact"] = [2001]
    deliver("customers/redact", redact)
    referral = referral_of(session)
    assert referral is not None and (referral.friend_email, referral.friend_customer_id) == (None, None)
    assert session.query(OrderFingerprint).filter_by(order_id=2001).count() == 0
    assert session.query(OrderFingerprint).filter_by(order_id=1001).count() == 1  # the referrer's stay


def test_the_cli_settles_a_shops_due_referrals_at_a_given_moment(deliver, session, shop, code, runner):
    from tests.conftest import SHOP_DOMAIN

    deliver("orders/paid", friend_order(code))
    due = referral_of(session).due_at
    early = runner.invoke(args=["loyalty", "referrals-settle", SHOP_DOMAIN, "--at",
                                (due - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S%z")])
    assert early.exit_code == 0 and "0 referral(s) paid" in early.output
    late = runner.invoke(args=["loyalty", "referrals-settle", SHOP_DOMAIN, "--at",
                               (due + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S%z")])
    assert late.exit_code == 0 and "1 referral(s) paid" in late.output, late.output
    assert referral_of(session).status == "paid"
    assert runner.invoke(args=["loyalty", "referrals-settle", "nope.myshopify.com"]).exit_code == 1
    assert runner.invoke(args=["loyalty", "referrals-settle", SHOP_DOMAIN, "--at", "yesterday"]).exit_code == 2


def test_a_test_order_is_no_referral_unless_the_shop_counts_test_orders(deliver, session, shop, code):
    deliver("orders/paid", friend_order(code, test=True))
    assert referral_of(session) is None
    update_settings(shop, {"include_test_orders": True})
    session.commit()
    deliver("orders/paid", friend_order(code, order_id=2002, test=True))
    assert referral_of(session, 2002) is not None


def test_a_data_request_reports_the_customers_referrals_both_ways(deliver, session, shop, code):
    from loyalty_app.models import DataRequest
    from tests.helpers import payload

    deliver("orders/paid", friend_order(code))
    for customer_id in (REFERRER, FRIEND):
        request = payload("compliance/customers_data_request.json")
        request["customer"].update(id=customer_id, email=f"c{customer_id}@example.com")
        deliver("customers/data_request", request)
    reports = {r.customer_id: r.report["referrals"] for r in session.query(DataRequest)}
    assert reports[REFERRER]["code"] == code and [r["order_id"] for r in reports[REFERRER]["made"]] == [2001]
    assert reports[REFERRER]["referred_by"] == []
    assert [r["order_id"] for r in reports[FRIEND]["referred_by"]] == [2001] and reports[FRIEND]["code"] is None
