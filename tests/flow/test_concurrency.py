"""Many workers crediting one member at once on real PostgreSQL record one summed trigger per window."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from loyalty_app import ledger
from loyalty_app.extensions import db
from loyalty_app.models import FlowTrigger
from loyalty_app.services.members import enrol
from loyalty_app.services.shops import install_shop, update_settings

pytestmark = pytest.mark.integration
THREADS = 8
ROUNDS = 10
T = datetime(2026, 11, 25, 21, 0, tzinfo=timezone.utc)


def test_concurrent_credits_coalesce_into_one_row_per_window(pg_app):
    with pg_app.app_context():
        session = db.new_session()
        shop = install_shop(session, "race.myshopify.com", "t", pg_app.extensions["token_box"])
        update_settings(shop, {"flow_triggers": True})
        member, _ = enrol(session, shop, 42)
        session.commit()
        member_id = member.id
        session.close()

    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        session = pg_app.extensions["db"].new_session()
        try:
            barrier.wait()
            for r in range(ROUNDS):  # two windows: rounds 0-4 in the first, 5-9 in the next
                ledger.post(session, member_id, amount=1, kind="earn", key=f"earn:{n}:{r}", source="test",
                            now=T + timedelta(minutes=r))
                session.commit()
        except BaseException as exc:
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
    rows = session.execute(select(FlowTrigger.window, FlowTrigger.points).order_by(FlowTrigger.window)).all()
    session.close()
    assert rows == [("2026-11-25T21:00:00Z", THREADS * 5), ("2026-11-25T21:05:00Z", THREADS * 5)]
