"""Who is calling the merchant's side: a staff member's App Bridge session token or a shop's API key.

Session tokens are verified by Shopify's ``shopifyapp`` (``verify_app_home_req``: signature with
the current or previous secret, expiry, audience) and then held to the claims Shopify's docs ask
us to check (``shop_from_claims``). Document loads follow Shopify's id-token flow: a page load
without a valid ``id_token`` is sent to the patch page, where App Bridge fetches a fresh one and
reloads. Cookies never authenticate anything here.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import Request, Response, current_app, g
from shopify_app import verify_app_home_req
from shopify_app.types import ResultWithExchangeableIdToken

from ..extensions import db
from ..models import Shop
from ..services.api_keys import KEY_PREFIX, key_owner
from ..services.shops import get_shop
from ..shopify.oauth import SessionTokenError, shop_from_claims

PATCH_ID_TOKEN_PATH = "/admin/session-token"


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: the shop it may act on and who it is, for the audit trail."""

    shop: Shop
    actor: str  # "staff:<sub>" for a session token, "api-key:<id>" for a key
    id_token: str | None = None  # the verified session token, for token exchange and the page's own calls

    @property
    def is_staff(self) -> bool:
        """Whether a person in the Shopify admin is calling (only they may create or revoke keys)."""
        return self.actor.startswith("staff:")


def current_principal() -> Principal:
    """Who is calling this request (set by the page or API authentication)."""
    return g.principal  # type: ignore[no-any-return]


def current_shop() -> Shop:
    """The one shop this request may read or change."""
    return current_principal().shop


class Unauthorised(Exception):
    """No valid credentials; ``response`` is what Shopify's libraries answer in this case."""

    def __init__(self, reason: str, response: Response) -> None:
        super().__init__(reason)
        self.response = response


def shopify_app_config() -> dict[str, str]:
    """The app's credentials as ``shopifyapp``'s verifiers take them (the previous secret during rotation)."""
    config = current_app.config
    app_config = {"client_id": config["SHOPIFY_API_KEY"], "client_secret": config["SHOPIFY_API_SECRET"]}
    if config.get("SHOPIFY_API_SECRET_PREVIOUS"):
        app_config["old_client_secret"] = config["SHOPIFY_API_SECRET_PREVIOUS"]
    return app_config


def _as_flask(result_response: object) -> Response:
    status = getattr(result_response, "status")
    return Response(getattr(result_response, "body") or "", status=status,
                    headers=getattr(result_response, "headers") or {})


def _verify(request: Request) -> ResultWithExchangeableIdToken:
    """Shopify's check of an app-home request (document or fetch)."""
    return verify_app_home_req({"method": request.method, "headers": dict(request.headers), "url": request.url,
                                "body": ""}, shopify_app_config(), PATCH_ID_TOKEN_PATH)


def _json_401(reason: str, retry: bool = False) -> Response:
    response = current_app.json.response({"error": "unauthorized", "message": reason})
    response.status_code = 401
    if retry:  # App Bridge fetches a fresh session token and retries once when it sees this header
        response.headers["X-Shopify-Retry-Invalid-Session-Request"] = "1"
    return response


def authenticate_fetch(request: Request) -> Principal:
    """The caller of a JSON route, from ``Authorization: Bearer`` (a session token or an API key)."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer ") or len(header) <= len("Bearer "):
        raise Unauthorised("missing bearer token", _json_401("send Authorization: Bearer <session token or API key>"))
    credential = header[len("Bearer "):]
    session = db.session()  # type: ignore[misc]
    if credential.startswith(KEY_PREFIX):
        owner = key_owner(session, credential)
        if owner is None:
            raise Unauthorised("unknown or revoked API key", _json_401("unknown or revoked API key"))
        if session.dirty:
            session.commit()  # last_used_at: this check owns that small write
        return Principal(owner[1], f"api-key:{owner[0].id}")
    result = _verify(request)
    if not result.ok or result.id_token is None:
        raise Unauthorised(result.log.code, _json_401("invalid session token", retry=True))
    try:
        domain = shop_from_claims(result.id_token.claims)
    except SessionTokenError as exc:
        raise Unauthorised(str(exc), _json_401("invalid session token", retry=True)) from exc
    shop = get_shop(session, domain)
    if shop is None or not shop.active:
        raise Unauthorised("shop not installed", _json_401("this shop has not installed the app"))
    return Principal(shop, f"staff:{result.id_token.claims['sub']}", result.id_token.token)


@dataclass(frozen=True)
class DocumentCaller:
    """A verified page load: the shop's domain (installed or not yet), the staff member and the headers to send."""

    domain: str
    actor: str
    id_token: str
    headers: dict[str, str]


def authenticate_document(request: Request) -> DocumentCaller:
    """A page load in the Shopify admin, by Shopify's id-token flow (redirect to the patch page if needed)."""
    result = _verify(request)
    if not result.ok or result.id_token is None:
        raise Unauthorised(result.log.code, _as_flask(result.response))
    try:
        domain = shop_from_claims(result.id_token.claims)
    except SessionTokenError as exc:  # a fresh token would say the same: refuse rather than loop
        raise Unauthorised(str(exc), Response("Unauthorized", status=401)) from exc
    return DocumentCaller(domain, f"staff:{result.id_token.claims['sub']}", result.id_token.token,
                          dict(result.response.headers))
