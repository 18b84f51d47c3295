"""A shop's connection to Shopify: completing installs, fresh tokens, and the Admin client for a shop."""
from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy.orm import Session

from ..crypto import TokenBox
from ..models import Shop, utcnow
from ..shopify.client import AdminClient
from ..shopify.errors import OAuthError, ShopifyError
from ..shopify.oauth import TokenEndpoint, TokenGrant
from .shops import install_shop

REFRESH_MARGIN = timedelta(minutes=5)


class ReauthRequired(ShopifyError):
    """The shop's token is gone or revoked: the merchant must open the app again."""


def complete_install(session: Session, domain: str, grant: TokenGrant, box: TokenBox) -> Shop:
    """Store a fresh grant (encrypted) and make sure the shop has its program."""
    return install_shop(session, domain, grant.access_token, box, scopes=grant.scope,
                        refresh_token=grant.refresh_token, token_expires_at=grant.expires_at)


def fresh_access_token(session: Session, shop: Shop, box: TokenBox, endpoint: TokenEndpoint) -> str:
    """The shop's access token, refreshed first when it expires within five minutes.

    A refused refresh marks the shop as needing re-authentication (committed by the caller).
    """
    if shop.needs_reauth or not shop.access_token_encrypted or not shop.active:
        raise ReauthRequired(f"{shop.domain} must re-authenticate")
    if shop.token_expires_at is not None and shop.token_expires_at - utcnow() < REFRESH_MARGIN:
        if not shop.refresh_token_encrypted:
            shop.needs_reauth = True
            raise ReauthRequired(f"{shop.domain}: token expired and no refresh token")
        try:
            grant = endpoint.refresh(shop.domain, box.open(shop.refresh_token_encrypted))
        except OAuthError as exc:
            shop.needs_reauth = True
            raise ReauthRequired(f"{shop.domain}: token refresh refused") from exc
        shop.access_token_encrypted = box.seal(grant.access_token)
        shop.refresh_token_encrypted = box.seal(grant.refresh_token) if grant.refresh_token else None
        shop.token_expires_at = grant.expires_at
    return box.open(shop.access_token_encrypted)


def admin_client(session: Session, shop: Shop, box: TokenBox, endpoint: TokenEndpoint, *, api_version: str,
                 url_template: str, mark_revoked: Callable[[int], None], **options: object) -> AdminClient:
    """An Admin client for the shop with a fresh token; a 401/403 marks the shop via ``mark_revoked``."""
    token = fresh_access_token(session, shop, box, endpoint)
    shop_id = shop.id
    return AdminClient(shop.domain, token, api_version=api_version, url_template=url_template,
                       on_revoked=lambda: mark_revoked(shop_id), **options)  # type: ignore[arg-type]


def mark_needs_reauth(session: Session, shop_id: int) -> None:
    """Record that a shop's token stopped working (in the caller's own transaction)."""
    shop = session.get(Shop, shop_id)
    if shop is not None:
        shop.needs_reauth = True
