"""A referral in Chromium on the development storefront: the friend lands, gets a code, orders; the referrer is paid.

The live server is the development app (its app proxy signs requests as Shopify's does and its
Admin API answers discount mutations), so everything runs through the same routes a shop uses.
"""
from __future__ import annotations

from datetime import timedelta

import requests

from loyalty_app import create_app
from loyalty_app.demo import DEMO_SHOP
from loyalty_app.extensions import db
from loyalty_app.models import LedgerEntry, Referral
from loyalty_app.program.referrals import CART_ATTRIBUTE
from loyalty_app.services import referrals
from loyalty_app.services.members import find_member
from loyalty_app.services.shops import get_shop, update_settings
from tests.conftest import BASE_CONFIG, SECRET
from tests.helpers import post_webhook, simple_order

REFERRER = 1001  # Kari, a demo member


class _Http:
    """``post_webhook``'s client, over real HTTP to the live server."""

    def __init__(self, base: str) -> None:
        self.base = base

    def post(self, path: str, data: bytes, headers: dict[str, str]) -> requests.Response:
        return requests.post(self.base + path, data=data, headers=headers, timeout=30)


def _database(tmp_path):  # type: ignore[no-untyped-def]
    """The live server's database, opened by a second app on the same file."""
    return create_app({**BASE_CONFIG, "DATABASE_URL": f"sqlite:///{tmp_path / 'e2e.sqlite3'}", "AUTO_MIGRATE": False})


def _order(order_id: int, customer_id: int, ip: str, code: str | None) -> dict:  # type: ignore[type-arg]
    order = simple_order(order_id, customer_id, "300.00")
    order["email"] = f"c{customer_id}@example.com"
    order["browser_ip"] = ip
    order["client_details"]["browser_ip"] = ip
    if code:
        order["note_attributes"] = [{"name": CART_ATTRIBUTE, "value": code}]
    return order


def test_a_referred_friends_first_order_pays_the_referrer_after_the_pending_period(page, live_server, tmp_path,
                                                                                 artifacts):
    app = _database(tmp_path)
    with app.app_context():
        session = db.session()
        shop = get_shop(session, DEMO_SHOP)
        update_settings(shop, {"pending_days": 14})
        code = referrals.code_for(session, shop, find_member(session, shop.id, REFERRER), SECRET)
        session.commit()

    # The friend follows the link (a guest: no dev_customer cookie), in Norwegian.
    page.goto(f"/apps/loyalty/r/{code}?lang=nb")
    page.wait_for_selector("[data-referral-code]:not(:empty)")
    shown = page.locator("[data-referral-code]").inner_text()
    assert shown.startswith("LOYAL-") and page.locator("h1").inner_text() == "Du er invitert"
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    assert cookies["loyalty_referral"] == code and len(cookies["loyalty_visitor"]) == 32
    page.screenshot(path=str(artifacts / "referral-landing.png"), full_page=True)
    page.reload()
    page.wait_for_selector("[data-referral-code]:not(:empty)")
    assert page.locator("[data-referral-code]").inner_text() == shown  # the same code, not a new one
    assert page.locator("[data-referral-shop]").get_attribute("href").startswith(f"/discount/{shown}?redirect=")

    # The friend's first order carries the cart attribute; a refund-free pending period later, Kari is paid.
    http = _Http(live_server)
    assert post_webhook(http, "orders/paid", _order(7001, 5555, "203.0.113.8", code)).status_code == 200
    with app.app_context():
        session = db.session()
        shop = get_shop(session, DEMO_SHOP)
        referral = session.query(Referral).filter_by(order_id=7001).one()
        assert referral.status == "pending"
        assert referrals.settle_due(session, shop, referral.due_at - timedelta(minutes=1)) == 0
        assert referrals.settle_due(session, shop, referral.due_at + timedelta(minutes=1)) == 1
        session.commit()
        paid = session.query(LedgerEntry).filter_by(kind="action", source="action:referral").one()
        assert paid.amount == 250 and paid.member_id == find_member(session, shop.id, REFERRER).id


def test_the_merchant_approves_a_flagged_referral_in_the_admin(admin, live_server, tmp_path, artifacts):
    app = _database(tmp_path)
    with app.app_context():
        session = db.session()
        shop = get_shop(session, DEMO_SHOP)
        code = referrals.code_for(session, shop, find_member(session, shop.id, REFERRER), SECRET)
        session.commit()
    http = _Http(live_server)
    post_webhook(http, "orders/paid", _order(7101, REFERRER, "198.51.100.20", None))  # Kari's own order
    post_webhook(http, "orders/paid", _order(7102, 6666, "198.51.100.20", code))  # a "friend" on Kari's IP

    admin.open("/admin/referrals", locale="en")
    row = admin.page.locator("tr[data-referral]")
    assert row.count() == 1 and "Same IP address" in row.inner_text()
    admin.page.screenshot(path=str(artifacts / "admin-referrals.png"), full_page=True)
    with admin.page.expect_navigation():
        row.locator("[data-api$='/approve']").click()
    admin.page.wait_for_selector("html[data-ready]")
    assert admin.page.locator("[data-no-referrals]").count() == 1  # nothing left to review
    with app.app_context():
        referral = db.session().query(Referral).filter_by(order_id=7102).one()
        assert (referral.status, referral.points, referral.decided_by) == ("paid", 250, "staff:1")
