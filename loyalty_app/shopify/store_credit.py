"""Shopify's native store credit: credit and debit a customer's account, and read back what landed.

In 2026-10 neither ``storeCreditAccountCredit`` nor ``storeCreditAccountDebit`` takes an
idempotency key (the ``@idempotent`` directive works only on mutations that document it, and
these do not), and transactions carry no note or reference of ours until 2027-01. So whether
a call that timed out landed is answered by reading the account's recent transactions
(``recent_transactions``) and matching amount, currency, expiry and time.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from .client import AdminClient
from .discounts import customer_gid
from .errors import ShopifyError, UserErrors

UNAVAILABLE_CODES = frozenset({"ACCOUNT_NOT_FOUND", "OWNER_NOT_FOUND", "UNSUPPORTED_CURRENCY"})
"""``userErrors`` codes meaning store credit cannot be given to this customer in this currency at all."""


@dataclass(frozen=True)
class Transaction:
    """One store credit transaction as Shopify reports it."""

    id: str
    kind: str  # credit | debit
    amount: Decimal  # positive for both kinds
    currency: str
    created_at: datetime
    expires_at: datetime | None = None


def _money(amount: Decimal, currency: str) -> dict[str, str]:
    return {"amount": str(amount), "currencyCode": currency}


def credit(client: AdminClient, customer_id: int, amount: Decimal, currency: str, expires_at: datetime | None,
           notify: bool) -> str:
    """Credit the customer's store credit account (Shopify opens one if needed); returns the transaction id."""
    credit_input: dict[str, Any] = {"creditAmount": _money(amount, currency), "notify": notify}
    if expires_at is not None:
        credit_input["expiresAt"] = expires_at.isoformat()
    result = client.mutate("StoreCreditAccountCredit", "storeCreditAccountCredit",
                           {"id": customer_gid(customer_id), "creditInput": credit_input})
    return _transaction_id(result, "StoreCreditAccountCredit")


def debit(client: AdminClient, customer_id: int, amount: Decimal, currency: str) -> str:
    """Debit the customer's store credit account in ``currency`` (Shopify takes the owner's id); returns the
    transaction id."""
    result = client.mutate("StoreCreditAccountDebit", "storeCreditAccountDebit",
                           {"id": customer_gid(customer_id), "debitInput": {"debitAmount": _money(amount, currency)}})
    return _transaction_id(result, "StoreCreditAccountDebit")


def _transaction_id(result: dict[str, Any], name: str) -> str:
    transaction = result.get("storeCreditAccountTransaction")
    if not transaction or not transaction.get("id"):
        raise ShopifyError(f"{name}: no transaction in Shopify's answer")
    return str(transaction["id"])


def _accounts(client: AdminClient, customer_id: int) -> list[dict[str, Any]]:
    customer = client.execute("StoreCreditTransactions", {"customerId": customer_gid(customer_id)}).get("customer")
    return list(((customer or {}).get("storeCreditAccounts") or {}).get("nodes") or [])


def recent_transactions(client: AdminClient, customer_id: int) -> list[Transaction]:
    """The customer's latest credits and debits (50 per account, newest first); empty if they have no account."""
    found = []
    for account in _accounts(client, customer_id):
        for node in account["transactions"]["nodes"]:
            kind = {"StoreCreditAccountCreditTransaction": "credit",
                    "StoreCreditAccountDebitTransaction": "debit"}.get(node["__typename"])
            if kind is None:  # expirations and debit reverts are Shopify's own, never ours
                continue
            expires = node.get("expiresAt")
            found.append(Transaction(
                id=node["id"], kind=kind, amount=abs(Decimal(node["amount"]["amount"])),
                currency=node["amount"]["currencyCode"], created_at=_parse_time(node["createdAt"]),
                expires_at=_parse_time(expires) if expires else None))
    return found


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def store_credit_enabled(client: AdminClient) -> bool:
    """Whether the shop lets customers spend store credit at checkout (its store credit setting)."""
    config = client.execute("StoreCreditConfiguration").get("storeCreditConfiguration") or {}
    return bool(config.get("storeCreditEnabled"))


def unavailable(exc: ShopifyError) -> bool:
    """Whether Shopify refused because store credit cannot go to this customer (no account, no such currency)."""
    return isinstance(exc, UserErrors) and any(e.get("code") in UNAVAILABLE_CODES for e in exc.errors)
