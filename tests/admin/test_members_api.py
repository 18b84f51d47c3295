"""Members through the admin API: search and paging, the member's standing and ledger, adjustments, exclusion."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from loyalty_app import ledger
from loyalty_app.extensions import db
from loyalty_app.models import LedgerEntry, Member, Redemption, utcnow
from loyalty_app.services import member_admin, orders
from loyalty_app.services.api_keys import create_key
from loyalty_app.services.members import enrol, find_member
from loyalty_app.services.shops import install_shop
from tests.conftest import SHOP_DOMAIN
from tests.helpers import AdminApi, payload, simple_order, simple_refund

OTHER_SHOP = "other-shop.myshopify.com"
REDACT_CUSTOMER = 191167  # Shopify's customers/redact sample


def add_member(session, shop, customer_id, email=None, first=None, last=None, points=0):
    """A member with an opening balance posted as one adjustment (committed)."""
    member, _ = enrol(session, shop, customer_id, email=email, first_name=first, last_name=last)
    if points:
        ledger.post(session, member.id, amount=points, kind="adjust", key=f"seed:{customer_id}", source="test")
    session.commit()
    return member


def adjust(admin_api, customer_id, points, reason="Goodwill", key="key-00000001"):
    return admin_api.post(f"/members/{customer_id}/adjustments",
                          json={"points": points, "reason": reason, "idempotency_key": key})


def entries(session, member_id):
    session.expire_all()
    return session.query(LedgerEntry).filter_by(member_id=member_id).order_by(LedgerEntry.id).all()


@pytest.fixture
def people(session, shop):
    """Five members of the test shop, enrolled in this order (so listed in the reverse)."""
    return [add_member(session, shop, 101, "kari.nordmann@example.com", "Kari", "Nordmann", 300),
            add_member(session, shop, 102, "lars@example.com", "Lars", "Svensson"),
            add_member(session, shop, 103, "mette@example.no", "Mette", "Karlsen"),
            add_member(session, shop, 104, "under_score@example.com", "Åse", "Ødegård"),
            add_member(session, shop, 105, None, None, None)]


@pytest.fixture
def other_shop(app, session):
    """A second installed shop with a member of its own (customer 900) and a token for it."""
    other = install_shop(session, OTHER_SHOP, "shpat_other", app.extensions["token_box"])
    add_member(session, other, 900, "theirs@example.com", "Their", "Customer", 50)
    session.commit()
    return other


def customer_ids(response):
    assert response.status_code == 200, response.get_json()
    return [m["customer_id"] for m in response.get_json()["members"]]


# Search and paging.

def test_the_list_is_newest_first_with_balances_and_tier(admin_api, people):
    body = admin_api.get("/members").get_json()
    assert [m["customer_id"] for m in body["members"]] == [105, 104, 103, 102, 101]
    assert body["next_cursor"] is None
    kari = body["members"][-1]
    assert kari == {"customer_id": 101, "email": "kari.nordmann@example.com", "first_name": "Kari",
                    "last_name": "Nordmann", "balance": 300, "pending": 0, "lifetime": 0, "tier": None,
                    "excluded": False, "enrolled_at": kari["enrolled_at"], "last_activity_at": None}


SEARCHES = [
    ("kari", [101]),                      # first name and email prefix: one member once
    ("KARI", [101]),                      # case-insensitive
    ("nord", [101]),                      # last name prefix
    ("karl", [103]),                      # last name prefix, not a substring of another
    ("kari nordmann", [101]),             # every word must match
    ("kari svensson", []),
    ("lars@example.com", [102]),          # a whole email
    ("mette@example.n", [103]),
    ("åse", [104]), ("ØDEGÅRD", [104]),   # beyond ASCII
    ("102", [102]),                       # a customer id
    ("gid://shopify/Customer/103", [103]),
    ("10", []),                           # ids match whole, never by prefix
    ("example", []),                      # a prefix, not a substring
    ("%", []), ("_", []), ("under_", [104]), ("\\", []),  # LIKE's wildcards are plain characters
    ("99999999999999999999", []),         # beyond any id: no match, no error
    ("  ", [105, 104, 103, 102, 101]),    # blank: everyone
]


def test_a_nul_in_a_search_is_422(admin_api, people):
    """PostgreSQL cannot hold a NUL; the API refuses it in any field, so the search never sees one."""
    response = admin_api.get("/members", query_string={"query": "kari\x00"})
    assert response.status_code == 422 and "query" in response.get_json()["errors"]


@pytest.mark.parametrize("window", [member_admin.SEARCH_WINDOW, 2], ids=["newest-only", "older-by-index"])
def test_search_by_email_name_or_customer_id(admin_api, people, monkeypatch, window):
    """With a window of 2 the newest members are read first and the rest found through the name indexes."""
    monkeypatch.setattr(member_admin, "SEARCH_WINDOW", window)
    # One shop for every case (a table of requests, not a test each: the database setup is the slow part).
    found = {query: customer_ids(admin_api.get("/members", query_string={"query": query})) for query, _ in SEARCHES}
    assert found == dict(SEARCHES)


def test_pages_cover_every_member_once_even_when_members_join_meanwhile(admin_api, session, shop, people):
    extra = [add_member(session, shop, 200 + n, f"more{n}@example.com", "More", f"M{n}") for n in range(6)]
    everyone = {m.customer_id for m in people + extra}
    seen, cursor, pages = [], None, 0
    while True:
        query = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        body = admin_api.get("/members", query_string=query).get_json()
        seen += [m["customer_id"] for m in body["members"]]
        pages += 1
        if pages == 1:  # someone enrols between the first and second page: no page shifts
            add_member(session, shop, 999, "late@example.com")
        cursor = body["next_cursor"]
        if cursor is None:
            break
        assert isinstance(cursor, str) and len(body["members"]) == 3
    assert pages == 4 and len(seen) == len(set(seen)) == len(everyone) and set(seen) == everyone


@pytest.mark.parametrize("window", [member_admin.SEARCH_WINDOW, 1, 3], ids=["newest-only", "window-1", "window-3"])
def test_search_pages_too(admin_api, session, shop, monkeypatch, window):
    monkeypatch.setattr(member_admin, "SEARCH_WINDOW", window)
    for n in range(5):
        add_member(session, shop, 300 + n, f"anna{n}@example.com", "Anna", "Berg")
    add_member(session, shop, 399, "bob@example.com", "Bob", "Berg")
    first = admin_api.get("/members", query_string={"query": "anna berg", "limit": 2}).get_json()
    rest = [m["customer_id"] for m in first["members"]]
    cursor = first["next_cursor"]
    while cursor:
        page = admin_api.get("/members", query_string={"query": "anna berg", "limit": 2, "cursor": cursor}).get_json()
        rest += [m["customer_id"] for m in page["members"]]
        cursor = page["next_cursor"]
    assert rest == [304, 303, 302, 301, 300]


def test_bad_search_parameters_are_422(admin_api, people):
    for query in [{"limit": "0"}, {"limit": "201"}, {"limit": "ten"}, {"cursor": "abc"}, {"cursor": "0"},
                  {"cursor": "-5"}, {"cursor": "99999999999999999999"}, {"cursor": "１２"}, {"query": "x" * 201}]:
        response = admin_api.get("/members", query_string=query)
        assert (response.status_code, set(response.get_json().get("errors", {}))) == (422, set(query)), query


def test_another_shops_members_are_never_listed_or_found(admin_api, people, other_shop):
    assert 900 not in customer_ids(admin_api.get("/members"))
    assert customer_ids(admin_api.get("/members", query_string={"query": "theirs"})) == []
    assert customer_ids(admin_api.get("/members", query_string={"query": "900"})) == []


# The member.

def test_a_member_with_tier_progress_codes_and_orders(admin_api, session, shop):
    now = utcnow()
    orders.record_paid_order(session, shop, simple_order(7001, 42, "300.00"), now=now - timedelta(days=2))
    orders.record_paid_order(session, shop, simple_order(7002, 42, "350.00"), now=now - timedelta(days=1))
    orders.record_refund(session, shop, simple_refund(8001, 7002, "50.00"), now=now)
    member = find_member(session, shop.id, 42)
    session.add(Redemption(shop_id=shop.id, member_id=member.id, reward_id=None, idempotency_key="r1",
                           code="LOY-ABC123", cost=500, state="used", order_id=7002, used_at=now, created_at=now))
    session.commit()

    body = admin_api.get("/members/42").get_json()
    assert (body["balance"], body["pending"], body["lifetime"]) == (member.balance, 0, 600 + 100)
    assert body["tier"] == "Silver" and body["enrolled_at"] and body["email"] == "c42@example.com"
    standing = body["standing"]
    assert standing["basis"] == "points" and standing["progress"] == "600"  # the entry bonus does not count
    assert standing["current"]["name"] == "Silver" and standing["current"]["multiplier"] == "1.25"
    assert (standing["next"]["name"], standing["remaining"]) == ("Gold", "900")
    assert body["codes"] == [{"code": "LOY-ABC123", "state": "used", "cost": 500, "reward": None,
                              "created_at": body["codes"][0]["created_at"], "expires_at": None,
                              "used_at": body["codes"][0]["used_at"], "order_id": 7002}]
    assert [(o["order_id"], o["eligible_amount"], o["refunded_amount"], o["points_earned"], o["points_reversed"])
            for o in body["orders"]] == [(7002, "350", "50", 350, 50), (7001, "300", "0", 300, 0)]


def test_a_member_at_the_top_tier_has_no_next_tier(admin_api, session, shop):
    orders.record_paid_order(session, shop, simple_order(7001, 42, "2000.00"))
    session.commit()
    standing = admin_api.get("/members/42").get_json()["standing"]
    assert standing["current"]["name"] == "Gold" and standing["next"] is None and standing["remaining"] is None


def test_strangers_and_ids_out_of_range_are_404(admin_api, people):
    for path in ["/members/777", "/members/0", "/members/-1", "/members/abc", "/members/9223372036854775808",
                 "/members/777/ledger", "/members/0/ledger", "/members/9223372036854775808/excluded"]:
        response = admin_api.get(path) if "excluded" not in path else admin_api.put(path, json={"excluded": True})
        assert (response.status_code, response.get_json()["error"]) == (404, "not_found"), path
    for customer_id in (777, 0, 9223372036854775808):
        assert adjust(admin_api, customer_id, 5).status_code == 404, customer_id


def test_a_redacted_member_is_gone_from_the_admin(admin_api, deliver, session, shop):
    add_member(session, shop, REDACT_CUSTOMER, "john@example.com", "John", "Doe", 100)
    redaction = payload("compliance/customers_redact.json")
    redaction["shop_domain"] = shop.domain
    assert deliver("customers/redact", redaction).status_code == 200
    session.expire_all()
    assert session.query(Member).one().redacted_at is not None
    listed = admin_api.get("/members").get_data(as_text=True)
    assert "john" not in listed.lower() and str(REDACT_CUSTOMER) not in listed
    assert customer_ids(admin_api.get("/members", query_string={"query": "john"})) == []
    assert admin_api.get(f"/members/{REDACT_CUSTOMER}").status_code == 404
    assert adjust(admin_api, REDACT_CUSTOMER, 5).status_code == 404


# The ledger.

def test_the_ledger_pages_newest_first_without_gaps_or_duplicates(admin_api, session, shop, people):
    member = people[0]
    for n in range(6):
        assert adjust(admin_api, 101, n + 1, f"Reason {n}", key=f"ledger-key-{n}").status_code == 201
    seen, cursor = [], None
    while True:
        body = admin_api.get("/members/101/ledger", query_string={"limit": 4, **({"cursor": cursor} if cursor else {})}
                             ).get_json()
        seen += body["entries"]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    ids = [e["id"] for e in seen]
    assert ids == sorted(ids, reverse=True) == [e.id for e in reversed(entries(session, member.id))]
    newest = seen[0]
    assert newest == {"id": newest["id"], "kind": "adjust", "amount": 6, "state": "available", "available_at": None,
                      "created_at": newest["created_at"], "note": "Reason 5", "actor": "staff:1", "source": "admin",
                      "program_version": shop.program_version, "detail": {"program_version": shop.program_version}}


def test_ledger_entries_explain_themselves(admin_api, session, shop):
    orders.record_paid_order(session, shop, simple_order(7001, 42, "120.00"))
    session.commit()
    earn = admin_api.get("/members/42/ledger").get_json()["entries"][-1]
    assert (earn["kind"], earn["amount"], earn["source"], earn["actor"]) == ("earn", 120, "order:7001", "system")
    assert earn["program_version"] == 1 and earn["detail"]["eligible"] == "120.00"


def test_bad_ledger_parameters_are_422(admin_api, people):
    for query in [{"cursor": "x"}, {"cursor": "0"}, {"limit": "500"}, {"limit": "-1"}, {"limit": ""}]:
        assert admin_api.get("/members/101/ledger", query_string=query).status_code == 422, query


# Adjustments.

def test_an_adjustment_is_one_entry_by_that_staff_member(admin_api, session, staff_token, client, people):
    response = AdminApi(client, staff_token(sub="4711", lifetime=600)).post(
        "/members/101/adjustments", json={"points": 250, "reason": "  Sorry about the late parcel  ",
                                          "idempotency_key": "a1b2c3d4-0001"})
    assert response.status_code == 201
    body = response.get_json()
    assert body["replayed"] is False and body["member"]["balance"] == 550
    assert (body["entry"]["kind"], body["entry"]["amount"], body["entry"]["note"], body["entry"]["actor"]) == (
        "adjust", 250, "Sorry about the late parcel", "staff:4711")
    added = entries(session, people[0].id)[-1]
    assert (added.id, added.amount, added.actor, added.source) == (body["entry"]["id"], 250, "staff:4711", "admin")
    assert ledger.audit(session) == []


def test_a_replayed_key_returns_the_same_entry_and_changes_nothing(admin_api, session, people):
    first = adjust(admin_api, 101, -100, key="double-click-1")
    again = adjust(admin_api, 101, -100, key="double-click-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.get_json()["entry"] == first.get_json()["entry"] and again.get_json()["replayed"] is True
    assert again.get_json()["member"]["balance"] == 200
    assert [e.amount for e in entries(session, people[0].id)] == [300, -100]


@pytest.mark.parametrize("changed", [{"points": 101}, {"reason": "Another reason"}])
def test_the_same_key_for_a_different_adjustment_is_422(admin_api, session, people, changed):
    assert adjust(admin_api, 101, 100, key="reused-key-1").status_code == 201
    body = {"points": 100, "reason": "Goodwill", "idempotency_key": "reused-key-1", **changed}
    response = admin_api.post("/members/101/adjustments", json=body)
    assert response.status_code == 422
    assert "idempotency_key" in response.get_json()["errors"]
    assert [e.amount for e in entries(session, people[0].id)] == [300, 100]


def test_a_key_belongs_to_its_member(admin_api, session, people):
    assert adjust(admin_api, 101, 10, key="shared-key-1").status_code == 201
    assert adjust(admin_api, 102, 10, key="shared-key-1").get_json()["replayed"] is False
    assert people[1].id in {e.member_id for e in session.query(LedgerEntry).filter_by(kind="adjust", source="admin")}


def test_a_debit_beyond_the_available_balance_is_422(admin_api, session, people):
    response = adjust(admin_api, 101, -301)
    assert response.status_code == 422
    assert response.get_json()["errors"]["points"] == ["the member has only 300 points available"]
    assert [e.amount for e in entries(session, people[0].id)] == [300]
    assert adjust(admin_api, 101, -300, key="to-zero-01").get_json()["member"]["balance"] == 0


def test_pending_points_cannot_be_debited(admin_api, session, shop):
    shop.settings = {**shop.settings, "pending_days": 14}
    orders.record_paid_order(session, shop, simple_order(7001, 42, "100.00"))
    session.commit()
    assert admin_api.get("/members/42").get_json()["pending"] == 100
    assert adjust(admin_api, 42, -1).status_code == 422


def test_an_adjustment_does_not_move_the_tier(admin_api, session, shop, people):
    """Tiers count points earned or money spent; an adjustment is neither."""
    assert adjust(admin_api, 101, 5000).status_code == 201
    body = admin_api.get("/members/101").get_json()
    assert body["tier"] is None and body["standing"]["progress"] == "0" and body["balance"] == 5300


def test_an_api_key_adjusts_as_itself(client, session, shop, people):
    new = create_key(session, shop, "ERP", "staff:1")
    session.commit()
    response = AdminApi(client, new.secret).post("/members/102/adjustments",
                                                 json={"points": 5, "reason": "ERP sync", "idempotency_key": "erp-0001"})
    assert response.status_code == 201 and response.get_json()["entry"]["actor"] == f"api-key:{new.key.id}"


BAD_ADJUSTMENTS = [
    ({"reason": "x", "idempotency_key": "abcdefgh"}, "points"),
    ({"points": 0, "reason": "x", "idempotency_key": "abcdefgh"}, "points"),
    ({"points": 1.5, "reason": "x", "idempotency_key": "abcdefgh"}, "points"),
    ({"points": "5", "reason": "x", "idempotency_key": "abcdefgh"}, "points"),
    ({"points": True, "reason": "x", "idempotency_key": "abcdefgh"}, "points"),
    ({"points": None, "reason": "x", "idempotency_key": "abcdefgh"}, "points"),
    ({"points": 1_000_001, "reason": "x", "idempotency_key": "abcdefgh"}, "points"),
    ({"points": -1_000_001, "reason": "x", "idempotency_key": "abcdefgh"}, "points"),
    ({"points": 10**30, "reason": "x", "idempotency_key": "abcdefgh"}, "points"),
    ({"points": 5, "idempotency_key": "abcdefgh"}, "reason"),
    ({"points": 5, "reason": "", "idempotency_key": "abcdefgh"}, "reason"),
    ({"points": 5, "reason": "   ", "idempotency_key": "abcdefgh"}, "reason"),
    ({"points": 5, "reason": "x" * 501, "idempotency_key": "abcdefgh"}, "reason"),
    ({"points": 5, "reason": 12, "idempotency_key": "abcdefgh"}, "reason"),
    ({"points": 5, "reason": "nul\x00byte", "idempotency_key": "abcdefgh"}, "reason"),
    ({"points": 5, "reason": "x"}, "idempotency_key"),
    ({"points": 5, "reason": "x", "idempotency_key": "short"}, "idempotency_key"),
    ({"points": 5, "reason": "x", "idempotency_key": "has:colon"}, "idempotency_key"),
    ({"points": 5, "reason": "x", "idempotency_key": "k" * 101}, "idempotency_key"),
    ({"points": 5, "reason": "x", "idempotency_key": 12345678}, "idempotency_key"),
]


def test_bad_adjustments_are_422_and_change_nothing(admin_api, session, people):
    for body, field in BAD_ADJUSTMENTS:
        response = admin_api.post("/members/101/adjustments", json=body)
        assert (response.status_code, field in response.get_json().get("errors", {})) == (422, True), \
            (body, response.get_json())
    assert [e.amount for e in entries(session, people[0].id)] == [300]


def test_adjustments_that_are_not_a_json_object_are_400(admin_api, session, people):
    for data in ["not json", "[1, 2]", "null", "", '"text"']:
        response = admin_api.post("/members/101/adjustments", data=data, content_type="application/json")
        assert response.status_code == 400, data
    assert [e.amount for e in entries(session, people[0].id)] == [300]


# Exclusion.

def test_excluding_stops_earning_and_keeps_the_balance(admin_api, session, shop, people):
    response = admin_api.put("/members/101/excluded", json={"excluded": True})
    assert response.status_code == 200
    assert (response.get_json()["excluded"], response.get_json()["balance"]) == (True, 300)
    result = orders.record_paid_order(session, shop, simple_order(7001, 101, "100.00"))
    assert result == "ignored: member excluded from the program"
    assert admin_api.put("/members/101/excluded", json={"excluded": False}).get_json()["excluded"] is False
    session.expire_all()
    assert find_member(session, shop.id, 101).excluded is False


def test_bad_exclusions_are_422_or_400(admin_api, session, shop, people):
    for body in [{}, {"excluded": "yes"}, {"excluded": 1}, {"excluded": None}, {"excluded": "true"}]:
        response = admin_api.put("/members/101/excluded", json=body)
        assert (response.status_code, "excluded" in response.get_json()["errors"]) == (422, True), body
    assert admin_api.put("/members/101/excluded", data="true", content_type="application/json").status_code == 400
    session.expire_all()
    assert find_member(session, shop.id, 101).excluded is False


# Tenant isolation, route by route.

@pytest.mark.parametrize("method, path, body", [
    ("GET", "/members/900", None),
    ("GET", "/members/900/ledger", None),
    ("POST", "/members/900/adjustments", {"points": 5, "reason": "x", "idempotency_key": "abcdefgh"}),
    ("PUT", "/members/900/excluded", {"excluded": True}),
])
def test_another_shops_member_is_404_and_unchanged(admin_api, session, people, other_shop, method, path, body):
    response = admin_api.open(method, path, json=body)
    assert response.status_code == 404
    session.expire_all()
    theirs = find_member(session, other_shop.id, 900)
    assert (theirs.balance, theirs.excluded, len(entries(session, theirs.id))) == (50, False, 1)


def test_the_other_shop_sees_its_own_member(client, staff_token, people, other_shop):
    theirs = AdminApi(client, staff_token(shop=OTHER_SHOP, lifetime=600))
    assert customer_ids(theirs.get("/members")) == [900]
    assert theirs.get("/members/101").status_code == 404


def test_every_members_route_needs_a_token(client, people):
    for method, path in [("GET", "/members"), ("GET", "/members/101"), ("GET", "/members/101/ledger"),
                         ("POST", "/members/101/adjustments"), ("PUT", "/members/101/excluded")]:
        assert client.open(f"/admin/api{path}", method=method, json={}).status_code == 401, path


# Concurrency, on PostgreSQL where requests really run side by side.

def _at_once(pg_app, staff_token, bodies):
    """POST each body to customer 101's adjustments from its own thread, released together; the answers."""
    barrier = threading.Barrier(len(bodies))
    answers = [None] * len(bodies)

    def send(index, body):
        api = AdminApi(pg_app.test_client(), staff_token(lifetime=600))
        barrier.wait()
        answers[index] = api.post("/members/101/adjustments", json=body)

    threads = [threading.Thread(target=send, args=(i, body)) for i, body in enumerate(bodies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


@pytest.fixture
def pg_kari(pg_app):
    """Customer 101 with 300 points on PostgreSQL."""
    with pg_app.app_context():
        session = db.session()
        shop = install_shop(session, SHOP_DOMAIN, "shpat_t", pg_app.extensions["token_box"])
        add_member(session, shop, 101, "kari@example.com", "Kari", "Nordmann", 300)
        session.close()
    return pg_app


def test_a_double_submit_at_the_same_moment_posts_once(pg_kari, staff_token):
    body = {"points": 40, "reason": "Double click", "idempotency_key": "same-moment-1"}
    answers = _at_once(pg_kari, staff_token, [body, body, body])
    assert [a.status_code for a in answers] == [201, 201, 201]
    assert sorted(a.get_json()["replayed"] for a in answers) == [False, True, True]
    assert len({a.get_json()["entry"]["id"] for a in answers}) == 1
    with pg_kari.app_context():
        assert db.session().query(LedgerEntry).filter_by(source="admin").count() == 1
        assert db.session().query(Member).one().balance == 340


def test_two_debits_at_once_never_overdraw(pg_kari, staff_token):
    answers = _at_once(pg_kari, staff_token, [{"points": -200, "reason": "One", "idempotency_key": "debit-one-1"},
                                              {"points": -200, "reason": "Two", "idempotency_key": "debit-two-1"}])
    assert sorted(a.status_code for a in answers) == [201, 422]
    with pg_kari.app_context():
        assert db.session().query(Member).one().balance == 100
        assert ledger.audit(db.session()) == []


def test_a_cashback_members_store_credit_is_shown(admin_api, session, shop):
    from loyalty_app.services.shops import update_settings
    update_settings(shop, {"earning_mode": "cashback", "cashback_percent": "10"})
    orders.record_paid_order(session, shop, simple_order(7001, 42, "300.00"))
    orders.record_refund(session, shop, simple_refund(8001, 7001, "50.00"))
    session.commit()
    body = admin_api.get("/members/42").get_json()
    assert body["balance"] == 0
    assert [(c["kind"], c["amount"], c["currency"], c["state"], c["order_id"]) for c in body["store_credit"]] == [
        ("cashback_reversal", "5", "USD", "pending", 7001), ("cashback", "30", "USD", "pending", 7001)]
