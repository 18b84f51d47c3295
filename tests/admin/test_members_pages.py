"""The Members pages: rendered with their data, searched and paged through the query string, in four languages."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from loyalty_app import ledger
from loyalty_app.models import Redemption, utcnow
from loyalty_app.services import orders
from loyalty_app.services.members import enrol, find_member
from loyalty_app.services.shops import install_shop
from loyalty_app.web.admin.i18n import catalog
from tests.conftest import SHOP_DOMAIN
from tests.helpers import simple_order

OTHER_SHOP = "other-shop.myshopify.com"


@pytest.fixture
def open_page(client, staff_token):
    """GET an admin page as Shopify's id-token flow loads it; returns (status, html)."""
    def get(path, **query):
        params = {"shop": SHOP_DOMAIN, "host": "abc", "id_token": staff_token(lifetime=600), **query}
        response = client.get(path, query_string=params)
        return response.status_code, response.get_data(as_text=True)
    return get


@pytest.fixture
def kari(session, shop):
    """Kari: two orders (one refunded in part), a used code, 300 points adjusted in, and four more members."""
    now = utcnow()
    orders.record_paid_order(session, shop, simple_order(7001, 101, "640.00"), now=now - timedelta(days=3))
    member = find_member(session, shop.id, 101)
    member.first_name, member.last_name, member.email = "Kari", "Nordmann", "kari@example.com"
    ledger.post(session, member.id, amount=300, kind="adjust", key="seed", source="admin", note="Welcome gift",
                actor="staff:77", detail={"program_version": 1})
    session.add(Redemption(shop_id=shop.id, member_id=member.id, reward_id=None, idempotency_key="r1",
                           code="LOY-KARI01", cost=500, state="active", created_at=now,
                           expires_at=now + timedelta(days=30)))
    for n, name in enumerate(["Lars", "Mette", "Ole", "Åse"]):
        enrol(session, shop, 201 + n, email=f"{name.lower()}@example.com", first_name=name, last_name="Berg")
    session.commit()
    return member


def rows(html, marker="data-customer-id"):
    return [int(value) for value in re.findall(rf'{marker}="(\d+)"', html)]


def test_the_list_renders_its_members_with_the_page(open_page, kari):
    status, html = open_page("/admin/members")
    assert status == 200
    assert rows(html) == [204, 203, 202, 201, 101]
    kari_row = html[html.index('data-customer-id="101"'):]
    kari_row = kari_row[:kari_row.index("</tr>")]
    assert "Kari Nordmann" in kari_row and "kari@example.com" in kari_row and "Silver" in kari_row
    assert "/admin/members/101?" in kari_row and "id_token" not in kari_row  # links never carry the token


def test_search_through_the_query_string_keeps_shopifys_parameters(open_page, kari):
    status, html = open_page("/admin/members", query="berg", locale="nb")
    assert status == 200 and rows(html) == [204, 203, 202, 201]
    assert "Medlemmer som passer til «berg»" in html
    form = html[html.index('role="search"'):html.index("</form>")]
    assert 'name="shop" value="demo-shop.myshopify.com"' in form and 'name="locale" value="nb"' in form
    assert 'name="query" value="berg"' in form and "id_token" not in form
    status, html = open_page("/admin/members", query="nobody")
    assert rows(html) == [] and "No member’s email or name starts with “nobody”" in html


def test_the_list_pages_with_a_cursor_link(open_page, kari):
    _, first = open_page("/admin/members", limit="3")
    assert rows(first) == [204, 203, 202]
    cursor = re.search(r"cursor=(\d+)", first).group(1)
    _, second = open_page("/admin/members", limit="3", cursor=cursor)
    assert rows(second) == [201, 101] and "cursor=" not in second.split("First page")[-1]


def test_an_unreadable_search_is_400_with_the_search_box_not_500(open_page, kari):
    for query in ({"cursor": "abc"}, {"query": "x" * 201}, {"limit": "0"}):
        status, html = open_page("/admin/members", **query)
        assert status == 400 and "That search could not be read" in html and 'name="query"' in html
    assert open_page("/admin/members/101", ledger_cursor="-1")[0] == 400


def test_the_member_page_shows_standing_codes_orders_and_ledger(open_page, kari):
    status, html = open_page("/admin/members/101")
    assert status == 200
    assert "<title>Kari Nordmann · Loyalty</title>" in html
    figures = dict(re.findall(r'data-figure="(\w+)"><span>[^<]*</span><strong>([^<]*)</strong>', html))
    assert figures == {"available": "1,040", "pending": "0", "lifetime": "740", "tier": "Silver"}
    assert "640 points earned towards tiers; 860 more to reach Gold." in html
    assert "LOY-KARI01" in html and "Active" in html
    assert 'data-order-id="7001"' in html and "640.00 USD" in html
    assert rows(html, "data-entry-id") == sorted(rows(html, "data-entry-id"), reverse=True)
    assert "Welcome gift" in html and "Staff member 77" in html and "Adjustment" in html and "Tier bonus" in html


def test_each_render_of_the_adjustment_form_has_its_own_key(open_page, kari):
    keys = [re.search(r'name="idempotency_key" value="([\w-]+)"', open_page("/admin/members/101")[1]).group(1)
            for _ in range(2)]
    assert keys[0] != keys[1] and all(re.fullmatch(r"[A-Za-z0-9_-]{8,100}", key) for key in keys)


def test_the_exclude_button_turns_into_include(open_page, admin_api, kari):
    html = open_page("/admin/members/101")[1]
    assert 'data-body=\'{"excluded": true}\'' in html and "Exclude from the program" in html
    assert admin_api.put("/members/101/excluded", json={"excluded": True}).status_code == 200
    html = open_page("/admin/members/101")[1]
    assert 'data-body=\'{"excluded": false}\'' in html and "data-excluded" in html


def test_the_ledger_pages_on_the_member_page(open_page, session, shop, kari):
    for n in range(60):
        ledger.post(session, kari.id, amount=1, kind="adjust", key=f"many:{n}", source="admin", note=f"n{n}")
    session.commit()
    first = open_page("/admin/members/101")[1]
    cursor = re.search(r"ledger_cursor=(\d+)", first).group(1)
    second = open_page("/admin/members/101", ledger_cursor=cursor)[1]
    ids = rows(first, "data-entry-id") + rows(second, "data-entry-id")
    assert len(rows(first, "data-entry-id")) == 50 and len(ids) == len(set(ids)) == 60 + 3
    assert ids == sorted(ids, reverse=True)


def test_strangers_and_other_shops_members_are_404(app, open_page, session, kari):
    other = install_shop(session, OTHER_SHOP, "shpat_other", app.extensions["token_box"])
    enrol(session, other, 900, email="theirs@example.com")
    session.commit()
    assert open_page("/admin/members/900")[0] == 404
    assert open_page("/admin/members/777")[0] == 404
    assert open_page("/admin/members/0")[0] == 404
    assert 900 not in rows(open_page("/admin/members")[1])


@pytest.mark.parametrize("locale, heading, adjust", [("nb", "Medlemmer", "Juster poeng"),
                                                     ("sv", "Medlemmar", "Justera poäng"),
                                                     ("da", "Medlemmer", "Juster point")])
def test_the_pages_speak_the_merchants_language(open_page, kari, locale, heading, adjust):
    assert f'heading="{heading}"' in open_page("/admin/members", locale=locale)[1]
    html = open_page("/admin/members/101", locale=locale)[1]
    assert adjust in html and catalog(locale)["members.kind_adjust"] in html


def test_every_ledger_kind_and_code_state_has_words():
    english = catalog("en")
    assert {f"members.kind_{kind}" for kind in ledger.KINDS} <= set(english)
    assert {f"members.code_{state}" for state in ("reserved", "active", "used", "expired", "released")} <= set(english)


def test_spend_tiers_show_progress_in_money(open_page, session, shop, kari):
    shop.settings = {**shop.settings, "tier_basis": "spend"}
    session.commit()
    assert "640.00 USD spent towards tiers; 860.00 USD more to reach Gold." in open_page("/admin/members/101")[1]
