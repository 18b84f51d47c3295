"""Opening-balance imports: dry run, all-or-nothing apply, undo whole, every bad input a 4xx, one shop's only."""
from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import func, select

from loyalty_app import ledger
from loyalty_app.models import LedgerEntry, LedgerImport, Member
from loyalty_app.services import imports
from loyalty_app.services.members import enrol, find_member
from loyalty_app.services.shops import install_shop
from tests.helpers import AdminApi

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "imports"
OTHER_SHOP = "other-shop.myshopify.com"


@pytest.fixture
def members(session, shop):  # type: ignore[no-untyped-def]
    """Kari (1001) holds 40 points, Lars (1002) 10, Mette (1003) none."""
    made = {}
    for customer_id, email, points in ((1001, "kari@example.com", 40), (1002, "lars@example.com", 10),
                                       (1003, "mette@example.com", 0)):
        member, _ = enrol(session, shop, customer_id, email=email)
        if points:
            ledger.post(session, member.id, amount=points, kind="adjust", key=f"seed:{customer_id}", source="test")
        made[customer_id] = member
    session.commit()
    return made


def send(admin_api, body: str | bytes, **query: str):  # type: ignore[no-untyped-def]
    """POST a file as text/csv with the given query."""
    path = "/imports" + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")
    return admin_api.post(path, data=body.encode() if isinstance(body, str) else body, content_type="text/csv")


def balance(session, shop, customer_id: int) -> int | None:  # type: ignore[no-untyped-def]
    session.expire_all()
    member = find_member(session, shop.id, customer_id)
    return member.balance if member else None


def counts(session) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    session.expire_all()
    return tuple(session.execute(select(func.count()).select_from(model)).scalar_one()  # type: ignore[return-value]
                 for model in (Member, LedgerEntry, LedgerImport))


GENERIC = (SAMPLES / "generic.csv").read_text()


def test_a_dry_run_says_what_each_row_would_do_and_changes_nothing(admin_api, session, shop, members):
    before = counts(session)
    response = send(admin_api, GENERIC, dry_run="true")
    assert response.status_code == 200
    body = response.get_json()
    assert (body["dry_run"], body["format"], body["mode"], body["row_count"], body["error_count"], body["import"]) == (
        True, "generic", "set", 3, 0, None)
    rows = [(r["line"], r["customer_id"], r["new_member"], r["balance"], r["change"], r["new_balance"], r["errors"])
            for r in body["rows"]]
    assert rows == [(2, 1001, False, 40, 460, 500, []), (3, 1002, False, 10, 240, 250, []),
                    (4, 1004, True, 0, 75, 75, [])]
    assert body["points"] == 775
    assert counts(session) == before


def test_without_dry_run_false_nothing_is_applied(admin_api, session, shop, members):
    before = counts(session)
    assert send(admin_api, GENERIC).get_json()["dry_run"] is True
    assert counts(session) == before


def test_applying_posts_one_entry_per_row_under_one_import(admin_api, session, shop, members):
    members_before, entries_before, _ = counts(session)
    response = send(admin_api, GENERIC, dry_run="false", filename="old-program.csv")
    assert response.status_code == 200
    body = response.get_json()
    record = body["import"]
    assert (record["row_count"], record["points"], record["format"], record["actor"], record["filename"]) == (
        3, 775, "generic", "staff:1", "old-program.csv")
    assert [r["new_member"] for r in body["rows"]] == [False, False, True]
    assert [balance(session, shop, c) for c in (1001, 1002, 1003, 1004)] == [500, 250, 0, 75]
    assert find_member(session, shop.id, 1004).email == "new@example.com"
    entries = session.execute(select(LedgerEntry).where(LedgerEntry.source == f"import:{record['id']}")
                              .order_by(LedgerEntry.id)).scalars().all()
    assert [(e.amount, e.kind, e.actor, e.note) for e in entries] == [
        (460, "adjust", "staff:1", "Balance from our old program"), (240, "adjust", "staff:1", "Imported balance"),
        (75, "adjust", "staff:1", "Welcome over")]
    assert entries[0].detail == {"import_id": record["id"], "line": 2, "mode": "set", "before": 40, "after": 500,
                                 "program_version": shop.program_version}
    assert counts(session) == (members_before + 1, entries_before + 3, 1)
    assert ledger.audit(session) == []


def test_add_mode_adds_and_set_mode_skips_rows_already_right(admin_api, session, shop, members):
    added = send(admin_api, "customer_id,points\n1001,5\n1002,-10\n", dry_run="false", mode="add").get_json()
    assert [(r["balance"], r["change"], r["new_balance"]) for r in added["rows"]] == [(40, 5, 45), (10, -10, 0)]
    assert [balance(session, shop, c) for c in (1001, 1002)] == [45, 0]
    same = send(admin_api, "customer_id,points\n1001,45\n1003,7\n", dry_run="false").get_json()
    assert [r["change"] for r in same["rows"]] == [0, 7]
    entries = session.execute(select(LedgerEntry).where(LedgerEntry.source == f"import:{same['import']['id']}"))
    assert [e.amount for e in entries.scalars()] == [7]  # a row that changes nothing posts nothing


def test_one_bad_row_and_nothing_is_written_not_even_a_new_member(admin_api, session, shop, members):
    before = counts(session)
    response = send(admin_api, "customer_id,points\n1004,10\n1001,ten\n", dry_run="false")
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"3": ["points: 'ten' is not a whole number"]}
    assert counts(session) == before
    assert find_member(session, shop.id, 1004) is None


@pytest.mark.parametrize("body, line, message", [
    ("customer_id,points\n1001,12.5\n", "2", "points: '12.5' is not a whole number"),
    ('customer_id,points\n1001,"1,000"\n', "2", "points: '1,000' is not a whole number"),
    ("customer_id,points\n1001,\n", "2", "points: required"),
    ("customer_id,points\n1001,99999999999\n", "2", "points: at most 2147483647"),
    ("customer_id,points\n1001,-5\n", "2", "the balance would be -5; it cannot go below zero"),
    ("customer_id,points\nabc,5\n", "2", "customer_id: 'abc' is not a Shopify customer id"),
    ("customer_id,points\n0,5\n", "2", "customer_id: '0' is not a Shopify customer id"),
    ("customer_id,email,points\n,,5\n", "2", "customer_id or email is required"),
    ("email,points\nnobody@example.com,5\n", "2", "no member has this email; give their customer_id"),
    ("email,points\nnot-an-email,5\n", "2", "email: 'not-an-email' is not an email address"),
    ("customer_id,points\n1001,5,7\n", "2", "3 cells where the header has 2"),
    ("customer_id,points,note\n1001,5," + "x" * 501 + "\n", "2", "note: at most 500 characters"),
], ids=["decimal", "thousands", "empty", "huge", "negative-balance", "bad-id", "zero-id", "no-member-key",
        "unknown-email", "bad-email", "extra-cell", "long-note"])
def test_each_bad_row_is_named_in_the_dry_run_and_refused_on_apply(admin_api, session, shop, members, body, line,
                                                                   message):
    preview = send(admin_api, body)
    assert preview.status_code == 200
    assert [r["errors"] for r in preview.get_json()["rows"]] == [[message]]
    before = counts(session)
    applied = send(admin_api, body, dry_run="false")
    assert applied.status_code == 422
    assert applied.get_json()["errors"] == {line: [message]}
    assert counts(session) == before


def test_add_mode_refuses_taking_a_balance_below_zero(admin_api, members):
    rows = send(admin_api, "customer_id,points\n1002,-11\n", mode="add").get_json()["rows"]
    assert rows[0]["errors"] == ["the balance would be -1; it cannot go below zero"]


def test_one_member_twice_is_an_error_on_each_of_their_rows(admin_api, members):
    body = "customer_id,email,points\n1001,,5\n,KARI@example.com,6\n1002,,7\n"
    rows = send(admin_api, body).get_json()["rows"]
    assert [r["errors"] for r in rows] == [["the same member is on lines 2, 3"]] * 2 + [[]]
    new_twice = send(admin_api, "customer_id,points\n1009,5\n1009,6\n").get_json()["rows"]
    assert all(r["errors"] == ["the same member is on lines 2, 3"] for r in new_twice)


def test_an_email_two_members_share_is_not_guessed(admin_api, session, shop, members):
    enrol(session, shop, 1010, email="Kari@Example.com")
    session.commit()
    rows = send(admin_api, "email,points\nkari@example.com,5\n").get_json()["rows"]
    assert rows[0]["errors"] == ["2 members have this email; give their customer_id"]


@pytest.mark.parametrize("body, message", [
    (b"name,points\nKari,5\n", "unrecognised header"),
    (b"customer_id,email\n1001,kari@example.com\n", "unrecognised header"),
    (b"customer_id,points,points\n1001,5,5\n", "unrecognised header"),
    (b"", "the file is empty"),
    (b"customer_id,points\n", "the file has a header but no rows"),
    (b"customer_id,points\n1001,5\xff\n", "the file is not UTF-8 text"),
    (b'customer_id,points\n1001,"5\n', "unexpected end of data"),
    (b'{"id": 1}\n', "is not a LoyaltyLion customer"),
], ids=["unknown-column", "no-points", "repeated-column", "empty", "header-only", "not-utf8", "open-quote",
        "json-not-lion"])
def test_files_we_cannot_read_are_422_with_a_file_error(admin_api, session, members, body, message):
    before = counts(session)
    for dry_run in ("true", "false"):
        response = send(admin_api, body, dry_run=dry_run)
        assert response.status_code == 422
        assert message in response.get_json()["errors"]["file"][0]
    assert counts(session) == before


def test_too_many_rows_is_422_and_too_many_bytes_is_413(admin_api, session, members, monkeypatch):
    monkeypatch.setattr(imports, "MAX_ROWS", 2)
    response = send(admin_api, "customer_id,points\n1001,1\n1002,2\n1003,3\n")
    assert response.status_code == 422
    assert "split it" in response.get_json()["errors"]["file"][0]
    monkeypatch.setattr(imports, "MAX_BYTES", 100)
    big = "customer_id,points\n" + "1001,1\n" * 40_000
    too_large = send(admin_api, big, dry_run="false")
    assert too_large.status_code == 413
    assert too_large.get_json()["error"] == "request_entity_too_large"
    upload = {"file": (io.BytesIO(b"customer_id,points\n" + b"1001,1\n" * 20), "big.csv")}
    uploaded = admin_api.post("/imports?dry_run=false", data=upload, content_type="multipart/form-data")
    assert uploaded.status_code == 413 and uploaded.get_json()["error"] == "request_entity_too_large"
    assert session.query(LedgerImport).count() == 0


def test_bad_query_values_are_422(admin_api, members):
    assert send(admin_api, GENERIC, mode="replace").status_code == 422
    assert send(admin_api, GENERIC, dry_run="perhaps").status_code == 422


def test_a_multipart_upload_and_a_semicolon_file_work_too(admin_api, session, shop, members):
    response = admin_api.post("/imports?dry_run=false", data={"file": (io.BytesIO(b"customer_id;points\n1001;9\n"),
                                                                       "balances.csv")},
                              content_type="multipart/form-data")
    assert response.status_code == 200
    assert response.get_json()["import"]["filename"] == "balances.csv"
    assert balance(session, shop, 1001) == 9
    missing = admin_api.post("/imports", data={"other": "x"}, content_type="multipart/form-data")
    assert missing.status_code == 422 and "file" in missing.get_json()["errors"]


def test_smile_points_csv(admin_api, session, shop, members):
    body = send(admin_api, (SAMPLES / "smile.csv").read_text(), dry_run="false").get_json()
    assert body["format"] == "smile"
    assert [(r["customer_id"], r["new_balance"]) for r in body["rows"]] == [(1001, 120), (1002, 80)]
    assert [balance(session, shop, c) for c in (1001, 1002)] == [120, 80]


def test_loyaltylion_customer_export(admin_api, session, shop, members):
    body = send(admin_api, (SAMPLES / "loyaltylion.jsonl").read_text(), dry_run="false").get_json()
    assert body["format"] == "loyaltylion"
    assert [(r["customer_id"], r["new_member"], r["change"], r["new_balance"]) for r in body["rows"]] == [
        (1001, False, 260, 300), (1005, True, 90, 90)]  # approved points only; pending stay behind
    assert balance(session, shop, 1005) == 90
    bad = send(admin_api, '{"merchant_id": "1001", "points_approved": "lots"}\nnot json\n').get_json()["rows"]
    assert [r["errors"] for r in bad] == [["points_approved: required, a whole number"], ["not a JSON object"]]


# Listing, showing and undoing.

def _apply(admin_api, body: str = GENERIC) -> dict:  # type: ignore[no-untyped-def,type-arg]
    response = send(admin_api, body, dry_run="false")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["import"]


def test_imports_are_listed_newest_first_and_shown_with_their_entries(admin_api, members):
    first = _apply(admin_api)
    second = _apply(admin_api, "customer_id,points\n1003,5\n")
    assert [i["id"] for i in admin_api.get("/imports").get_json()] == [second["id"], first["id"]]
    shown = admin_api.get(f"/imports/{first['id']}").get_json()
    assert shown["row_count"] == 3 and shown["undone_at"] is None
    assert [(e["line"], e["customer_id"], e["before"], e["change"], e["after"]) for e in shown["entries"]] == [
        (2, 1001, 40, 460, 500), (3, 1002, 10, 240, 250), (4, 1004, 0, 75, 75)]


def test_undo_reverses_every_entry_once_and_a_second_undo_is_409(admin_api, session, shop, members):
    record = _apply(admin_api)
    response = admin_api.post(f"/imports/{record['id']}/undo")
    assert response.status_code == 200
    assert response.get_json()["undone_by"] == "staff:1" and response.get_json()["undone_at"]
    assert [balance(session, shop, c) for c in (1001, 1002, 1004)] == [40, 10, 0]
    reversals = session.execute(select(LedgerEntry).where(LedgerEntry.source == f"import-undo:{record['id']}")
                                ).scalars().all()
    assert sorted(e.amount for e in reversals) == [-460, -240, -75]
    again = admin_api.post(f"/imports/{record['id']}/undo")
    assert again.status_code == 409
    assert session.query(LedgerEntry).filter(LedgerEntry.source == f"import-undo:{record['id']}").count() == 3
    assert ledger.audit(session) == []


def test_undo_of_a_lowering_import_gives_the_points_back(admin_api, session, shop, members):
    record = _apply(admin_api, "customer_id,points\n1001,15\n")
    assert balance(session, shop, 1001) == 15
    assert admin_api.post(f"/imports/{record['id']}/undo").status_code == 200
    assert balance(session, shop, 1001) == 40


def test_undo_is_refused_naming_members_who_spent_the_points(admin_api, session, shop, members):
    record = _apply(admin_api)
    kari = find_member(session, shop.id, 1001)
    ledger.post(session, kari.id, amount=-300, kind="redeem", key="spent", source="redemption:1")
    session.commit()
    entries_before = counts(session)[1]
    response = admin_api.post(f"/imports/{record['id']}/undo")
    assert response.status_code == 409
    assert response.get_json()["errors"]["members"] == [{"customer_id": 1001, "balance": 200, "points": 460}]
    assert "customer 1001 has 200, the undo takes 460" in response.get_json()["message"]
    assert counts(session)[1] == entries_before
    assert admin_api.get(f"/imports/{record['id']}").get_json()["undone_at"] is None
    ledger.post(session, kari.id, amount=260, kind="adjust", key="top-up", source="test")
    session.commit()
    assert admin_api.post(f"/imports/{record['id']}/undo").status_code == 200
    assert balance(session, shop, 1001) == 0


def test_another_shops_imports_are_404_and_unlisted(app, client, admin_api, session, members, staff_token):
    other = install_shop(session, OTHER_SHOP, "shpat_other", app.extensions["token_box"])
    enrol(session, other, 1001)
    session.commit()
    theirs = AdminApi(client, staff_token(shop=OTHER_SHOP))
    record = _apply(theirs, "customer_id,points\n1001,5\n")
    assert admin_api.get("/imports").get_json() == []
    assert admin_api.get(f"/imports/{record['id']}").status_code == 404
    assert admin_api.post(f"/imports/{record['id']}/undo").status_code == 404
    assert theirs.get(f"/imports/{record['id']}").status_code == 200
    ours = send(admin_api, "customer_id,points\n1001,5\n").get_json()["rows"][0]
    assert ours["balance"] == 40  # our Kari, not theirs


def test_import_routes_need_a_token(client, shop):
    assert client.post("/admin/api/imports", data=b"customer_id,points\n1,1\n", content_type="text/csv"
                       ).status_code == 401
    assert client.get("/admin/api/imports").status_code == 401
    assert client.post("/admin/api/imports/1/undo").status_code == 401


def test_an_import_by_api_key_names_the_key_as_its_actor(client, admin_api, session, shop, members):
    created = admin_api.post("/keys", json={"name": "ERP"}).get_json()
    by_key = AdminApi(client, created["secret"])
    record = _apply(by_key, "customer_id,points\n1003,5\n")
    assert record["actor"] == f"api-key:{created['key']['id']}"
    entry = session.execute(select(LedgerEntry).where(LedgerEntry.source == f"import:{record['id']}")).scalar_one()
    assert entry.actor == record["actor"]
    assert by_key.post(f"/imports/{record['id']}/undo").get_json()["undone_by"] == record["actor"]
