"""A customer's store credit balances, read from Shopify (the POS block shows them to staff).

Shopify holds the balance: one store credit account per currency, owned by the customer. We never
keep a copy, so what staff see is what checkout will accept. Needs the ``read_store_credit_accounts``
scope.
"""
from __future__ import annotations

from dataclasses import dataclass

from .client import AdminClient
from .discounts import customer_gid


@dataclass(frozen=True)
class Balance:
    """One store credit account's balance: a decimal string as Shopify sends it, and an ISO currency code."""

    amount: str
    currency: str


def store_credit_balances(client: AdminClient, customer_id: int) -> list[Balance] | None:
    """The customer's store credit balances, one per account; None when Shopify knows no such customer.

    An empty list means the customer has no store credit account (or the shop has store credit
    turned off). Raises the client's ``ShopifyError`` subclasses when Shopify cannot be asked.
    """
    customer = client.execute("CustomerStoreCreditBalances", {"id": customer_gid(customer_id)}).get("customer")
    if customer is None:
        return None
    return [Balance(node["balance"]["amount"], node["balance"]["currencyCode"])
            for node in customer["storeCreditAccounts"]["nodes"]]
