"""The ledger service: idempotency, balances, the no-negative rule for redemptions, maturing, audit."""
from datetime import timedelta

import pytest

from loyalty_app import ledger
from loyalty_app.models import LedgerEntry, utcnow
from loyalty_app.services.members import enrol


@pytest.fixture
def member(session, shop):
    created, _ = enrol(session, shop, 1001, email="a@example.com")
    session.commit()
    return created


def test_posting_moves_cached_balances(session, member):
    ledger.post(session, member.id, amount=120, kind="earn", key="order:1", source="order:1")
    ledger.post(session, member.id, amount=-20, kind="redeem", key="redeem:1", source="reward:1")
    session.commit()
    assert (member.balance, member.pending, member.lifetime) == (100, 0, 120)
    assert ledger.audit(session) == []


def test_replayed_key_is_a_no_op_returning_the_first_entry(session, member):
    first = ledger.post(session, member.id, amount=50, kind="earn", key="order:7", source="order:7")
    again = ledger.post(session, member.id, amount=999, kind="earn", key="order:7", source="order:7")
    session.commit()
    assert again.id == first.id and again.amount == 50
    assert member.balance == 50
    assert session.query(LedgerEntry).count() == 1


def test_redemption_never_below_zero(session, member):
    ledger.post(session, member.id, amount=10, kind="earn", key="order:1", source="order:1")
    session.commit()
    with pytest.raises(ledger.InsufficientPoints):
        ledger.post(session, member.id, amount=-11, kind="redeem", key="redeem:1", source="reward:1")
    session.rollback()
    assert member.balance == 10  # reloaded after the rollback
    assert session.query(LedgerEntry).count() == 1


def test_reversal_may_go_negative_and_is_recorded(session, member):
    ledger.post(session, member.id, amount=10, kind="earn", key="order:1", source="order:1")
    ledger.post(session, member.id, amount=-10, kind="redeem", key="redeem:1", source="reward:1")
    ledger.post(session, member.id, amount=-10, kind="reversal", key="refund:1", source="order:1")
    session.commit()
    assert (member.balance, member.lifetime) == (-10, 0)
    assert ledger.audit(session) == []


@pytest.mark.parametrize(("amount", "kind"), [(0, "earn"), (5, "redeem"), (1.5, "earn"), (True, "earn"), (5, "gift")])
def test_bad_postings_are_refused(session, member, amount, kind):
    with pytest.raises(ledger.LedgerError):
        ledger.post(session, member.id, amount=amount, kind=kind, key="k", source="s")
    assert session.query(LedgerEntry).count() == 0


def test_pending_points_mature(session, shop, member):
    now = utcnow()
    ledger.post(session, member.id, amount=40, kind="earn", key="order:1", source="order:1", state="pending",
                available_at=now + timedelta(days=14), now=now)
    assert ledger.mature(session, shop.id, now + timedelta(days=13)) == 0
    assert (member.balance, member.pending) == (0, 40)
    assert ledger.mature(session, shop.id, now + timedelta(days=14)) == 40
    session.commit()
    session.refresh(member)
    assert (member.balance, member.pending, member.lifetime) == (40, 0, 40)
    assert ledger.audit(session) == []


def test_audit_reports_a_tampered_balance(session, member):
    ledger.post(session, member.id, amount=40, kind="earn", key="order:1", source="order:1")
    member.balance = 41
    session.commit()
    [difference] = ledger.audit(session)
    assert (difference.customer_id, difference.cached.balance, difference.ledger.balance) == (1001, 41, 40)
