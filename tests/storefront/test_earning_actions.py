"""The widget's earning endpoints: ``POST /proxy/birthday`` and ``POST /proxy/actions/<action>``."""
from datetime import date

import pytest
import requests
import responses

from loyalty_app.models import EarningRule, LedgerEntry
from loyalty_app.services.members import find_member
from tests.fake_admin import FakeAdmin
from tests.helpers import proxy_query, simple_customer

SUBSCRIBED = {"customer": {"defaultEmailAddress": {"marketingState": "SUBSCRIBED"}}}
NOT_SUBSCRIBED = {"customer": {"defaultEmailAddress": {"marketingState": "NOT_SUBSCRIBED"}}}


def post(client, path, customer_id, body=None, **kwargs):
    return client.post(f"/proxy/{path}", query_string=proxy_query(customer_id), **({"json": body} | kwargs))


@pytest.fixture
def fake():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield FakeAdmin(rsps)


def action_entries(session, action):
    return session.query(LedgerEntry).filter_by(kind="action", source=f"action:{action}").all()


# --- birthday -------------------------------------------------------------------------------------------------

def test_the_shopper_sets_a_birthday_once(client, session, shop):
    response = post(client, "birthday", 5, {"birthday": "05-17"})
    assert (response.status_code, response.json) == (200, {"birthday": "05-17"})
    member = find_member(session, shop.id, 5)
    assert (member.birthday, member.birthday_set_by) == (date(2000, 5, 17), "shopper")
    again = post(client, "birthday", 5, {"birthday": "06-01"})
    assert (again.status_code, again.json["error"]) == (409, "birthday_locked")
    session.expire_all()
    assert find_member(session, shop.id, 5).birthday == date(2000, 5, 17)


def test_a_year_is_accepted_and_ignored(client, session, shop):
    assert post(client, "birthday", 5, {"birthday": "1990-02-29"}).json == {"birthday": "02-29"}


def test_a_guest_cannot_set_a_birthday(client, shop):
    response = post(client, "birthday", None, {"birthday": "05-17"})
    assert (response.status_code, response.json["error"]) == (401, "sign_in_required")


@pytest.mark.parametrize("body", [{"birthday": "02-30"}, {"birthday": "13-01"}, {"birthday": "5-17"},
                                  {"birthday": 517}, {"birthday": None}, {}, {"birthday": "05-17T00:00"}])
def test_a_bad_birthday_is_a_400(client, session, shop, body):
    response = post(client, "birthday", 5, body)
    assert (response.status_code, response.json["error"]) == (400, "bad_request")
    assert find_member(session, shop.id, 5) is None


def test_a_birthday_body_that_is_not_json_is_a_400(client, shop):
    response = post(client, "birthday", 5, data=b"{not json", content_type="application/json")
    assert response.status_code == 400


def test_an_unsigned_birthday_is_a_401(client, shop):
    response = client.post("/proxy/birthday", query_string=[("shop", shop.domain)], json={"birthday": "05-17"})
    assert (response.status_code, response.json["error"]) == (401, "bad_signature")


# --- social follow --------------------------------------------------------------------------------------------

def test_follow_pays_once_and_a_replay_answers_the_same(client, session, shop):
    first = post(client, "actions/social_follow", 5, {"idempotency_key": "click-0001"})
    assert (first.status_code, first.json) == (200, {"points": 25, "balance": 25, "state": "done"})
    replay = post(client, "actions/social_follow", 5, {"idempotency_key": "click-0001"})
    assert (replay.status_code, replay.json) == (200, first.json)
    second = post(client, "actions/social_follow", 5, {"idempotency_key": "click-0002"})
    assert (second.status_code, second.json["error"]) == (409, "limit_reached")
    assert len(action_entries(session, "social_follow")) == 1


def test_follow_within_a_per_period_limit(client, session, shop):
    session.query(EarningRule).filter_by(action="social_follow").update(
        {"limit_kind": "per_period", "limit_count": 2, "period_days": 30})
    session.commit()
    states = [post(client, "actions/social_follow", 5, {"idempotency_key": f"click-000{i}"}) for i in range(3)]
    assert [(r.status_code, r.json.get("state") or r.json["error"]) for r in states] == [
        (200, "done"), (200, "limit_reached"), (409, "limit_reached")]
    assert len(action_entries(session, "social_follow")) == 2


def test_an_action_the_shop_does_not_run_is_a_404(client, session, shop):
    session.query(EarningRule).filter_by(action="social_follow").update({"active": False})
    session.commit()
    for action in ("social_follow", "signup", "birthday", "nonsense"):
        response = post(client, f"actions/{action}", 5, {"idempotency_key": "click-0001"})
        assert (response.status_code, response.json["error"]) == (404, "unknown_action"), action
    assert session.query(LedgerEntry).count() == 0


@pytest.mark.parametrize("body", [{}, {"idempotency_key": "short"}, {"idempotency_key": "x" * 101},
                                  {"idempotency_key": "has space!"}, {"idempotency_key": 12345678}])
def test_a_click_without_a_good_key_is_a_400(client, session, shop, body):
    response = post(client, "actions/social_follow", 5, body)
    assert (response.status_code, response.json["error"]) == (400, "bad_request")


def test_a_guest_click_is_a_401(client, shop):
    response = post(client, "actions/social_follow", None, {"idempotency_key": "click-0001"})
    assert (response.status_code, response.json["error"]) == (401, "sign_in_required")


def test_clicks_are_rate_limited(client, session, shop):
    responses_ = [post(client, "actions/social_follow", 5, {"idempotency_key": f"click-{i:04}"}) for i in range(11)]
    assert [r.status_code for r in responses_][-1] == 429 and responses_[-1].json["error"] == "rate_limited"


# --- newsletter -----------------------------------------------------------------------------------------------

def test_newsletter_is_not_credited_without_shopifys_consent(client, session, shop, fake):
    fake.serve("CustomerEmailMarketing", lambda _body: NOT_SUBSCRIBED)
    response = post(client, "actions/newsletter", 5, {"idempotency_key": "click-0001"})
    assert (response.status_code, response.json["error"]) == (409, "consent_required")
    assert fake.sent("CustomerEmailMarketing") == [{"id": "gid://shopify/Customer/5"}]
    assert action_entries(session, "newsletter") == []


def test_newsletter_is_credited_once_shopify_has_consent(client, session, shop, fake):
    fake.serve("CustomerEmailMarketing", lambda _body: SUBSCRIBED)
    first = post(client, "actions/newsletter", 5, {"idempotency_key": "click-0001"})
    assert (first.status_code, first.json) == (200, {"points": 50, "balance": 50, "state": "done"})
    again = post(client, "actions/newsletter", 5, {"idempotency_key": "click-0002"})
    assert (again.status_code, again.json) == (200, first.json)  # the same entry: nothing new
    assert len(fake.sent("CustomerEmailMarketing")) == 1  # the second click asked nobody
    assert len(action_entries(session, "newsletter")) == 1


def test_newsletter_for_a_customer_shopify_does_not_know(client, session, shop, fake):
    fake.serve("CustomerEmailMarketing", lambda _body: {"customer": None})
    assert post(client, "actions/newsletter", 5, {"idempotency_key": "click-0001"}).status_code == 409


def test_newsletter_when_shopify_fails_is_a_502_and_credits_nothing(client, session, shop, fake):
    fake.answer(raise_exc=requests.ConnectionError("down")).answer(raise_exc=requests.ConnectionError("down"))
    response = post(client, "actions/newsletter", 5, {"idempotency_key": "click-0001"})
    assert (response.status_code, response.json["error"]) == (502, "shopify_failed")
    assert action_entries(session, "newsletter") == []


def test_newsletter_is_credited_once_when_consent_arrives_by_webhook(client, deliver, session, shop, fake):
    customer = simple_customer(state="disabled", id=5)
    assert deliver("customers/create", customer).status_code == 200
    session.expire_all()
    assert action_entries(session, "newsletter") == []  # not_subscribed in Shopify's sample
    customer["email_marketing_consent"] = {**customer["email_marketing_consent"], "state": "subscribed"}
    for _ in range(2):
        assert deliver("customers/update", customer).status_code == 200
    session.expire_all()
    assert [(e.amount, e.idempotency_key) for e in action_entries(session, "newsletter")] == [
        (50, f"action:newsletter:{find_member(session, shop.id, 5).id}:subscribed")]
    # The widget's click afterwards answers the same entry without asking Shopify.
    response = post(client, "actions/newsletter", 5, {"idempotency_key": "click-0001"})
    assert (response.status_code, response.json["points"]) == (200, 50)
    assert fake.sent("CustomerEmailMarketing") == []
    # Unsubscribing and subscribing again pays nothing more.
    customer["email_marketing_consent"]["state"] = "unsubscribed"
    deliver("customers/update", customer)
    customer["email_marketing_consent"]["state"] = "subscribed"
    deliver("customers/update", customer)
    session.expire_all()
    assert len(action_entries(session, "newsletter")) == 1


def test_a_shop_without_a_newsletter_rule_pays_nothing_for_consent(client, deliver, session, shop, fake):
    session.query(EarningRule).filter_by(action="newsletter").update({"active": False})
    session.commit()
    customer = simple_customer(state="disabled", id=5)
    customer["email_marketing_consent"] = {**customer["email_marketing_consent"], "state": "subscribed"}
    assert deliver("customers/update", customer).status_code == 200
    response = post(client, "actions/newsletter", 5, {"idempotency_key": "click-0001"})
    assert (response.status_code, response.json["error"]) == (404, "unknown_action")
    session.expire_all()
    assert action_entries(session, "newsletter") == [] and fake.requests == []
