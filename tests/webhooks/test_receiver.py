"""The receiver: what each kind of bad input gets, and what is (not) stored."""
import pytest

from loyalty_app.models import LedgerEntry, WebhookEvent
from loyalty_app.services import inbox
from loyalty_app.services.compliance import uninstall
from tests.conftest import SECRET
from tests.helpers import simple_order


def events(session):
    return session.query(WebhookEvent).order_by(WebhookEvent.id).all()


def test_good_delivery_is_stored_processed_and_acknowledged(deliver, session, shop):
    response = deliver("orders/paid", simple_order(1, 5, "100.00"), webhook_id="abc")
    assert response.status_code == 200
    [event] = events(session)
    assert (event.webhook_id, event.event_id, event.triggered_at, event.api_version) == \
        ("abc", "ev-1", "2026-11-24T12:00:00Z", "2026-10")
    session.refresh(event)
    assert (event.status, event.result, event.attempts) == ("processed", "earned 100", 1)


def test_forged_signature_is_401_and_stores_nothing(deliver, session, shop):
    response = deliver("orders/paid", simple_order(1, 5, "100.00"), secret="not-the-secret")
    assert response.status_code == 401
    assert response.json == {"error": "invalid webhook signature"}
    assert events(session) == []


def test_missing_signature_is_401(deliver, session, shop):
    assert deliver("orders/paid", {"id": 1}, headers={"X-Shopify-Hmac-Sha256": None}).status_code == 401
    assert events(session) == []


@pytest.mark.parametrize("header", ["X-Shopify-Topic", "X-Shopify-Shop-Domain", "X-Shopify-Webhook-Id"])
def test_missing_header_is_400_and_stores_nothing(deliver, session, shop, header):
    response = deliver("orders/paid", simple_order(1, 5, "100.00"), headers={header: None})
    assert response.status_code == 400
    assert header in response.json["error"]
    assert events(session) == []


def test_wrong_method_is_405(client):
    assert client.get("/webhooks").status_code == 405
    assert client.put("/webhooks").status_code == 405


def test_malformed_json_with_valid_signature_is_acknowledged_kept_and_failed(deliver, session, shop):
    """A 4xx would only make Shopify resend the same bytes; the row records why it failed."""
    response = deliver("orders/paid", b'{"id": 1, "subtotal', webhook_id="broken")
    assert response.status_code == 200 and response.json == {"status": "received"}
    [event] = events(session)
    assert (event.status, event.body, event.attempts) == ("failed", '{"id": 1, "subtotal', 1)
    assert event.error.startswith("body is not valid JSON: Unterminated string")
    assert deliver("orders/paid", b'{"id": 1, "subtotal', webhook_id="broken").json == {"status": "duplicate"}
    assert len(events(session)) == 1
    assert session.query(LedgerEntry).count() == 0


def test_unknown_shop_is_acknowledged_recorded_and_not_processed(deliver, session, shop):
    response = deliver("orders/paid", simple_order(1, 5, "100.00"), domain="stranger.myshopify.com")
    assert response.status_code == 200 and response.json == {"status": "ignored"}
    [event] = events(session)
    assert (event.status, event.result, event.shop_id) == ("ignored", "unknown shop", None)
    assert session.query(LedgerEntry).count() == 0


def test_uninstalled_shop_is_acknowledged_recorded_and_not_processed(deliver, session, shop):
    uninstall(session, shop)
    session.commit()
    response = deliver("orders/paid", simple_order(1, 5, "100.00"))
    assert response.status_code == 200 and response.json == {"status": "ignored"}
    assert events(session)[0].result == "shop is uninstalled"
    assert session.query(LedgerEntry).count() == 0


def test_replayed_webhook_id_answers_200_and_stores_nothing_new(deliver, session, shop):
    for _ in range(3):
        assert deliver("orders/paid", simple_order(1, 5, "100.00"), webhook_id="same").status_code == 200
    assert len(events(session)) == 1
    assert session.query(LedgerEntry).count() == 1


def test_same_order_under_another_webhook_id_credits_nothing_twice(deliver, session, shop):
    deliver("orders/paid", simple_order(1, 5, "100.00"), webhook_id="first")
    deliver("orders/paid", simple_order(1, 5, "100.00"), webhook_id="second")
    assert [e.result for e in events(session)] == ["earned 100", "duplicate: order already earned"]
    assert session.query(LedgerEntry).count() == 1


def test_previous_secret_accepted_during_rotation(app, deliver, session, shop):
    app.config.update(SHOPIFY_API_SECRET="rotated", SHOPIFY_API_SECRET_PREVIOUS=SECRET)
    assert deliver("orders/paid", simple_order(1, 5, "100.00"), secret=SECRET).status_code == 200
    assert deliver("orders/paid", simple_order(2, 5, "100.00"), secret="rotated").status_code == 200
    assert deliver("orders/paid", simple_order(3, 5, "100.00"), secret="retired").status_code == 401
    assert len(events(session)) == 2


def test_bad_payload_fails_at_once_with_a_readable_error(deliver, session, shop):
    order = simple_order(1, 5, "100.00")
    order["subtotal_price_set"]["shop_money"]["amount"] = "-3.00"
    assert deliver("orders/paid", order).status_code == 200
    [event] = events(session)
    session.refresh(event)
    assert (event.status, event.attempts) == ("failed", 1)
    assert event.error == "PayloadError: subtotal_price_set: must not be negative"


def test_unhandled_topic_is_recorded(deliver, session, shop):
    assert deliver("products/create", {"id": 1}).status_code == 200
    assert events(session)[0].result == "ignored: no handler for products/create"


def test_a_delivery_the_database_did_not_take_is_not_acknowledged(app, deliver, session, shop, monkeypatch):
    """A 5xx makes Shopify retry; acknowledging an unstored delivery would lose it."""
    def database_down(*_):
        raise ConnectionError("database is down")

    monkeypatch.setattr(inbox, "store_many", database_down)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    assert deliver("orders/paid", simple_order(1, 5, "100.00")).status_code == 500
    monkeypatch.undo()
    assert events(session) == []
    assert deliver("orders/paid", simple_order(1, 5, "100.00")).json == {"status": "received"}  # Shopify's retry
