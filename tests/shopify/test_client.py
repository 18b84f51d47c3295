"""The Admin client: retries, throttling, revoked tokens and userErrors, with the requests it makes counted."""
import pytest
import requests
import responses

from loyalty_app.shopify.client import AdminClient, throttle_wait
from loyalty_app.shopify.errors import GraphQLErrors, OutcomeUnknown, ShopifyUnavailable, TokenRevoked, UserErrors
from tests.fake_admin import FakeAdmin, throttled

DEACTIVATED = {"discountCodeDeactivate": {"codeDiscountNode": {"id": "gid://shopify/DiscountCodeNode/1"},
                                          "userErrors": []}}


@pytest.fixture
def fake():
    with responses.RequestsMock() as rsps:
        yield FakeAdmin(rsps)


def make_client(sleeps, revoked=None, **options):
    return AdminClient("demo-shop.myshopify.com", "shpat_secret", api_version="2026-10", sleep=sleeps.append,
                       on_revoked=revoked, **options)


def deactivate(client):
    return client.mutate("DiscountCodeDeactivate", "discountCodeDeactivate", {"id": "gid://shopify/DiscountCodeNode/1"})


def test_sends_the_token_to_the_pinned_version(fake):
    sleeps = []
    fake.answer(DEACTIVATED)
    assert deactivate(make_client(sleeps))["codeDiscountNode"]["id"] == "gid://shopify/DiscountCodeNode/1"
    assert len(fake.requests) == 1 and sleeps == []
    assert "shpat_secret" not in repr(make_client(sleeps))


def test_throttled_then_success_waits_for_the_bucket(fake):
    sleeps = []
    body = throttled(available=10, requested=50, restore=100)
    fake.answer(errors=body["errors"], extensions=body["extensions"]).answer(DEACTIVATED)
    deactivate(make_client(sleeps))
    assert len(fake.requests) == 2
    assert sleeps == [pytest.approx(0.45)]  # (50 - 10) / 100 s plus a small margin


def test_throttled_for_too_long_gives_up(fake):
    body = throttled()
    for _ in range(3):
        fake.answer(errors=body["errors"], extensions=body["extensions"])
    with pytest.raises(ShopifyUnavailable):
        deactivate(make_client([], max_throttle_waits=2))
    assert len(fake.requests) == 3


def test_5xx_then_success(fake):
    sleeps = []
    fake.answer(status=502).answer(status=503).answer(DEACTIVATED)
    deactivate(make_client(sleeps))
    assert len(fake.requests) == 3 and len(sleeps) == 2


def test_5xx_beyond_retries_is_unavailable(fake):
    for _ in range(3):
        fake.answer(status=500)
    with pytest.raises(ShopifyUnavailable):
        deactivate(make_client([], max_retries=2))
    assert len(fake.requests) == 3


def test_timeout_is_retried(fake):
    sleeps = []
    fake.answer(raise_exc=requests.ReadTimeout("slow")).answer(raise_exc=requests.ConnectionError("reset"))
    fake.answer(DEACTIVATED)
    deactivate(make_client(sleeps))
    assert len(fake.requests) == 3 and len(sleeps) == 2


def test_401_reports_the_revoked_token_once_and_does_not_retry(fake):
    revoked = []
    fake.answer(status=401)
    with pytest.raises(TokenRevoked):
        deactivate(make_client([], revoked=lambda: revoked.append(True)))
    assert len(fake.requests) == 1 and revoked == [True]


def test_user_errors_are_raised(fake):
    fake.answer({"discountCodeDeactivate": {"codeDiscountNode": None, "userErrors": [
        {"field": ["id"], "message": "Discount does not exist", "code": "INVALID"}]}})
    with pytest.raises(UserErrors, match="id: Discount does not exist"):
        deactivate(make_client([]))
    assert len(fake.requests) == 1


def test_graphql_errors_are_raised(fake):
    fake.answer(errors=[{"message": "Access denied for discountCodeDeactivate field.",
                         "extensions": {"code": "ACCESS_DENIED"}}])
    with pytest.raises(GraphQLErrors, match="Access denied"):
        deactivate(make_client([]))


def test_throttle_wait_without_cost_falls_back():
    assert throttle_wait(None) == 1.0


def trigger(client):
    return client.mutate("FlowTriggerReceive", "flowTriggerReceive",
                         {"handle": "loyalty-points-earned", "payload": {"customer_id": 1}}, at_most_once=True)


@pytest.mark.parametrize("failure", [dict(raise_exc=requests.ReadTimeout("slow")),
                                     dict(raise_exc=requests.ConnectionError("reset")), dict(status=502)])
def test_at_most_once_never_repeats_a_request_that_may_have_run(fake, failure):
    fake.answer(**failure).answer({"flowTriggerReceive": {"userErrors": []}})
    with pytest.raises(OutcomeUnknown):
        trigger(make_client([]))
    assert len(fake.requests) == 1


@pytest.mark.parametrize("failure", [dict(raise_exc=requests.ConnectTimeout("no route")), dict(status=429)])
def test_at_most_once_still_retries_what_never_ran(fake, failure):
    fake.answer(**failure).answer({"flowTriggerReceive": {"userErrors": []}})
    assert trigger(make_client([])) == {"userErrors": []}
    assert len(fake.requests) == 2
