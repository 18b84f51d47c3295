"""Property: any sequence of earns, refunds, cancellations, redemptions, expiries and replays keeps the books exact."""
from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from loyalty_app import ledger
from loyalty_app.models import LedgerEntry, Member, OrderRecord
from loyalty_app.services import orders
from loyalty_app.services.expiry import expire_inactive
from loyalty_app.services.members import enrol
from loyalty_app.services.shops import install_shop
from tests.helpers import cancelled_order, simple_order, simple_refund

START = datetime(2026, 1, 1, tzinfo=timezone.utc)
amounts = st.decimals(min_value=Decimal("0"), max_value=Decimal("900"), places=2)
customers = st.integers(1, 3)
order_ids = st.integers(1, 6)

operations = st.one_of(
    st.tuples(st.just("earn"), order_ids, customers, amounts),
    st.tuples(st.just("refund"), order_ids, st.integers(1, 12), amounts),
    st.tuples(st.just("cancel"), order_ids),
    st.tuples(st.just("redeem"), customers, st.integers(1, 800), st.integers(1, 5)),
    st.tuples(st.just("expire"), st.integers(0, 400)),
    st.tuples(st.just("replay"), st.integers(0, 1000)),
)

_shop_numbers = itertools.count()


def apply(session, shop, op, now):  # type: ignore[no-untyped-def]
    """Run one operation through the real services; returns what a redemption found before it."""
    kind = op[0]
    if kind == "earn":
        _, order_id, customer, amount = op
        orders.record_paid_order(session, shop, simple_order(order_id, customer, str(amount)), now=now)
    elif kind == "refund":
        _, order_id, refund_id, amount = op
        orders.record_refund(session, shop, simple_refund(order_id * 100 + refund_id, order_id, str(amount)), now=now)
    elif kind == "cancel":
        orders.record_cancellation(session, shop, cancelled_order(op[1]), now=now)
    elif kind == "redeem":
        _, customer, cost, key = op
        member, _ = enrol(session, shop, customer)
        before = member.balance
        try:
            ledger.post(session, member.id, amount=-cost, kind="redeem", key=f"redeem:{customer}:{key}",
                        source="reward", now=now)
        except ledger.InsufficientPoints:
            assert before < cost
        return before
    elif kind == "expire":
        expire_inactive(session, shop, now + timedelta(days=op[1]))
    return None


def check_invariants(session, shop):  # type: ignore[no-untyped-def]
    assert ledger.audit(session) == []
    keys = session.execute(
        select(LedgerEntry.idempotency_key, func.count()).where(LedgerEntry.shop_id == shop.id)
        .group_by(LedgerEntry.idempotency_key).having(func.count() > 1)
    ).all()
    assert keys == []
    for record in session.execute(select(OrderRecord).where(OrderRecord.shop_id == shop.id)).scalars():
        reversed_total = -sum(session.execute(
            select(LedgerEntry.amount).where(LedgerEntry.shop_id == shop.id, LedgerEntry.kind == "reversal",
                                             LedgerEntry.source == f"order:{record.order_id}")
        ).scalars())
        assert reversed_total == record.points_reversed
        assert 0 <= record.points_reversed <= (record.points_earned or 0)
    for member in session.execute(select(Member).where(Member.shop_id == shop.id)).scalars():
        redeemed = sum(session.execute(select(LedgerEntry.amount).where(
            LedgerEntry.member_id == member.id, LedgerEntry.kind == "redeem")).scalars())
        assert redeemed <= 0


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(operations, min_size=1, max_size=30))
def test_books_stay_exact(app, ops):
    with app.app_context():
        from loyalty_app.extensions import db

        session = db.session()
        shop = install_shop(session, f"prop-{next(_shop_numbers)}.myshopify.com", "t",
                            app.extensions["token_box"])
        shop.settings = {**shop.settings, "expiry_months": 6}
        session.commit()
        done: list[tuple] = []
        for step, op in enumerate(ops):
            now = START + timedelta(days=step)
            if op[0] == "replay":
                if not done:
                    continue
                op = done[op[1] % len(done)]
            before = apply(session, shop, op, now)
            session.commit()
            if op[0] == "redeem" and before is not None and before >= op[2]:
                assert enrol(session, shop, op[1])[0].balance >= 0
            done.append(op)
            check_invariants(session, shop)
        session.close()
