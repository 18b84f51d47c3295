"""Install and auth: OAuth callback, session tokens and token exchange, token refresh, revoked tokens."""
import json
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import jwt
import pytest
import responses

from loyalty_app.connections import client_for
from loyalty_app.models import Shop, utcnow
from loyalty_app.services.connection import ReauthRequired
from loyalty_app.shopify.errors import TokenRevoked
from loyalty_app.shopify.oauth import SessionTokenError, decode_session_token, query_hmac_valid, query_signature_valid
from tests.conftest import BASE_CONFIG, SECRET
from tests.helpers import SHOPIFY_DATA

SHOP = "demo-shop.myshopify.com"
TOKEN_URL = f"https://{SHOP}/admin/oauth/access_token"
API_KEY = BASE_CONFIG["SHOPIFY_API_KEY"]
VECTORS = json.loads((SHOPIFY_DATA / "test-vectors.json").read_text())


def signed_query(params, secret=SECRET):
    import shopify

    bound = type("S", (shopify.Session,), {"secret": secret})
    return {**params, "hmac": bound.calculate_hmac(params)}


@pytest.mark.parametrize("case", [c for c in VECTORS["oauth_query_hmac"]["cases"] if "params" in c],
                         ids=lambda c: c["source"][-40:])
def test_oauth_hmac_vectors(case):
    params = {**case["params"], "hmac": case["expected_hmac"]}
    assert query_hmac_valid(params, case["secret"])
    assert not query_hmac_valid({**params, "shop": "evil.myshopify.com"}, case["secret"])
    assert not query_hmac_valid(params, "other-secret")


def test_docs_oauth_vector_from_query_string():
    [case] = [c for c in VECTORS["oauth_query_hmac"]["cases"] if "query" in c]
    params = {k: v[0] for k, v in parse_qs(case["query"]).items()}
    assert query_signature_valid(params, case["secret"], now=int(params["timestamp"]))
    assert not query_signature_valid(params, case["secret"], now=int(params["timestamp"]) + 2 * 86400)


def begin(client):
    response = client.get(f"/auth?shop={SHOP}")
    assert response.status_code == 302
    location = urlparse(response.headers["Location"])
    query = parse_qs(location.query)
    assert (location.hostname, location.path) == (SHOP, "/admin/oauth/authorize")
    assert query["client_id"] == [API_KEY] and "write_discounts" in query["scope"][0]
    assert query["redirect_uri"] == ["https://loyalty.example.com/auth/callback"]
    return query["state"][0]


def callback_params(state, **override):
    params = {"code": "abc123", "shop": SHOP, "state": state, "timestamp": str(int(time.time()))}
    return signed_query({**params, **override}) if "hmac" not in override else {**params, **override}


@responses.activate
def test_good_callback_stores_an_encrypted_expiring_token(app, client, session):
    responses.post(TOKEN_URL, json={"access_token": "shpat_new", "scope": "read_orders,write_discounts",
                                    "expires_in": 3600, "refresh_token": "shprt_refresh",
                                    "refresh_token_expires_in": 7776000})
    state = begin(client)
    response = client.get("/auth/callback", query_string=callback_params(state))
    assert response.status_code == 302
    assert response.headers["Location"] == f"https://{SHOP}/admin/apps/{API_KEY}"
    sent = json.loads(responses.calls[0].request.body)
    assert sent == {"client_id": API_KEY, "client_secret": SECRET, "code": "abc123", "expiring": "1"}
    shop = session.query(Shop).one()
    box = app.extensions["token_box"]
    assert "shpat_new" not in shop.access_token_encrypted and box.open(shop.access_token_encrypted) == "shpat_new"
    assert box.open(shop.refresh_token_encrypted) == "shprt_refresh"
    assert timedelta(minutes=59) < shop.token_expires_at - utcnow() <= timedelta(hours=1)
    assert shop.scopes == "read_orders,write_discounts"


@pytest.mark.parametrize(("case", "status"), [("bad_hmac", 401), ("bad_state", 403), ("stale", 401),
                                              ("foreign_shop", 400), ("lookalike_shop", 400), ("other_shop", 403)])
@responses.activate
def test_bad_callbacks_are_refused_and_store_nothing(client, session, case, status):
    state = begin(client)
    params = {
        "bad_hmac": lambda: callback_params(state, hmac="0" * 64),
        "bad_state": lambda: callback_params("forged-state"),
        "stale": lambda: callback_params(state, timestamp=str(int(time.time()) - 2 * 86400)),
        "foreign_shop": lambda: callback_params(state, shop="evil.com"),
        "lookalike_shop": lambda: callback_params(state, shop="x.myshopify.com.evil.com"),
        "other_shop": lambda: callback_params(state, shop="other-shop.myshopify.com"),
    }[case]()
    response = client.get("/auth/callback", query_string=params)
    assert response.status_code == status
    assert response.json["error"]
    assert session.query(Shop).count() == 0
    assert len(responses.calls) == 0


def test_begin_refuses_foreign_domains(client):
    for shop in ("evil.com", "x.myshopify.com.evil.com", ""):
        assert client.get("/auth", query_string={"shop": shop}).status_code == 400


def session_token(**override):
    """A session token; a callable override gets the current time (so parameters stay valid however late they run)."""
    now = int(time.time())
    claims = {"iss": f"https://{SHOP}/admin", "dest": f"https://{SHOP}", "aud": API_KEY, "sub": "1",
              "exp": now + 60, "nbf": now - 1, "iat": now, "jti": "4321", "sid": "abc"}
    claims.update({key: value(now) if callable(value) else value for key, value in override.items()})
    secret = claims.pop("_secret", SECRET)
    return jwt.encode(claims, secret, algorithm="HS256")


@pytest.mark.parametrize("override", [
    {"exp": lambda now: now - 11},
    {"aud": "someone-else"},
    {"_secret": "not-our-secret-0123456789abcdef0"},
    {"dest": "https://other-shop.myshopify.com"},
    {"iss": "https://evil.com/admin", "dest": "https://evil.com"},
    {"nbf": lambda now: now + 60},
], ids=["expired", "wrong-audience", "wrong-signature", "wrong-shop", "foreign-domain", "not-yet-valid"])
def test_bad_session_tokens_are_refused(override):
    with pytest.raises(SessionTokenError):
        decode_session_token(session_token(**override), API_KEY, SECRET)


def test_session_token_leeway():
    assert decode_session_token(session_token(exp=int(time.time()) - 5), API_KEY, SECRET) == SHOP


@responses.activate
def test_token_exchange_installs_the_shop(client, session):
    responses.post(TOKEN_URL, json={"access_token": "shpat_x", "scope": "read_orders", "expires_in": 3600,
                                    "refresh_token": "shprt_x"})
    token = session_token()
    response = client.post("/auth/token-exchange", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and response.json == {"shop": SHOP, "installed": True}
    sent = json.loads(responses.calls[0].request.body)
    assert sent["grant_type"] == "urn:ietf:params:oauth:grant-type:token-exchange"
    assert (sent["subject_token"], sent["expiring"]) == (token, "1")
    assert sent["requested_token_type"] == "urn:shopify:params:oauth:token-type:offline-access-token"
    assert session.query(Shop).one().domain == SHOP


def test_token_exchange_refuses_a_bad_session_token(client, session):
    response = client.post("/auth/token-exchange", headers={"Authorization": f"Bearer {session_token(aud='x')}"})
    assert response.status_code == 401
    assert client.post("/auth/token-exchange").status_code == 401
    assert session.query(Shop).count() == 0


@responses.activate
def test_401_from_admin_marks_the_shop(app, session, shop):
    responses.post("https://demo-shop.myshopify.com/admin/api/2026-10/graphql.json", status=401)
    with app.app_context():
        client = client_for(app, session, shop, sleep=lambda _: None)
        with pytest.raises(TokenRevoked):
            client.execute("TagsAdd", {"id": "gid://shopify/Customer/1", "tags": ["x"]})
    session.expire_all()
    assert session.get(Shop, shop.id).needs_reauth is True
    with pytest.raises(ReauthRequired):
        client_for(app, session, session.get(Shop, shop.id))
