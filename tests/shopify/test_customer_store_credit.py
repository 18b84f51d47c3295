"""Reading a customer's store credit balances: the request Shopify receives and what its answers mean."""
import pytest
import responses

from loyalty_app.shopify.client import AdminClient
from loyalty_app.shopify.customer_store_credit import Balance, store_credit_balances
from loyalty_app.shopify.errors import GraphQLErrors
from tests.fake_admin import FakeAdmin


@pytest.fixture
def fake():
    with responses.RequestsMock() as rsps:
        yield FakeAdmin(rsps)


@pytest.fixture
def client():
    return AdminClient("demo-shop.myshopify.com", "t", api_version="2026-10", sleep=lambda _: None)


def accounts(*balances):
    return {"customer": {"storeCreditAccounts": {"nodes": [
        {"balance": {"amount": amount, "currencyCode": currency}} for amount, currency in balances]}}}


def test_one_balance_per_account(fake, client):
    fake.answer(accounts(("125.5", "NOK"), ("10.0", "EUR")))
    assert store_credit_balances(client, 207119551) == [Balance("125.5", "NOK"), Balance("10.0", "EUR")]
    assert fake.sent("CustomerStoreCreditBalances") == [{"id": "gid://shopify/Customer/207119551"}]


def test_no_account_and_unknown_customer(fake, client):
    fake.answer(accounts()).answer({"customer": None})
    assert store_credit_balances(client, 5) == []
    assert store_credit_balances(client, 6) is None


def test_a_missing_scope_is_an_error_not_an_empty_balance(fake, client):
    fake.answer(errors=[{"message": "Access denied for storeCreditAccounts field.",
                         "extensions": {"code": "ACCESS_DENIED"}}])
    with pytest.raises(GraphQLErrors, match="Access denied"):
        store_credit_balances(client, 5)
