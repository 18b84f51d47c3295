"""The Activity page in Chromium without Shopify's CDN: a failed delivery with its reason, Retry, Web Vitals."""
from __future__ import annotations

import json

from loyalty_app import create_app
from loyalty_app.demo import DEMO_SHOP
from loyalty_app.extensions import db
from loyalty_app.models import WebhookEvent
from loyalty_app.services.shops import get_shop
from tests.conftest import BASE_CONFIG
from tests.helpers import simple_order

# App Bridge as the page would see it: webVitals.onReport calls back with a report of several metrics,
# one of which (FID) the API does not keep; admin.js must send the others.
FAKE_APP_BRIDGE = """
window.shopify = { webVitals: { onReport: function (callback) {
  setTimeout(function () {
    callback({ appId: "gid://shopify/App/1", shopId: "1", userId: "1", appLoadId: "load-1",
               metrics: [{ id: "v1", name: "LCP", value: 1840.2 }, { id: "v2", name: "FID", value: 3 },
                         { id: "v3", name: "CLS", value: 0.24 }, { id: "v4", name: "INP", value: 96 }] });
  }, 0);
  return Promise.resolve();
} } };
"""


def _failed_event(tmp_path) -> int:  # type: ignore[no-untyped-def]
    """A failed orders/paid delivery in the live server's database, whose cause has since gone away."""
    app = create_app({**BASE_CONFIG, "DATABASE_URL": f"sqlite:///{tmp_path / 'e2e.sqlite3'}", "AUTO_MIGRATE": False})
    with app.app_context():
        session = db.session()
        shop = get_shop(session, DEMO_SHOP)
        event = WebhookEvent(webhook_id="e2e-failed-1", topic="orders/paid", shop_domain=DEMO_SHOP, shop_id=shop.id,
                             status="failed", attempts=5, order_id=9100, customer_id=1002,
                             error="LookupError: shop demo-shop.myshopify.com is gone",
                             body=json.dumps(simple_order(9100, 1002, "500.00")))
        session.add(event)
        session.commit()
        event_id = event.id
    app.extensions["db"].dispose()
    return event_id


def test_a_failed_delivery_shows_its_reason_and_retry_processes_it(admin, artifacts, tmp_path):  # type: ignore[no-untyped-def]
    event_id = _failed_event(tmp_path)
    page = admin.page
    page.add_init_script(FAKE_APP_BRIDGE)
    with page.expect_response(lambda r: r.url.endswith("/admin/api/vitals") and r.request.method == "POST") as sent:
        admin.open("/admin/activity", locale="nb")
    assert sent.value.status == 204
    assert json.loads(sent.value.request.post_data) == {
        "page": "admin.activity", "metrics": [{"name": "LCP", "value": 1840.2}, {"name": "CLS", "value": 0.24},
                                              {"name": "INP", "value": 96}]}

    admin.open("/admin/activity", locale="nb")  # the vitals just reported are on the page now
    row = page.locator(f"tr[data-event='{event_id}']")
    assert "LookupError: shop demo-shop.myshopify.com is gone" in row.locator(".reason").inner_text()
    assert "orders/paid" in row.inner_text() and "Ordre 9100, Kunde 1002" in row.inner_text()
    assert page.locator("[data-count=failed] strong").inner_text() == "1"
    vitals = page.locator("tr[data-vitals-page='admin.activity']")
    assert vitals.locator("td").first.inner_text() == "Aktivitet"
    assert "1,84 s" in vitals.locator("[data-metric=LCP]").inner_text()
    assert "Når ikke målet" in vitals.locator("[data-metric=CLS]").inner_text()
    assert "Når målet" in vitals.locator("[data-metric=INP]").inner_text()
    page.screenshot(path=str(artifacts / "activity.png"), full_page=True)

    with page.expect_navigation():
        row.get_by_role("button", name="Prøv igjen").click()
    page.wait_for_selector("html[data-ready]")
    assert page.locator("[data-no-failed]").inner_text() == "Ingen feilede leveranser."
    assert page.locator("[data-count=failed] strong").inner_text() == "0"
    page.screenshot(path=str(artifacts / "activity-after-retry.png"), full_page=True)
    answer = page.evaluate("LoyaltyAdmin.api('GET', '/admin/api/activity/events').then(r => r.data.events[0])")
    assert (answer["id"], answer["status"], answer["result"]) == (event_id, "processed", "earned 500")
