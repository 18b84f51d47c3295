"""Imports under concurrency on real PostgreSQL: undo twice at once reverses each entry once."""
from __future__ import annotations

import threading

from sqlalchemy import select

from loyalty_app import ledger
from loyalty_app.extensions import db
from loyalty_app.models import LedgerEntry, LedgerImport, Shop
from loyalty_app.services import imports
from loyalty_app.services.members import enrol
from loyalty_app.services.shops import install_shop

THREADS = 6


def test_concurrent_undos_reverse_every_entry_exactly_once(pg_app):
    with pg_app.app_context():
        session = db.new_session()
        shop = install_shop(session, "race.myshopify.com", "t", pg_app.extensions["token_box"])
        for customer_id in (1, 2, 3):
            enrol(session, shop, customer_id)
        record = imports.apply(session, shop, b"customer_id,points\n1,10\n2,20\n3,30\n4,40\n", "set", "staff:1")
        session.commit()
        import_id, shop_id = record.ledger_import.id, shop.id  # type: ignore[union-attr]
        session.close()

    barrier = threading.Barrier(THREADS)
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def worker() -> None:
        session = pg_app.extensions["db"].new_session()
        try:
            own_shop, own_import = session.get(Shop, shop_id), session.get(LedgerImport, import_id)
            assert own_shop is not None and own_import is not None
            session.commit()  # end the read: each undo starts from a fresh transaction, as a request does
            barrier.wait()
            try:
                imports.undo(session, own_shop, own_import, "staff:2")
                session.commit()
                outcomes.append("undone")
            except imports.AlreadyUndone:
                session.rollback()
                outcomes.append("409")
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            session.close()

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(outcomes) == ["409"] * (THREADS - 1) + ["undone"]

    session = pg_app.extensions["db"].new_session()
    try:
        reversals = session.execute(select(LedgerEntry.amount).where(
            LedgerEntry.source == f"import-undo:{import_id}")).scalars().all()
        assert sorted(reversals) == [-40, -30, -20, -10]
        assert session.get(LedgerImport, import_id).undone_by == "staff:2"  # type: ignore[union-attr]
        assert ledger.audit(session) == []
    finally:
        session.close()
