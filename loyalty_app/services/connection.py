"""A shop's connection to Shopify: completing installs, fresh tokens, and the Admin client for a shop."""
from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import event, select, text
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from ..crypto import TokenBox
from ..models import Shop, utcnow
from ..shopify.client import AdminClient
from ..shopify.errors import GrantRefused, ShopifyError
from ..shopify.oauth import TokenEndpoint, TokenGrant
from .shops import install_shop

REFRESH_MARGIN = timedelta(minutes=5)


class ReauthRequired(ShopifyError):
    """The shop's token is gone or revoked: the merchant must open the app again."""


def complete_install(session: Session, domain: str, grant: TokenGrant, box: TokenBox) -> Shop:
    """Store a fresh grant (encrypted) and make sure the shop has its program."""
    return install_shop(session, domain, grant.access_token, box, scopes=grant.scope,
                        refresh_token=grant.refresh_token, token_expires_at=grant.expires_at)


def fresh_access_token(session: Session, shop: Shop, box: TokenBox, endpoint: TokenEndpoint,
                       new_session: Callable[[], Session]) -> str:
    """The shop's access token, refreshed first when it expires within five minutes.

    The refresh runs in a transaction of its own (from ``new_session``) that commits the new token
    pair, or the re-authorisation mark, whatever the caller's transaction does next: the caller's
    rollback can no longer lose the mark and send every later request to the token endpoint again.
    That transaction first locks the shop row (``SELECT ... FOR UPDATE``) and reads it again, so of
    two workers racing on a rotating refresh token one refreshes and the other uses its result.
    The caller's ``shop`` is updated in memory without being marked changed.

    Only a definitive refusal (``invalid_grant``) or a missing refresh token marks the shop; a
    timeout, a 5xx or a 429 raises ``TokenEndpointUnavailable`` (retry later) and marks nothing.

    On SQLite a caller inside a transaction already holds the database's only write lock (every
    transaction begins IMMEDIATE), so no one can race it and a second writer would wait on it:
    the refresh then runs in the caller's transaction, and a refusal's mark is written again in a
    transaction of its own if the caller rolls back. A lost token pair costs nothing there: Shopify
    accepts the old refresh token until its replacement is used.
    """
    _require_authorised(shop)
    if not _expiring(shop):
        return box.open(shop.access_token_encrypted)  # type: ignore[arg-type]
    if session.get_bind().dialect.name == "sqlite" and session.in_transaction():
        try:
            _refresh(shop, box, endpoint)
        except ReauthRequired:
            _mark_after_rollback(session, shop.id, new_session)
            raise
        return box.open(shop.access_token_encrypted)  # type: ignore[arg-type]
    own = new_session()
    try:
        if own.get_bind().dialect.name == "postgresql":
            # A caller that itself updated the shop row would otherwise wait on itself for ever.
            own.execute(text("SET LOCAL lock_timeout = '10s'"))
        locked = own.execute(select(Shop).where(Shop.id == shop.id).with_for_update()).scalar_one()
        try:
            _refresh(locked, box, endpoint)
        except ReauthRequired:
            own.commit()
            set_committed_value(shop, "needs_reauth", locked.needs_reauth)
            raise
        own.commit()
        for field in ("access_token_encrypted", "refresh_token_encrypted", "token_expires_at"):
            set_committed_value(shop, field, getattr(locked, field))
    finally:
        own.close()
    return box.open(shop.access_token_encrypted)  # type: ignore[arg-type]


def _require_authorised(shop: Shop) -> None:
    if shop.needs_reauth or not shop.access_token_encrypted or not shop.active:
        raise ReauthRequired(f"{shop.domain} must re-authenticate")


def _expiring(shop: Shop) -> bool:
    return shop.token_expires_at is not None and shop.token_expires_at - utcnow() < REFRESH_MARGIN


def _refresh(shop: Shop, box: TokenBox, endpoint: TokenEndpoint) -> None:
    """Refresh ``shop``'s token pair in its session unless it is fresh (another worker refreshed it)."""
    _require_authorised(shop)
    if not _expiring(shop):
        return
    if not shop.refresh_token_encrypted:
        shop.needs_reauth = True
        raise ReauthRequired(f"{shop.domain}: token expired and no refresh token")
    try:
        grant = endpoint.refresh(shop.domain, box.open(shop.refresh_token_encrypted))
    except GrantRefused as exc:
        shop.needs_reauth = True
        raise ReauthRequired(f"{shop.domain}: token refresh refused") from exc
    shop.access_token_encrypted = box.seal(grant.access_token)
    shop.refresh_token_encrypted = box.seal(grant.refresh_token) if grant.refresh_token else None
    shop.token_expires_at = grant.expires_at


def _mark_after_rollback(session: Session, shop_id: int, new_session: Callable[[], Session]) -> None:
    """Write the re-authorisation mark in a transaction of its own once ``session`` rolls back."""

    def _mark(_session: Session) -> None:
        own = new_session()
        try:
            mark_needs_reauth(own, shop_id)
            own.commit()
        finally:
            own.close()

    event.listen(session, "after_rollback", _mark, once=True)


def admin_client(session: Session, shop: Shop, box: TokenBox, endpoint: TokenEndpoint, *, api_version: str,
                 url_template: str, mark_revoked: Callable[[int], None], new_session: Callable[[], Session],
                 **options: object) -> AdminClient:
    """An Admin client for the shop with a fresh token; a 401/403 marks the shop via ``mark_revoked``."""
    token = fresh_access_token(session, shop, box, endpoint, new_session)
    shop_id = shop.id
    return AdminClient(shop.domain, token, api_version=api_version, url_template=url_template,
                       on_revoked=lambda: mark_revoked(shop_id), **options)  # type: ignore[arg-type]


def mark_needs_reauth(session: Session, shop_id: int) -> None:
    """Record that a shop's token stopped working (in the caller's own transaction)."""
    shop = session.get(Shop, shop_id)
    if shop is not None:
        shop.needs_reauth = True
