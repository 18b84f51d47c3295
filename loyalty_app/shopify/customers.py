"""Customer metafields and tags that let Liquid and merchants see a member's standing without a request."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from .client import AdminClient
from .discounts import customer_gid

NAMESPACE = "$app:loyalty"
MAX_METAFIELDS_PER_CALL = 25  # Shopify's limit for metafieldsSet
TIER_TAG_PREFIX = "loyalty-tier:"


@dataclass(frozen=True)
class Standing:
    """What the storefront shows before any request: balance and tier."""

    customer_id: int
    balance: int
    tier: str | None


def _metafields(standing: Standing) -> list[dict[str, str]]:
    owner = customer_gid(standing.customer_id)
    return [
        {"ownerId": owner, "namespace": NAMESPACE, "key": "balance", "type": "number_integer",
         "value": str(standing.balance)},
        {"ownerId": owner, "namespace": NAMESPACE, "key": "tier", "type": "single_line_text_field",
         "value": standing.tier or ""},
    ]


def _chunks(items: list[dict[str, str]], size: int) -> Iterator[list[dict[str, str]]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def write_standings(client: AdminClient, standings: list[Standing]) -> int:
    """Write balance and tier metafields for many members, 25 metafields a call; returns calls made."""
    metafields = [m for standing in standings for m in _metafields(standing)]
    calls = 0
    for chunk in _chunks(metafields, MAX_METAFIELDS_PER_CALL):
        client.mutate("MetafieldsSet", "metafieldsSet", {"metafields": chunk})
        calls += 1
    return calls


def set_tier_tag(client: AdminClient, customer_id: int, tier: str | None, all_tiers: list[str]) -> None:
    """Tag the customer with their tier (``loyalty-tier:Gold``) and remove the other tiers' tags."""
    owner = customer_gid(customer_id)
    stale = [TIER_TAG_PREFIX + name for name in all_tiers if name != tier]
    if stale:
        client.mutate("TagsRemove", "tagsRemove", {"id": owner, "tags": stale})
    if tier:
        client.mutate("TagsAdd", "tagsAdd", {"id": owner, "tags": [TIER_TAG_PREFIX + tier]})


def email_marketing_subscribed(client: AdminClient, customer_id: int) -> bool:
    """Whether Shopify records the customer's consent to email marketing (``marketingState`` SUBSCRIBED).

    Shopify's own record, never the shopper's click: the newsletter action pays only for it. An
    unknown customer, or one without an email address, has not consented.
    """
    data = client.execute("CustomerEmailMarketing", {"id": customer_gid(customer_id)})
    address = (data.get("customer") or {}).get("defaultEmailAddress") or {}
    return address.get("marketingState") == "SUBSCRIBED"
