"""The merchant's review of referrals: the list, approve and deny through /admin/api, and the Referrals page."""
from datetime import timedelta

import pytest

from loyalty_app.models import LedgerEntry, Referral, utcnow
from loyalty_app.services.members import enrol
from tests.conftest import SHOP_DOMAIN


@pytest.fixture
def made(session, shop):
    """A flagged referral due yesterday, a pending one due next week, and a paid one."""
    referrer, _ = enrol(session, shop, 5, email="ref@example.com")
    now = utcnow()

    def referral(order_id, status, due, **extra):
        row = Referral(shop_id=shop.id, referrer_id=referrer.id, order_id=order_id, friend_customer_id=order_id + 1,
                       friend_email=f"f{order_id}@example.com", via="cart_attribute", status=status,
                       reasons=extra.pop("reasons", []), due_at=due, **extra)
        session.add(row)
        session.flush()
        return row.id

    ids = {"flagged": referral(100, "flagged", now - timedelta(days=1), reasons=["same_ip"]),
           "pending": referral(200, "pending", now + timedelta(days=7)),
           "paid": referral(300, "paid", now - timedelta(days=30), points=250)}
    session.commit()
    return ids


def referral_entries(session):
    return [(e.amount, e.source) for e in session.query(LedgerEntry).filter_by(kind="action")]


def test_the_list_filters_by_status_newest_first_and_pages(admin_api, made):
    flagged = admin_api.get("/referrals?status=flagged").get_json()
    assert [r["id"] for r in flagged["referrals"]] == [made["flagged"]] and flagged["next_cursor"] is None
    row = flagged["referrals"][0]
    assert (row["reasons"], row["referrer_customer_id"], row["friend_email"]) == (["same_ip"], 5, "f100@example.com")
    everything = admin_api.get("/referrals?limit=2").get_json()
    assert [r["id"] for r in everything["referrals"]] == [made["paid"], made["pending"]]
    rest = admin_api.get(f"/referrals?limit=2&cursor={everything['next_cursor']}").get_json()
    assert [r["id"] for r in rest["referrals"]] == [made["flagged"]] and rest["next_cursor"] is None
    assert admin_api.get("/referrals?status=").status_code == 200


@pytest.mark.parametrize("query", ["status=waiting", "limit=0", "limit=201", "cursor=0", "cursor=abc",
                                   "cursor=99999999999999999999"])
def test_bad_list_queries_are_422(admin_api, made, query):
    answer = admin_api.get(f"/referrals?{query}")
    assert answer.status_code == 422 and answer.get_json()["error"] == "invalid"


def test_approving_a_flagged_referral_past_its_period_pays_the_referrer(admin_api, session, made):
    answer = admin_api.post(f"/referrals/{made['flagged']}/approve")
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert (body["status"], body["points"], body["decided_by"]) == ("paid", 250, "staff:1")
    assert referral_entries(session) == [(250, "action:referral")]
    again = admin_api.post(f"/referrals/{made['flagged']}/approve")
    assert again.status_code == 409 and again.get_json()["error"] == "conflict"
    assert referral_entries(session) == [(250, "action:referral")]


def test_denying_a_flagged_referral_pays_nothing(admin_api, session, made):
    answer = admin_api.post(f"/referrals/{made['flagged']}/deny")
    assert answer.status_code == 200 and answer.get_json()["status"] == "denied"
    assert referral_entries(session) == []
    assert admin_api.post(f"/referrals/{made['flagged']}/approve").status_code == 409


def test_a_pending_referral_can_be_denied_but_not_approved(admin_api, made):
    assert admin_api.post(f"/referrals/{made['pending']}/approve").status_code == 409
    assert admin_api.post(f"/referrals/{made['pending']}/deny").get_json()["status"] == "denied"


def test_a_paid_referral_cannot_be_denied(admin_api, made):
    assert admin_api.post(f"/referrals/{made['paid']}/deny").status_code == 409


@pytest.mark.parametrize("referral_id", ["0", "-1", "abc", "9223372036854775808", "99999"])
def test_unknown_or_out_of_range_ids_are_404(admin_api, made, referral_id):
    for action in ("approve", "deny"):
        answer = admin_api.post(f"/referrals/{referral_id}/{action}")
        assert answer.status_code == 404 and answer.get_json()["error"] == "not_found"


def test_another_shops_referral_is_404(app, client, session, made, staff_token):
    from loyalty_app.services.shops import install_shop
    from tests.helpers import AdminApi

    install_shop(session, "other-shop.myshopify.com", "shpat_o", app.extensions["token_box"])
    session.commit()
    other = AdminApi(client, staff_token(shop="other-shop.myshopify.com"))
    assert other.post(f"/referrals/{made['flagged']}/approve").status_code == 404
    assert other.post(f"/referrals/{made['flagged']}/deny").status_code == 404
    assert other.get("/referrals").get_json()["referrals"] == []
    session.expire_all()
    assert session.get(Referral, made["flagged"]).status == "flagged"


@pytest.mark.parametrize("locale, heading, approve", [("en", "Referrals", "Approve"), ("nb-NO", "Verving", "Godkjenn"),
                                                      ("sv", "Värvning", "Godkänn"), ("da", "Henvisninger", "Godkend")])
def test_the_page_lists_flagged_referrals_with_approve_and_deny(client, made, staff_token, locale, heading, approve):
    answer = client.get(f"/admin/referrals?shop={SHOP_DOMAIN}&host=abc&locale={locale}&id_token={staff_token()}")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200 and heading in page and approve in page
    assert f'data-api="POST /admin/api/referrals/{made["flagged"]}/approve"' in page
    assert f'data-api="POST /admin/api/referrals/{made["flagged"]}/deny"' in page
    assert f'data-referral="{made["pending"]}"' not in page  # the default view is the review queue


def test_the_page_shows_other_statuses_and_survives_a_bad_filter(client, made, staff_token):
    base = f"/admin/referrals?shop={SHOP_DOMAIN}&host=abc&id_token={staff_token()}"
    every = client.get(base + "&status=").get_data(as_text=True)
    assert all(f'data-referral="{made[name]}"' in every for name in made)
    assert f'/admin/api/referrals/{made["paid"]}/deny' not in every
    assert client.get(base + "&status=nonsense&cursor=x").status_code == 200


def test_the_page_edits_the_referral_settings_through_the_settings_api(client, admin_api, made, staff_token):
    page = client.get(f"/admin/referrals?shop={SHOP_DOMAIN}&host=abc&id_token={staff_token()}").get_data(as_text=True)
    assert 'data-api="PUT /admin/api/settings"' in page
    for name in ("referral_friend_kind", "referral_friend_value", "referral_cap", "referral_cap_days"):
        assert f'name="{name}"' in page
    changed = admin_api.put("/settings", json={"referral_cap": 3, "referral_cap_days": 7})
    assert changed.status_code == 200 and (changed.get_json()["referral_cap"], changed.get_json()["referral_cap_days"]) \
        == (3, 7)
    refused = admin_api.put("/settings", json={"referral_friend_value": "150"})  # 150 % off: refused, nothing changes
    assert refused.status_code == 422
    assert admin_api.get("/settings").get_json()["referral_friend_value"] == "10"
    page = client.get(f"/admin/referrals?shop={SHOP_DOMAIN}&host=abc&id_token={staff_token()}").get_data(as_text=True)
    assert 'name="referral_cap" value="3"' in page
