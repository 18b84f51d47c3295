"""Install and auth: the authorization-code grant, token exchange for the embedded app, token refresh.

Query HMACs are checked by ShopifyAPI (``shopify.Session.validate_hmac``) on a subclass bound
to our secret, not on its global class state, and the timestamp must be under a day old.
Every grant asks for an *expiring* offline token (``expiring=1``) with a refresh token.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode, urlparse

import jwt
import requests
import shopify

from ..security import sanitize_shop_domain
from .errors import GrantRefused, OAuthError, TokenEndpointUnavailable

TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"
OFFLINE_TOKEN_TYPE = "urn:shopify:params:oauth:token-type:offline-access-token"
SESSION_TOKEN_LEEWAY = 10  # seconds, as in Shopify's own libraries
REQUIRED_CLAIMS = ("exp", "nbf", "iss", "dest", "aud", "sub")


MAX_QUERY_AGE = 24 * 60 * 60  # seconds, as ShopifyAPI's validate_params


def query_hmac_valid(params: dict[str, Any], secret: str) -> bool:
    """Whether a query's ``hmac`` is Shopify's (ShopifyAPI's check, bound to ``secret``)."""
    bound = type("BoundSession", (shopify.Session,), {"secret": secret})
    return bool(bound.validate_hmac(params))


def query_signature_valid(params: dict[str, str], secret: str, now: float | None = None) -> bool:
    """Whether an OAuth redirect's query carries Shopify's HMAC and a timestamp under a day old."""
    try:
        fresh = int(params.get("timestamp", 0)) >= (time.time() if now is None else now) - MAX_QUERY_AGE
    except ValueError:
        return False
    return fresh and query_hmac_valid(params, secret)


def authorize_url(shop: str, api_key: str, scopes: str, redirect_uri: str, state: str) -> str:
    """Shopify's grant screen for an offline token."""
    query = urlencode({"client_id": api_key, "scope": scopes, "redirect_uri": redirect_uri, "state": state})
    return f"https://{shop}/admin/oauth/authorize?{query}"


@dataclass(frozen=True)
class TokenGrant:
    """An offline access token and, when it expires, its refresh token."""

    access_token: str
    scope: str
    expires_at: datetime | None
    refresh_token: str | None


class TokenEndpoint:
    """``POST https://{shop}/admin/oauth/access_token`` for our app."""

    def __init__(self, api_key: str, secret: str, url_template: str, http: requests.Session | None = None) -> None:
        self._api_key = api_key
        self._secret = secret
        self._url_template = url_template
        self._http = http or requests.Session()

    def _grant(self, shop: str, fields: dict[str, str]) -> TokenGrant:
        body = {"client_id": self._api_key, "client_secret": self._secret, **fields}
        try:
            response = self._http.post(self._url_template.format(shop=shop), json=body,
                                       headers={"Accept": "application/json"}, timeout=(5, 20))
        except requests.RequestException as exc:
            raise TokenEndpointUnavailable(f"token request to {shop} failed: {type(exc).__name__}") from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise TokenEndpointUnavailable(f"token request to {shop} failed: HTTP {response.status_code}")
        try:
            data: dict[str, Any] = response.json()
        except ValueError:
            data = {}
        if not response.ok:
            # OAuth 2.0 error answer (RFC 6749 5.2), which Shopify's token endpoint follows.
            error = data.get("error") if isinstance(data, dict) else None
            refused = GrantRefused if error == "invalid_grant" else OAuthError
            raise refused(f"{shop} refused the token request: HTTP {response.status_code} {error or ''}".rstrip())
        if not isinstance(data, dict) or not data.get("access_token"):
            raise OAuthError(f"{shop} answered without an access token")
        now = datetime.now(timezone.utc)
        expires_in = data.get("expires_in")
        return TokenGrant(data["access_token"], data.get("scope", ""),
                          now + timedelta(seconds=int(expires_in)) if expires_in else None, data.get("refresh_token"))

    def exchange_code(self, shop: str, code: str) -> TokenGrant:
        """Authorization-code grant: the code from /auth/callback for an expiring offline token."""
        return self._grant(shop, {"code": code, "expiring": "1"})

    def exchange_session_token(self, shop: str, session_token: str) -> TokenGrant:
        """Token exchange: the embedded app's session token for an expiring offline token."""
        return self._grant(shop, {"grant_type": TOKEN_EXCHANGE_GRANT, "subject_token": session_token,
                                  "subject_token_type": ID_TOKEN_TYPE, "requested_token_type": OFFLINE_TOKEN_TYPE,
                                  "expiring": "1"})

    def refresh(self, shop: str, refresh_token: str) -> TokenGrant:
        """A new access token (and refresh token) before the current one expires."""
        return self._grant(shop, {"grant_type": "refresh_token", "refresh_token": refresh_token})


class SessionTokenError(ValueError):
    """An App Bridge session token we must not trust."""


def decode_session_token(token: str, api_key: str, secret: str, now: float | None = None) -> str:
    """Verify an App Bridge session token (HS256, our secret, ``aud`` = our client id); returns its shop.

    ``exp`` and ``nbf`` are checked with Shopify's 10 s leeway; ``iss`` and ``dest`` must name
    the same shop, a real myshopify domain.
    """
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], audience=api_key, leeway=SESSION_TOKEN_LEEWAY,
                            options={"require": list(REQUIRED_CLAIMS)})
    except jwt.PyJWTError as exc:
        raise SessionTokenError(str(exc)) from exc
    return shop_from_claims(claims)



def shop_from_claims(claims: dict[str, Any]) -> str:
    """The shop a verified session token's claims name, after the checks Shopify's docs ask of them.

    Every claim in REQUIRED_CLAIMS must be present, and ``iss`` and ``dest`` must name the same
    real myshopify domain. (``shopifyapp`` checks the signature, ``exp``, ``nbf`` and ``aud``,
    but not these.)
    """
    missing = [name for name in REQUIRED_CLAIMS if claims.get(name) in (None, "")]
    if missing:
        raise SessionTokenError("missing claims: " + ", ".join(missing))
    dest = urlparse(str(claims["dest"])).hostname
    issuer = urlparse(str(claims["iss"])).hostname
    shop = sanitize_shop_domain(dest)
    if shop is None or dest != issuer:
        raise SessionTokenError("iss and dest must name the same myshopify shop")
    return shop
