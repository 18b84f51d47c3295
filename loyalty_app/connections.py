"""Shopify clients built from the app's configuration, for views, jobs and CLI commands."""
from __future__ import annotations

from flask import Flask

from .extensions import db
from .models import Shop
from .services import connection
from .shopify.client import AdminClient
from .shopify.oauth import TokenEndpoint


def token_endpoint(app: Flask) -> TokenEndpoint:
    """Our app's OAuth token endpoint (``SHOPIFY_TOKEN_URL`` points it elsewhere for a fake Shopify)."""
    config = app.config
    return TokenEndpoint(config["SHOPIFY_API_KEY"], config["SHOPIFY_API_SECRET"], config["SHOPIFY_TOKEN_URL"])


def _mark_revoked(shop_id: int) -> None:
    """Mark the shop in a transaction of its own, so the mark survives the caller's rollback."""
    session = db.new_session()
    try:
        connection.mark_needs_reauth(session, shop_id)
        session.commit()
    finally:
        session.close()


def client_for(app: Flask, session, shop: Shop, **options: object) -> AdminClient:  # type: ignore[no-untyped-def]
    """An Admin client for ``shop`` at the pinned API version, with a fresh token."""
    config = app.config
    return connection.admin_client(
        session, shop, app.extensions["token_box"], token_endpoint(app), api_version=config["SHOPIFY_API_VERSION"],
        url_template=config["SHOPIFY_ADMIN_URL"], mark_revoked=_mark_revoked, new_session=db.new_session,
        **options)
