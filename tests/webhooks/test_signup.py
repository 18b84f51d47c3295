"""The signup bonus is paid once, when a customer gets an account (README, "Signup bonus").

Bodies are Shopify's sample customer (tests/helpers.py ``simple_customer``) with the account
``state`` and ``created_at`` each case needs, delivered through /webhooks.
"""
from datetime import timedelta

from loyalty_app.models import LedgerEntry, WebhookEvent
from loyalty_app.services.members import find_member
from tests.helpers import simple_customer


def signup_points(session, shop):
    session.expire_all()
    member = find_member(session, shop.id, 207119551)
    assert member is not None  # every customer event enrols the customer
    signups = session.query(LedgerEntry).filter_by(member_id=member.id, source="action:signup").all()
    assert sum(e.amount for e in signups) == member.balance  # nothing else earned in these cases
    return member.balance


def outcomes(session):
    session.expire_all()
    return [(e.topic, e.status, e.result) for e in session.query(WebhookEvent).order_by(WebhookEvent.id)]


def before_install(shop):
    return (shop.installed_at - timedelta(days=400)).isoformat()


def test_update_of_an_existing_customer_pays_nothing(deliver, session, shop):
    deliver("customers/update", simple_customer(state="enabled", created_at=before_install(shop)))
    deliver("customers/update", simple_customer(state="enabled"))  # even one created since, with an account
    assert signup_points(session, shop) == 0
    assert [r[2] for r in outcomes(session)] == ["enrolled", "updated"]


def test_create_of_a_customer_from_before_the_install_pays_nothing(deliver, session, shop):
    deliver("customers/create", simple_customer(state="enabled", created_at=before_install(shop)))
    deliver("customers/enable", simple_customer(state="enabled", created_at=before_install(shop)))
    assert signup_points(session, shop) == 0


def test_create_with_an_account_pays_once(deliver, session, shop):
    customer = simple_customer(state="enabled")
    deliver("customers/create", customer)
    deliver("customers/create", customer, webhook_id="replayed-under-a-new-id")
    deliver("customers/enable", customer)  # Shopify may also say it this way
    deliver("customers/update", dict(customer, first_name="Roberta"))
    assert signup_points(session, shop) == 100
    assert [r[2] for r in outcomes(session)] == ["enrolled, signup bonus", "updated", "updated", "updated"]


def test_create_without_an_account_pays_nothing_until_enabled(deliver, session, shop):
    created_at = simple_customer()["created_at"]
    deliver("customers/create", simple_customer(state="disabled", created_at=created_at))  # e.g. a guest checkout
    deliver("customers/update", simple_customer(state="invited", created_at=created_at))  # the merchant invites
    assert signup_points(session, shop) == 0
    deliver("customers/enable", simple_customer(state="enabled", created_at=created_at))  # invite accepted
    assert signup_points(session, shop) == 100
    deliver("customers/enable", simple_customer(state="enabled", created_at=created_at), webhook_id="again")
    deliver("customers/update", simple_customer(state="enabled", created_at=created_at))
    assert signup_points(session, shop) == 100
    assert [r[2] for r in outcomes(session)] == ["enrolled", "updated", "updated, signup bonus", "updated", "updated"]


def test_a_bad_creation_time_fails_the_event_readably(deliver, session, shop):
    deliver("customers/create", simple_customer(created_at="yesterday"))
    [(topic, status, _)] = outcomes(session)
    error = session.query(WebhookEvent).one().error
    assert (topic, status) == ("customers/create", "failed") and "created_at: Not a valid datetime" in error
