"""5 % of a run's webhooks never arrive: one reconciliation against the (fake, schema-checking) Admin API restores
every order, and a second changes nothing. The Procfile's processes do the webhooks; ``loyalty reconcile`` runs as
the on-call engineer runs it."""
from __future__ import annotations

import random

from tests.webhooks.test_reconcile import Store, gql_line, gql_order, rest_order

from .admin_server import AdminServer
from .stack import DOMAIN, Delivery, Stack, send, wait_for

import json

ORDERS = 200


class _Registry:
    """``Store`` wants a FakeAdmin's ``serve``; the loopback server has the same hook."""

    def __init__(self, server: AdminServer) -> None:
        self.server = server

    def serve(self, name, answer):  # type: ignore[no-untyped-def]
        self.server.served[name] = answer
        return self


def test_one_reconciliation_restores_the_missed_webhooks_and_a_second_changes_nothing(make_stack) -> None:  # type: ignore[no-untyped-def]
    admin = AdminServer()
    try:
        stack: Stack = make_stack(LOYALTY_ENV="test", SHOPIFY_ADMIN_URL=admin.url_template)
        stack.start_web()
        stack.start_worker()
        orders = Store(_Registry(admin))
        deliveries = []
        for order_id in range(5_000_001, 5_000_001 + ORDERS):
            customer, price, line = 1 + order_id % 80, f"{10 + order_id % 90}.00", order_id * 10
            orders.add(gql_order(order_id, customer, [gql_line(line, price)], subtotal=price))
            deliveries.append(Delivery(f"rec-{order_id}", json.dumps(
                rest_order(order_id, customer, [(line, price, 1)], price)).encode()))
        lost = set(random.Random(5).sample(range(ORDERS), ORDERS // 20))
        outcomes = send(stack.port, [d for i, d in enumerate(deliveries) if i not in lost], connections=8)
        assert all(o.status == 200 for o in outcomes)
        delivered = ORDERS - len(lost)
        wait_for(lambda: stack.scalar("SELECT count(*) FROM ledger_entries WHERE kind = 'earn'") == delivered, 120,
                 "the delivered orders credited", interval=0.2)

        def ledger() -> list[tuple[str, int]]:
            with stack.engine.connect() as conn:
                from sqlalchemy import text

                return [tuple(row) for row in conn.execute(text(  # type: ignore[misc]
                    "SELECT idempotency_key, amount FROM ledger_entries ORDER BY idempotency_key"))]

        first = stack.flask("loyalty", "reconcile", DOMAIN, "--hours", "96")
        after_first = ledger()
        second = stack.flask("loyalty", "reconcile", DOMAIN, "--hours", "96")
        after_second = ledger()
        credited = stack.scalar("SELECT count(*) FROM ledger_entries WHERE kind = 'earn'")
        audit = stack.flask("loyalty", "audit")
        print(f"\nreconcile: orders {ORDERS}, webhooks sent {len(outcomes)}, never delivered {len(lost)}, "
              f"credited by webhooks {delivered}, after one reconciliation {credited}; Admin calls {admin.calls}, "
              f"rejected {len(admin.rejected)}\nfirst: {first.stdout.strip()}\nsecond: {second.stdout.strip()}")
        assert first.returncode == 0, first.stderr[-2000:]
        assert second.returncode == 0, second.stderr[-2000:]
        assert admin.rejected == []
        assert credited == ORDERS
        assert f"{len(lost)} credited" in first.stdout
        assert "0 credited (0 points), 0 refunds, 0 cancellations, 0 edits" in second.stdout
        assert after_second == after_first
        assert audit.returncode == 0, audit.stdout + audit.stderr
    finally:
        admin.close()
