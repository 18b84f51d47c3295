"""Typed errors from Shopify, so callers decide: retry later, re-authenticate, or show the merchant."""
from __future__ import annotations

from typing import Any


class ShopifyError(Exception):
    """Shopify refused or failed a request."""


class ShopifyUnavailable(ShopifyError):
    """Network errors, 5xx or throttling that outlasted our retries: try again later."""


class OutcomeUnknown(ShopifyUnavailable):
    """A request that may or may not have reached Shopify (a read timeout, a 5xx): sending it again could repeat it."""


class TokenRevoked(ShopifyError):
    """401/403: the access token no longer works; the shop must re-authenticate."""


class GraphQLErrors(ShopifyError):
    """Top-level GraphQL ``errors`` (a malformed query, a missing scope)."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        self.errors = errors
        super().__init__("; ".join(str(e.get("message")) for e in errors))


class UserErrors(ShopifyError):
    """A mutation's ``userErrors``: Shopify understood the request and declined it."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{'.'.join(e.get('field') or [])}: {e.get('message')}" for e in errors))


class OAuthError(ShopifyError):
    """An install or token request Shopify refused."""


class GrantRefused(OAuthError):
    """The token endpoint answered ``invalid_grant``: the code, session token or refresh token is gone for good.

    The only answer that means the merchant must authorise the app again; a wrong client secret
    (``invalid_client``) or an outage would not be fixed by sending the merchant through consent.
    """


class TokenEndpointUnavailable(OAuthError, ShopifyUnavailable):
    """The token endpoint timed out, failed (5xx) or throttled us (429): try again later."""
