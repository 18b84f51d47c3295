"""Mirror members' balance and tier to Shopify customer metafields (and optional tier tags)."""
from __future__ import annotations

from collections.abc import Callable
from itertools import groupby

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Member, Shop
from ..shopify.client import AdminClient
from ..shopify.customers import Standing, set_tier_tag, write_standings
from ..shopify.errors import TokenRevoked
from .connection import ReauthRequired
from .members import tier_rules
from .shops import program_settings


def sync_standings(session: Session, member_ids: list[int],
                   client_for: Callable[[Shop], AdminClient]) -> int:
    """Write the *current* balance and tier of each member, one metafieldsSet per 25 metafields per shop.

    Reading the values now, not when they changed, is what makes a burst of changes one write
    with the latest value. Redacted members are skipped. Returns the members written.
    """
    members = session.execute(
        select(Member).where(Member.id.in_(member_ids), Member.redacted_at.is_(None), Member.customer_id > 0)
        .order_by(Member.shop_id)
    ).scalars().all()
    written = 0
    for shop_id, group in groupby(members, key=lambda m: m.shop_id):
        shop = session.get(Shop, shop_id)
        if shop is None or not shop.active:
            continue
        batch = list(group)
        rules = tier_rules(session, shop_id)
        tier_names = {rule.key: rule.name for rule in rules}
        try:
            client = client_for(shop)
        except ReauthRequired:
            continue  # nothing to write with until the merchant opens the app again
        try:
            write_standings(client, [Standing(m.customer_id, m.balance, tier_names.get(m.tier_id)) for m in batch])
        except TokenRevoked:
            continue
        if program_settings(shop).tier_tags:
            for member in batch:
                set_tier_tag(client, member.customer_id, tier_names.get(member.tier_id), list(tier_names.values()))
        written += len(batch)
    return written
