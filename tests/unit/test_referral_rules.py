"""Referral rules without a database: reading the order, each fraud rule, and when a referral settles."""
from datetime import datetime, timedelta, timezone

import pytest

from loyalty_app.program import referrals as rules
from loyalty_app.program.referrals import Fingerprint
from tests.helpers import payload

SHOP = 7
NOW = datetime(2026, 11, 25, 12, tzinfo=timezone.utc)


def order(**changes):
    """Shopify's sample order (rest-2026-07/order_450789469.json) with the fields a test cares about changed."""
    body = payload("rest-2026-07/order_450789469.json")
    body["client_details"].update(browser_ip="203.0.113.9", user_agent="Mozilla/5.0 (X11; Linux x86_64)",
                                  accept_language="nb-NO", browser_width=1280, browser_height=800)
    body["browser_ip"] = "203.0.113.9"
    body.update(changes)
    return body


def test_the_cart_attribute_is_read_from_note_attributes():
    body = order(note_attributes=[{"name": "colour", "value": "green"},
                                  {"name": rules.CART_ATTRIBUTE, "value": " ABCDEFGH23 "}])
    assert rules.referral_attribute(body) == "abcdefgh23"
    assert rules.referral_attribute(order()) is None  # the sample's own attributes are not ours
    for bad in ("short", "abcdefgh2!", "0123456789", None, 5):
        assert rules.referral_attribute(order(note_attributes=[{"name": rules.CART_ATTRIBUTE, "value": bad}])) is None
    assert rules.referral_attribute(order(note_attributes="nonsense")) is None


def test_fingerprints_compare_normalised_values_per_shop():
    one = rules.order_fingerprint(SHOP, order())
    spaced = order(email="  BOB.norman@mail.example.com ")
    spaced["shipping_address"]["address1"] = "chestnut  street 92"
    two = rules.order_fingerprint(SHOP, spaced)
    assert (one.email, one.address, one.ip, one.device) == (two.email, two.address, two.ip, two.device)
    assert one.customer_id == 207119551
    assert rules.order_fingerprint(SHOP + 1, order()).ip != one.ip  # salted per shop
    assert "203.0.113.9" not in repr(one)
    bare = rules.order_fingerprint(SHOP, order(browser_ip=None, client_details=None, shipping_address=None,
                                               customer=None, email=None))
    assert bare == Fingerprint()


def test_the_session_hash_names_the_device_when_shopify_gives_one():
    assert rules.device_text({"session_hash": "abc", "user_agent": "UA"}) == "session:abc"
    assert rules.device_text({"user_agent": None}) is None
    assert rules.device_text({"user_agent": "UA", "accept_language": "en", "browser_width": 1, "browser_height": 2}) \
        == "en|1|2|UA"


REFERRER = 111
REFERRER_EMAIL = rules.digest(SHOP, "email", "ref@example.com")
OWN_ORDER = Fingerprint(REFERRER, REFERRER_EMAIL, ip="ip-a", device="dev-a", address="addr-a")


def reasons(friend, own=(OWN_ORDER,), in_period=0, cap=10):
    return rules.fraud_reasons(friend, REFERRER_EMAIL, REFERRER, own, in_period, cap)


def test_a_clean_referral_matches_no_rule():
    friend = Fingerprint(222, rules.digest(SHOP, "email", "friend@example.com"), "ip-b", "dev-b", "addr-b")
    assert reasons(friend) == ()
    assert rules.initial_status(()) == "pending"


@pytest.mark.parametrize("friend, expected", [
    (Fingerprint(REFERRER, None), rules.SELF_REFERRAL),
    (Fingerprint(222, REFERRER_EMAIL), rules.SAME_EMAIL),
    (Fingerprint(222, None, address="addr-a"), rules.SAME_ADDRESS),
    (Fingerprint(222, None, ip="ip-a"), rules.SAME_IP),
    (Fingerprint(222, None, device="dev-a"), rules.SAME_DEVICE),
])
def test_each_fraud_rule(friend, expected):
    assert reasons(friend) == (expected,)
    assert reasons(friend, own=()) == ((expected,) if expected in (rules.SELF_REFERRAL, rules.SAME_EMAIL) else ())


def test_an_email_on_the_referrers_own_order_counts_too():
    other_email = rules.digest(SHOP, "email", "ref+shop@example.com")
    own = (Fingerprint(REFERRER, other_email),)
    assert reasons(Fingerprint(222, other_email), own=own) == (rules.SAME_EMAIL,)


def test_the_cap_flags_the_referral_that_would_exceed_it():
    friend = Fingerprint(222, None, "ip-b")
    assert reasons(friend, in_period=9, cap=10) == ()
    assert reasons(friend, in_period=10, cap=10) == (rules.OVER_CAP,)
    assert rules.in_cap_period(NOW - timedelta(days=29), NOW, 30)
    assert not rules.in_cap_period(NOW - timedelta(days=30), NOW, 30)


def test_self_referral_is_denied_outright_and_the_rest_wait_for_the_merchant():
    assert rules.initial_status((rules.SELF_REFERRAL, rules.SAME_IP)) == "denied"
    assert rules.initial_status((rules.SAME_EMAIL,)) == "denied"
    for reason in (rules.SAME_ADDRESS, rules.SAME_IP, rules.SAME_DEVICE, rules.OVER_CAP):
        assert rules.initial_status((reason,)) == "flagged"


def test_settle_decision():
    due = rules.due_at(NOW, 14)
    assert due == NOW + timedelta(days=14)
    assert rules.settle_decision("pending", due, due - timedelta(seconds=1), False) == "wait"
    assert rules.settle_decision("pending", due, due, False) == "pay"
    assert rules.settle_decision("pending", due, NOW, True) == "void"  # refunded within the period
    assert rules.settle_decision("pending", due, due + timedelta(days=5), True) == "void"  # refunded, seen late
    assert rules.settle_decision("flagged", due, due + timedelta(days=1), False) == "wait"  # the merchant decides
    assert rules.settle_decision("flagged", due, NOW, True) == "void"
    for final in ("paid", "void", "denied"):
        assert rules.settle_decision(final, due, due + timedelta(days=1), True) == "wait"


def test_referral_settings_are_validated():
    from marshmallow import ValidationError

    from loyalty_app.schemas import ProgramSettingsSchema

    loaded = ProgramSettingsSchema().load({"referral_cap": 3, "referral_cap_days": 7, "referral_friend_kind": "fixed_amount",
                                           "referral_friend_value": "150"})
    assert (loaded.referral_cap, loaded.referral_cap_days, str(loaded.referral_friend_value)) == (3, 7, "150")
    assert ProgramSettingsSchema().load({}).referral_friend_kind == "percentage"
    for bad in ({"referral_cap": 0}, {"referral_cap_days": 366}, {"referral_friend_kind": "store_credit"},
                {"referral_friend_value": "101"}, {"referral_friend_value": "-1"}):
        with pytest.raises(ValidationError):
            ProgramSettingsSchema().load(bad)
