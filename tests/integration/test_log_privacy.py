"""Secrets and shoppers' personal data never reach the logs (#11).

Every log record of an install, an order, a redemption and a database error is captured at
DEBUG and searched for the access and refresh tokens, the app secret, the session token and the
shopper's email and name.
"""
from __future__ import annotations

import logging

import pytest
import responses

from loyalty_app.extensions import db
from loyalty_app.models import Member, Reward, WebhookEvent
from loyalty_app.services import inbox
from tests.conftest import SECRET, SHOP_DOMAIN
from tests.fake_admin import FakeAdmin
from tests.helpers import post_webhook, proxy_query, simple_order

pytestmark = pytest.mark.integration

ACCESS, REFRESH = "shpat_NEVER_LOG_ME_0123456789", "shprt_NEVER_LOG_ME_9876543210"
EMAIL, FIRST, LAST = "ingrid.hemmelig@example.org", "Ingrid", "Hemmeligsen"


def test_no_secret_or_personal_data_is_logged(pg_app, staff_token, caplog):
    caplog.set_level(logging.DEBUG)
    client = pg_app.test_client()
    token = staff_token()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.post(f"https://{SHOP_DOMAIN}/admin/oauth/access_token",
                  json={"access_token": ACCESS, "scope": "read_orders", "expires_in": 86400, "refresh_token": REFRESH})
        assert client.post("/auth/token-exchange", headers={"Authorization": f"Bearer {token}"}).status_code == 200

        order = simple_order(1001, 5, "900.00")
        order["customer"].update(email=EMAIL, first_name=FIRST, last_name=LAST)
        order["email"] = EMAIL
        assert post_webhook(client, "orders/paid", order).status_code == 200

        FakeAdmin(rsps, url=f"https://{SHOP_DOMAIN}/admin/api/2026-10/graphql.json").answer(
            {"discountCodeBasicCreate": {"codeDiscountNode": {"id": "gid://shopify/DiscountCodeNode/1"},
                                         "userErrors": []}})
        with pg_app.app_context():
            reward = db.session().query(Reward).filter_by(kind="fixed_amount").one().id
        redeemed = client.post("/proxy/redeem", query_string=proxy_query(5),
                               json={"reward_id": reward, "idempotency_key": "privacy-0001"})
        assert redeemed.status_code == 200, redeemed.json

    with pg_app.app_context():  # a database error whose statement carried the shopper's email
        session = db.session()
        event = WebhookEvent(webhook_id="db-error", topic="customers/update", shop_domain=SHOP_DOMAIN,
                             shop_id=db.session().query(Member).one().shop_id, body="{}")
        session.add(event)
        session.commit()

        def too_long(session, shop, payload, event):  # type: ignore[no-untyped-def]
            session.add(Member(shop_id=shop.id, customer_id=77, email="x" * 320 + EMAIL))
            session.flush()

        inbox.claim(session, 10)
        assert inbox.process(session, event.id, {"customers/update": too_long}, max_attempts=3) == "failed"
        session.refresh(event)
        stored_error = event.error
    logged = caplog.text + "\n".join(str(r.args) for r in caplog.records)
    assert "DataError" in stored_error and EMAIL not in stored_error
    for secret in (ACCESS, REFRESH, SECRET, token, EMAIL, LAST):
        assert secret not in logged, f"{secret[:12]}… was logged"
    # the failure was logged with its reason, so the search above had a message to search
    assert any("value too long" in record.getMessage() for record in caplog.records)
