"""The ledger and inbox invariants as a state machine over the HTTP API (#11).

Hypothesis sends signed webhooks to /webhooks (new, replayed with the same webhook id, resent
under a new id, refunds before their orders) and redeems through the signed app proxy against
a schema-checking fake Admin. After every step: the books balance (cached balances equal the
ledger's sums), no idempotency key is posted twice, and no order ever earns twice.
"""
from __future__ import annotations

import itertools

import pytest
import responses
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from sqlalchemy import String, cast, func, literal, select

from loyalty_app import ledger
from loyalty_app.extensions import db
from loyalty_app.models import LedgerEntry, Redemption, Reward
from loyalty_app.services.shops import install_shop
from tests.fake_admin import FakeAdmin
from tests.helpers import post_webhook, proxy_query, simple_order, simple_refund

pytestmark = pytest.mark.slow
_shops = itertools.count()
_codes = itertools.count(1)


def run_machine(app) -> None:  # type: ignore[no-untyped-def]
    class Books(RuleBasedStateMachine):
        """One fresh shop per example; every change goes through HTTP as Shopify or the widget would send it."""

        @initialize()
        def install(self) -> None:
            self.domain = f"machine-{next(_shops)}.myshopify.com"
            with app.app_context():
                install_shop(db.session(), self.domain, "shpat_m", app.extensions["token_box"])
                db.session.commit()  # type: ignore[union-attr]
            self.client = app.test_client()
            self.sent: list[tuple[str, dict, str]] = []
            self.webhook_ids = itertools.count()
            self.redeem_keys = itertools.count()

        def _deliver(self, topic: str, body: dict, webhook_id: str) -> None:
            response = post_webhook(self.client, topic, body, webhook_id=webhook_id, domain=self.domain)
            assert response.status_code == 200, response.data
            self.sent.append((topic, body, webhook_id))

        @rule(order=st.integers(1, 6), customer=st.integers(1, 3), amount=st.integers(0, 900))
        def order_paid(self, order: int, customer: int, amount: int) -> None:
            self._deliver("orders/paid", simple_order(order, customer, f"{amount}.00"), f"w{next(self.webhook_ids)}")

        @rule(order=st.integers(1, 6), refund=st.integers(1, 4), amount=st.integers(0, 900))
        def refund_created(self, order: int, refund: int, amount: int) -> None:
            """May arrive before its order: it waits for the order, then applies once."""
            self._deliver("refunds/create", simple_refund(order * 10 + refund, order, f"{amount}.00"),
                          f"w{next(self.webhook_ids)}")

        @rule(pick=st.integers(0, 10_000))
        def replay_same_webhook_id(self, pick: int) -> None:
            """Shopify's retry of a delivery: same webhook id, acknowledged as a duplicate."""
            if self.sent:
                topic, body, webhook_id = self.sent[pick % len(self.sent)]
                response = post_webhook(self.client, topic, body, webhook_id=webhook_id, domain=self.domain)
                assert response.status_code == 200 and response.json["status"] == "duplicate"

        @rule(pick=st.integers(0, 10_000))
        def resend_under_a_new_webhook_id(self, pick: int) -> None:
            """The same change under another webhook id (another subscription, an orders/updated): keyed, not re-applied."""
            if self.sent:
                topic, body, _ = self.sent[pick % len(self.sent)]
                self._deliver(topic, body, f"w{next(self.webhook_ids)}")

        @rule(customer=st.integers(1, 3))
        def redeem(self, customer: int) -> None:
            with app.app_context():
                from loyalty_app.services.shops import get_shop

                shop = get_shop(db.session(), self.domain)
                reward_id = db.session().execute(select(Reward.id).where(
                    Reward.shop_id == shop.id, Reward.kind == "fixed_amount")).scalar_one()
                db.session.remove()  # type: ignore[union-attr]
            admin_url = f"https://{self.domain}/admin/api/2026-10/graphql.json"
            with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
                FakeAdmin(rsps, url=admin_url).serve("DiscountCodeBasicCreate", lambda _: {
                    "discountCodeBasicCreate": {"codeDiscountNode": {"id": f"gid://shopify/DiscountCodeNode/{next(_codes)}"},
                                                "userErrors": []}})
                response = self.client.post("/proxy/redeem", query_string=proxy_query(customer, shop=self.domain),
                                            json={"reward_id": reward_id, "idempotency_key": f"m-{next(self.redeem_keys):06d}"})
            assert response.status_code in (200, 409), response.json  # 409: not enough points

        @invariant()
        def books_are_exact(self) -> None:
            if not hasattr(self, "domain"):
                return
            with app.app_context():
                session = db.session()
                assert ledger.audit(session) == []
                doubled = session.execute(select(LedgerEntry.idempotency_key).group_by(
                    LedgerEntry.shop_id, LedgerEntry.idempotency_key).having(func.count() > 1)).all()
                assert doubled == []
                earns = session.execute(select(LedgerEntry.source, func.count()).where(
                    LedgerEntry.kind == "earn").group_by(LedgerEntry.shop_id, LedgerEntry.source)
                    .having(func.count() > 1)).all()
                assert earns == []  # no order earns twice
                debit_key = literal("redeem:") + cast(Redemption.id, String)
                active_without_debit = session.execute(select(func.count()).select_from(Redemption).where(
                    Redemption.state == "active", ~select(LedgerEntry.id).where(
                        LedgerEntry.shop_id == Redemption.shop_id, LedgerEntry.idempotency_key == debit_key)
                    .exists())).scalar()
                assert active_without_debit == 0  # no code without its debit
                db.session.remove()  # type: ignore[union-attr]

    run_state_machine_as_test(Books, settings=settings(max_examples=15, stateful_step_count=12, deadline=None,
                                                       suppress_health_check=list(HealthCheck)))


def test_http_books_stay_exact(app):
    from loyalty_app import rate_limits

    app.config["REDEEM_RATE_LIMIT"] = "100000 per minute"  # the machine redeems fast; limits have tests of their own
    rate_limits.init_app(app)
    run_machine(app)
