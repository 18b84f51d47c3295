"""Per-shop API keys for the merchant's own systems: created and shown once, stored hashed, revocable."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import ApiKey, Shop, utcnow

KEY_PREFIX = "lyk_"
"""Every key starts with this, so a bearer token is told apart from a session token (a JWT) at a glance."""

USE_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class NewKey:
    """A key just created: ``secret`` exists only here and in the one answer that shows it."""

    key: ApiKey
    secret: str


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(session: Session, shop: Shop, name: str, actor: str) -> NewKey:
    """A new key for ``shop``; flushes, the caller commits."""
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(shop_id=shop.id, name=name, prefix=secret[:12], key_hash=_digest(secret), created_by=actor)
    session.add(key)
    session.flush()
    return NewKey(key, secret)


def list_keys(session: Session, shop: Shop) -> list[ApiKey]:
    """The shop's keys, newest first, revoked ones included so the list is an audit trail."""
    return list(session.execute(select(ApiKey).where(ApiKey.shop_id == shop.id).order_by(ApiKey.id.desc())).scalars())


def revoke_key(session: Session, shop: Shop, key_id: int) -> ApiKey | None:
    """Revoke one of the shop's keys (None if the shop has no such key); the caller commits."""
    key = session.get(ApiKey, key_id)
    if key is None or key.shop_id != shop.id:
        return None
    if key.revoked_at is None:
        key.revoked_at = utcnow()
    return key


def key_owner(session: Session, secret: str) -> tuple[ApiKey, Shop] | None:
    """The live key and its active shop for a presented secret, or None.

    Notes when the key was last used, to the minute, so a busy integration does not write on every
    read; the caller commits.
    """
    if not secret.startswith(KEY_PREFIX):
        return None
    found = session.execute(select(ApiKey, Shop).join(Shop, Shop.id == ApiKey.shop_id)
                            .where(ApiKey.key_hash == _digest(secret))).first()
    if found is None or found[0].revoked_at is not None or not found[1].active:
        return None
    now = utcnow()
    if found[0].last_used_at is None or now - found[0].last_used_at > USE_RESOLUTION:
        found[0].last_used_at = now
    return found[0], found[1]
