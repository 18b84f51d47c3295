"""Many threads posting and redeeming for one member on real PostgreSQL end exact and never negative."""
from __future__ import annotations

import threading

import pytest

from loyalty_app import ledger
from loyalty_app.extensions import db
from loyalty_app.models import LedgerEntry, Member
from loyalty_app.services.members import enrol
from loyalty_app.services.shops import install_shop

pytestmark = pytest.mark.integration
THREADS = 12
ROUNDS = 25


def test_concurrent_earns_redeems_and_replays(pg_app):
    with pg_app.app_context():
        session = db.new_session()
        shop = install_shop(session, "race.myshopify.com", "t", pg_app.extensions["token_box"])
        member, _ = enrol(session, shop, 42)
        session.commit()
        member_id = member.id
        session.close()

    barrier = threading.Barrier(THREADS)
    redeemed: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        session = pg_app.extensions["db"].new_session()
        try:
            barrier.wait()
            for r in range(ROUNDS):
                # Every thread earns under a key shared with its neighbour: each key must post once.
                ledger.post(session, member_id, amount=10, kind="earn", key=f"earn:{(n // 2)}:{r}", source="test")
                session.commit()
                try:
                    ledger.post(session, member_id, amount=-7, kind="redeem", key=f"redeem:{n}:{r}", source="test")
                    session.commit()
                    with lock:
                        redeemed.append(7)
                except ledger.InsufficientPoints:
                    session.rollback()
        except BaseException as exc:  # surfaced below with the thread's failure
            errors.append(exc)
        finally:
            session.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []

    session = pg_app.extensions["db"].new_session()
    member = session.get(Member, member_id)
    earned = (THREADS // 2) * ROUNDS * 10
    assert session.query(LedgerEntry).filter_by(kind="earn").count() == (THREADS // 2) * ROUNDS
    assert member.balance == earned - sum(redeemed)
    assert member.balance >= 0
    assert len(redeemed) > 0
    with pg_app.app_context():
        assert ledger.audit(db.session()) == []
    session.close()
