"""Who may use the merchant's side: session tokens (Shopify's id-token flow), API keys, and nobody else."""
from __future__ import annotations

import json

import pytest
import responses

from loyalty_app.extensions import db
from loyalty_app.models import ApiKey, Shop
from loyalty_app.services.shops import install_shop
from loyalty_app.web.admin.i18n import LANGUAGES, LOCALES, catalog, format_number, pick_language
from tests.conftest import SHOP_DOMAIN
from tests.helpers import AdminApi

OTHER_SHOP = "other-shop.myshopify.com"


def test_api_without_a_token_is_401_json(client, shop):
    response = client.get("/admin/api/keys")
    assert response.status_code == 401
    assert response.get_json()["error"] == "unauthorized"


@pytest.mark.parametrize("override", [
    {"exp": 1_000_000_000}, {"aud": "someone-else"}, {"dest": "https://evil.example.com"},
    {"iss": f"https://{OTHER_SHOP}/admin"}, {"sub": None},
], ids=["expired", "wrong-audience", "foreign-dest", "iss-other-shop", "no-sub"])
def test_bad_session_tokens_are_401_with_shopifys_retry_header(client, shop, staff_token, override):
    claims = {k: v for k, v in override.items() if v is not None}
    token = staff_token(**claims)
    if override.get("sub", "x") is None:
        import jwt

        payload = jwt.decode(token, options={"verify_signature": False})
        payload.pop("sub")
        from tests.conftest import SECRET
        token = jwt.encode(payload, SECRET, algorithm="HS256")
    response = client.get("/admin/api/keys", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.headers["X-Shopify-Retry-Invalid-Session-Request"] == "1"


def test_a_token_signed_with_another_secret_is_refused(client, shop):
    from tests.helpers import session_token

    token = session_token("not-our-secret-0123456789abcdef0", "test-api-key", SHOP_DOMAIN)
    assert client.get("/admin/api/keys", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_the_previous_secret_still_works_during_rotation(app, client, shop):
    from tests.helpers import session_token

    app.config["SHOPIFY_API_SECRET_PREVIOUS"] = "old-secret-0123456789abcdef01234"
    token = session_token("old-secret-0123456789abcdef01234", "test-api-key", SHOP_DOMAIN)
    assert client.get("/admin/api/keys", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_a_token_for_a_shop_that_is_not_installed_is_401(client, shop, staff_token):
    token = staff_token(shop=OTHER_SHOP)
    assert client.get("/admin/api/keys", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_a_cookie_alone_never_authenticates(client, shop):
    client.set_cookie("session", "anything")
    assert client.get("/admin/api/keys").status_code == 401


def test_api_key_lifecycle_shown_once_stored_hashed_revocable(app, client, admin_api, session):
    created = admin_api.post("/keys", json={"name": "ERP"})
    assert created.status_code == 201
    secret = created.get_json()["secret"]
    assert secret.startswith("lyk_") and len(secret) > 40
    stored = session.query(ApiKey).one()
    assert secret not in (stored.key_hash, stored.prefix) and stored.created_by == "staff:1"
    listed = admin_api.get("/keys").get_json()
    assert [k["name"] for k in listed] == ["ERP"] and "secret" not in listed[0]

    by_key = AdminApi(client, secret)
    assert by_key.get("/openapi.json").status_code == 200
    # A key cannot manage keys: only a person in the admin can.
    assert by_key.post("/keys", json={"name": "sneaky"}).status_code == 403

    key_id = created.get_json()["key"]["id"]
    assert admin_api.delete(f"/keys/{key_id}").status_code == 204
    assert by_key.get("/openapi.json").status_code == 401
    assert admin_api.delete(f"/keys/{key_id}").status_code == 204  # revoking twice changes nothing


def test_another_shops_key_is_404(app, client, admin_api, session, staff_token):
    other = install_shop(session, OTHER_SHOP, "shpat_other", app.extensions["token_box"])
    session.commit()
    theirs = AdminApi(client, staff_token(shop=OTHER_SHOP)).post("/keys", json={"name": "theirs"}).get_json()
    assert admin_api.delete(f"/keys/{theirs['key']['id']}").status_code == 404
    assert other.id != session.query(Shop).filter_by(domain=SHOP_DOMAIN).one().id


@pytest.mark.parametrize("path", ["/keys/0", "/keys/99999999999999999999", "/keys/-1", "/keys/abc"])
def test_ids_out_of_range_are_404_json(admin_api, path):
    response = admin_api.delete(path)
    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"


def test_bad_bodies_are_400_or_422_and_change_nothing(admin_api, session):
    assert admin_api.post("/keys", data="not json", content_type="application/json").status_code == 400
    assert admin_api.post("/keys", json=["a list"]).status_code == 400
    invalid = admin_api.post("/keys", json={"name": ""})
    assert invalid.status_code == 422
    assert "name" in invalid.get_json()["errors"]
    assert session.query(ApiKey).count() == 0


def test_wrong_method_is_405_json(admin_api):
    response = admin_api.put("/keys")
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}
    assert response.get_json()["error"] == "method_not_allowed"


def test_openapi_describes_every_api_route(app, admin_api):
    document = admin_api.get("/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    described = {(path, method) for path, ops in document["paths"].items() for method in ops}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api.") and rule.endpoint != "api.openapi_document":
            path = rule.rule.replace("<id:", "{").replace("<", "{").replace(">", "}")
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                assert (path, method.lower()) in described


# Document loads: Shopify's id-token flow.

def test_a_page_load_without_id_token_goes_to_shopifys_patch_page(client, shop):
    response = client.get(f"/admin?shop={SHOP_DOMAIN}&host=abc&embedded=1")
    assert response.status_code == 302
    location = response.headers["Location"]
    assert "/admin/session-token?" in location and "shopify-reload=" in location


def test_the_patch_page_loads_app_bridge_and_refuses_a_foreign_shop(client):
    page = client.get(f"/admin/session-token?shop={SHOP_DOMAIN}&shopify-reload=%2Fadmin")
    assert page.status_code == 200
    assert b"app-bridge.js" in page.data
    assert client.get("/admin/session-token?shop=evil.com&shopify-reload=%2Fadmin").status_code == 400


def test_a_page_load_with_id_token_renders_with_app_bridge_first(client, shop, staff_token):
    response = client.get(f"/admin?shop={SHOP_DOMAIN}&host=abc&id_token={staff_token()}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    head = html[html.index("<head>"):html.index("</head>")]
    assert head.index('name="shopify-api-key"') < head.index("<script")
    assert head.index("app-bridge.js") < head.index("polaris-1.js") < head.index("admin.js")
    assert "<s-app-nav>" in html and "<s-page" in html
    assert f"frame-ancestors https://{SHOP_DOMAIN}" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"


def test_a_page_load_with_a_forged_token_is_refused(client, shop, staff_token):
    forged = staff_token(dest="https://evil.example.com")
    assert client.get(f"/admin?shop={SHOP_DOMAIN}&id_token={forged}").status_code == 401


@responses.activate
def test_first_page_load_installs_the_shop_by_token_exchange(client, session, staff_token):
    responses.post(f"https://{OTHER_SHOP}/admin/oauth/access_token",
                   json={"access_token": "shpat_new", "scope": "read_orders", "expires_in": 3600,
                         "refresh_token": "shprt_new"})
    response = client.get(f"/admin?shop={OTHER_SHOP}&id_token={staff_token(shop=OTHER_SHOP)}")
    assert response.status_code == 200
    exchanged = json.loads(responses.calls[0].request.body)
    assert exchanged["grant_type"] == "urn:ietf:params:oauth:grant-type:token-exchange"
    assert session.query(Shop).filter_by(domain=OTHER_SHOP).one().active


@responses.activate
def test_a_refused_token_exchange_is_a_clean_502(client, session, staff_token):
    responses.post(f"https://{OTHER_SHOP}/admin/oauth/access_token", status=400, json={"error": "invalid_subject_token"})
    response = client.get(f"/admin?shop={OTHER_SHOP}&id_token={staff_token(shop=OTHER_SHOP)}&locale=nb-NO")
    assert response.status_code == 502
    assert "Shopify lot oss ikke" in response.get_data(as_text=True)


# Strings: every language has every string.

def test_every_language_has_every_string_and_no_more():
    english = set(catalog("en"))
    for lang in LANGUAGES:
        assert set(catalog(lang)) == english, lang
        assert all(value.strip() for value in catalog(lang).values())


def test_every_string_a_template_uses_exists():
    import re

    templates = LOCALES.parent / "templates"
    used = {key for path in templates.rglob("*.html")
            for key in re.findall(r"""\bt\(\s*['"]([\w.]+)['"]""", path.read_text())}
    assert used and used <= set(catalog("en"))


@pytest.mark.parametrize("locale, lang", [("nb-NO", "nb"), ("no", "nb"), ("sv", "sv"), ("da-DK", "da"),
                                          ("fr", "en"), (None, "en")])
def test_shopify_locales_pick_a_shipped_language(locale, lang):
    assert pick_language(locale) == lang


def test_numbers_are_written_the_languages_way():
    assert format_number(1234567.5, "en", 2) == "1,234,567.50"
    assert format_number(1234567.5, "nb", 2) == "1\u00a0234\u00a0567,50"
    assert format_number(1234567.5, "da", 2) == "1.234.567,50"
