"""What fault injection found at the door: oversized bodies, headers the HMAC does not cover, bad bytes.

Each case gets a clean 4xx (or a refused, inspectable event) and loses nothing else.
"""
from __future__ import annotations

import pytest

from loyalty_app.models import Shop, WebhookEvent
from tests.helpers import payload, signed, simple_order


def events(session):
    session.expire_all()
    return [(e.topic, e.status, e.result, e.error) for e in session.query(WebhookEvent).order_by(WebhookEvent.id)]


def test_a_body_over_the_limit_is_413_before_it_is_read(app, client, session, shop):
    app.config["WEBHOOK_MAX_BYTES"] = 1000
    body, hmac_header = signed(b'{"id": 1, "pad": "' + b"x" * 2000 + b'"}', "test-api-secret-0123456789abcdef")
    response = client.post("/webhooks", data=body, headers={
        "X-Shopify-Hmac-Sha256": hmac_header, "X-Shopify-Topic": "orders/paid",
        "X-Shopify-Shop-Domain": shop.domain, "X-Shopify-Webhook-Id": "big"})
    assert response.status_code == 413
    assert events(session) == []


def test_the_default_limit_is_five_megabytes(app):
    assert app.config["WEBHOOK_MAX_BYTES"] == 5 * 1024 * 1024


@pytest.mark.parametrize("headers, reason", [
    ({"X-Shopify-Webhook-Id": "w" * 101}, "X-Shopify-Webhook-Id"),
    ({"X-Shopify-Webhook-Id": "a\x01b"}, "X-Shopify-Webhook-Id"),
    ({"X-Shopify-Event-Id": "e" * 500}, "X-Shopify-Event-Id"),
    ({"X-Shopify-Triggered-At": "t" * 41}, "X-Shopify-Triggered-At"),
    ({"X-Shopify-API-Version": "v" * 21}, "X-Shopify-API-Version"),
    ({"X-Shopify-Topic": "orders/paid" + "x" * 200}, "X-Shopify-Topic"),
    ({"X-Shopify-Topic": "orders paid"}, "X-Shopify-Topic"),
    ({"X-Shopify-Shop-Domain": "evil.example.com"}, "X-Shopify-Shop-Domain"),
    ({"X-Shopify-Shop-Domain": "s" * 300 + ".myshopify.com"}, "X-Shopify-Shop-Domain"),
], ids=["long-webhook-id", "control-char", "long-event-id", "long-triggered-at", "long-api-version",
        "long-topic", "not-a-topic", "foreign-domain", "long-domain"])
def test_headers_the_columns_cannot_hold_are_400_not_500(deliver, session, shop, headers, reason):
    response = deliver("orders/paid", simple_order(1, 5, "10.00"), headers=headers)
    assert response.status_code == 400
    assert reason in response.get_json()["error"]
    assert events(session) == []


def test_a_nul_byte_in_a_signed_body_is_400(client, session, shop):
    body, hmac_header = signed(b'{"id": 1, "note": "a\x00b"}', "test-api-secret-0123456789abcdef")
    response = client.post("/webhooks", data=body, headers={
        "X-Shopify-Hmac-Sha256": hmac_header, "X-Shopify-Topic": "orders/paid",
        "X-Shopify-Shop-Domain": shop.domain, "X-Shopify-Webhook-Id": "nul"})
    assert response.status_code == 400
    assert events(session) == []


def test_a_signed_order_body_replayed_as_app_uninstalled_is_refused_and_kept(deliver, session, shop):
    """The HMAC covers the body, not the topic: an order body is no uninstall."""
    response = deliver("app/uninstalled", simple_order(1, 5, "10.00"))
    assert response.status_code == 200
    session.refresh(shop)
    assert shop.active and shop.access_token_encrypted is not None
    (topic, status, _, error), = events(session)
    assert (topic, status) == ("app/uninstalled", "failed") and "not demo-shop.myshopify.com" in error
    assert session.query(WebhookEvent).one().body is not None  # kept for inspection


def test_another_shops_signed_body_cannot_uninstall_or_redact_this_one(deliver, session, shop):
    deliver("app/uninstalled", payload("rest-2026-07/shop.json", shop="other-shop.myshopify.com"))
    deliver("shop/redact", payload("compliance/shop_redact.json", shop="other-shop.myshopify.com"))
    deliver("customers/redact", payload("compliance/customers_redact.json", shop="other-shop.myshopify.com"))
    session.expire_all()
    assert session.query(Shop).one().active
    assert [status for _, status, _, _ in events(session)] == ["failed", "failed", "failed"]


def test_shop_redact_spares_a_shop_that_installed_again(app, deliver, session, shop):
    from loyalty_app.services.shops import install_shop

    deliver("app/uninstalled", payload("rest-2026-07/shop.json"))
    session.expire_all()
    assert not session.query(Shop).one().active
    install_shop(session, shop.domain, "shpat_again", app.extensions["token_box"])
    session.commit()
    deliver("shop/redact", payload("compliance/shop_redact.json"))
    session.expire_all()
    assert session.query(Shop).one().active
    assert events(session)[-1][:3] == ("shop/redact", "processed", "ignored: the shop has installed the app again")
