"""CSV exports: every row of the caller's shop, streamed in batches, formula-safe, nothing personal of the redacted."""
from __future__ import annotations

import csv
import io

import pytest

from loyalty_app import ledger
from loyalty_app.models import Member, Tier, utcnow
from loyalty_app.services import exports
from loyalty_app.services.members import enrol
from loyalty_app.services.shops import install_shop
from tests.helpers import AdminApi

OTHER_SHOP = "other-shop.myshopify.com"


def _rows(response) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def _members(session, shop, count: int, start: int = 5000) -> list[Member]:  # type: ignore[no-untyped-def]
    made = []
    for number in range(count):
        member, _ = enrol(session, shop, start + number, email=f"m{number}@example.com", first_name=f"First{number}")
        ledger.post(session, member.id, amount=10 + number, kind="adjust", key=f"seed:{start + number}",
                    source="test", note="seed", actor="staff:9")
        made.append(member)
    session.commit()
    return made


def test_members_export_has_a_header_and_every_member_across_batches(admin_api, session, shop, monkeypatch):
    read: list[int] = []
    monkeypatch.setattr(exports, "BATCH", 2)
    from sqlalchemy import event

    def count(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if context is not None and "yield_per" in context.execution_options:
            read.append(context.execution_options["yield_per"])

    event.listen(session.get_bind(), "before_cursor_execute", count)
    monkeypatch.setattr(exports, "CHUNK", 10)  # many small chunks: the stream is cut between rows
    members = _members(session, shop, 7)
    response = admin_api.get("/exports/members.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = _rows(response)
    assert list(rows[0]) == list(exports.MEMBER_COLUMNS)
    assert [int(r["customer_id"]) for r in rows] == [m.customer_id for m in members]
    assert [int(r["balance"]) for r in rows] == [10 + n for n in range(7)]
    assert rows[3]["email"] == "m3@example.com" and rows[3]["excluded"] == "false"
    event.remove(session.get_bind(), "before_cursor_execute", count)
    assert read == [2]  # one query, read two rows at a time: seven members took four batches


def test_export_reads_in_batches_of_the_batch_size(session, shop):
    _members(session, shop, 5)
    statements: list[int] = []
    from sqlalchemy import event

    engine = session.get_bind()

    def count(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if context is not None and context.execution_options.get("yield_per"):
            statements.append(context.execution_options["yield_per"])

    event.listen(engine, "before_cursor_execute", count)
    try:
        text = "".join(exports.member_rows(session, shop, batch=2))
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert statements == [2]  # one statement, read two rows at a time
    assert len(text.strip().splitlines()) == 6


def test_exports_are_streamed_not_built_in_memory(admin_api, session, shop):
    _members(session, shop, 2)
    for path in ("/exports/members.csv", "/exports/ledger.csv"):
        response = admin_api.get(path, buffered=False)
        assert response.is_streamed
        assert not isinstance(response.response, (list, tuple))
        assert response.get_data(as_text=True).count("\r\n") == 3
        response.close()


def test_ledger_export_has_every_entry_with_its_program_version(admin_api, session, shop, monkeypatch):
    monkeypatch.setattr(exports, "BATCH", 3)
    members = _members(session, shop, 4)
    ledger.post(session, members[0].id, amount=-5, kind="adjust", key="k-extra", source="test", note="fix",
                actor="staff:9", detail={"program_version": 7})
    session.commit()
    rows = _rows(admin_api.get("/exports/ledger.csv"))
    assert list(rows[0]) == list(exports.LEDGER_COLUMNS)
    assert len(rows) == 5
    assert [r["idempotency_key"] for r in rows][-1] == "k-extra"
    last = rows[-1]
    assert (last["customer_id"], last["kind"], last["amount"], last["state"], last["program_version"],
            last["actor"], last["note"]) == (str(members[0].customer_id), "adjust", "-5", "available", "7",
                                             "staff:9", "fix")
    assert rows[0]["program_version"] == ""


@pytest.mark.parametrize("dangerous", ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\tcmd"])
def test_text_cells_cannot_become_formulas(admin_api, session, shop, dangerous):
    member, _ = enrol(session, shop, 77, email="x@example.com", first_name=dangerous, last_name="Plain")
    ledger.post(session, member.id, amount=-3, kind="adjust", key="k1", source="test", note=dangerous)
    session.commit()
    members = _rows(admin_api.get("/exports/members.csv"))
    assert members[0]["first_name"] == "'" + dangerous and members[0]["last_name"] == "Plain"
    entries = _rows(admin_api.get("/exports/ledger.csv"))
    assert entries[0]["note"] == "'" + dangerous
    assert entries[0]["amount"] == "-3"  # numbers stay numbers


def test_safe_text_leaves_ordinary_text_alone():
    assert exports.safe_text("Kari Nordmann") == "Kari Nordmann"
    assert exports.safe_text("a=b") == "a=b"
    assert exports.safe_text(None) == ""


def test_redacted_members_carry_no_personal_data(admin_api, session, shop):
    gold = session.query(Tier).filter_by(shop_id=shop.id).order_by(Tier.threshold.desc()).first()
    member, _ = enrol(session, shop, 4242, email="gone@example.com", first_name="Gone", last_name="Person")
    ledger.post(session, member.id, amount=50, kind="adjust", key="r1", source="test", note="for Gone Person")
    member.tier_id = gold.id
    member.email = member.first_name = member.last_name = None
    member.customer_id = -member.id
    member.redacted_at = utcnow()
    session.commit()
    text = admin_api.get("/exports/members.csv").get_data(as_text=True)
    row = list(csv.DictReader(io.StringIO(text)))[0]
    assert (row["customer_id"], row["email"], row["first_name"], row["redacted"], row["balance"], row["tier"]) == (
        "", "", "", "true", "50", gold.name)
    assert "Gone" not in text and "gone@" not in text
    entries = admin_api.get("/exports/ledger.csv").get_data(as_text=True)
    assert "Gone" not in entries and list(csv.DictReader(io.StringIO(entries)))[0]["customer_id"] == ""


def test_exports_hold_only_the_callers_shop(app, client, admin_api, session, shop, staff_token):
    other = install_shop(session, OTHER_SHOP, "shpat_other", app.extensions["token_box"])
    theirs, _ = enrol(session, other, 999, email="theirs@example.com")
    ledger.post(session, theirs.id, amount=5, kind="adjust", key="theirs", source="test")
    _members(session, shop, 1, start=5000)
    other_api = AdminApi(client, staff_token(shop=OTHER_SHOP))
    for path in ("/exports/members.csv", "/exports/ledger.csv"):
        assert [r["customer_id"] for r in _rows(admin_api.get(path))] == ["5000"]
        assert [r["customer_id"] for r in _rows(other_api.get(path))] == ["999"]


def test_exports_need_a_token(client, shop):
    assert client.get("/admin/api/exports/members.csv").status_code == 401
    assert client.get("/admin/api/exports/ledger.csv").status_code == 401


def test_a_finished_export_leaves_no_connection_in_a_transaction(app, client, staff_token):
    """A session held from the view would outlive the stream (on SQLite, holding the write lock for good).

    No test-wide app context here (unlike the ``session`` fixture), so each request tears down its own.
    """
    from loyalty_app.extensions import db
    from tests.conftest import SHOP_DOMAIN

    with app.app_context():
        created = install_shop(db.session(), SHOP_DOMAIN, "shpat_test", app.extensions["token_box"])
        _members(db.session(), created, 3)
    pool = app.extensions["db"].engine.pool
    api = AdminApi(client, staff_token())
    for path in ("/exports/members.csv", "/exports/ledger.csv"):
        response = api.get(path)
        assert response.get_data(as_text=True).count("\r\n") == 4
        response.close()
        assert pool.checkedout() == 0
