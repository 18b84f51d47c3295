"""The Program page: rendered with its data in the merchant's language, every form pointed at the API."""
from __future__ import annotations

import re

import pytest

from loyalty_app.models import Tier
from tests.conftest import SHOP_DOMAIN


def program_page(client, token, **query):
    params = "&".join(f"{k}={v}" for k, v in {"shop": SHOP_DOMAIN, "host": "abc", "id_token": token, **query}.items())
    response = client.get(f"/admin/program?{params}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_page_renders_the_program_with_its_data(client, shop, staff_token, admin_api):
    admin_api.post("/campaigns", json={"name": "Black Friday", "multiplier": 3, "starts_at": "2026-11-27",
                                       "ends_at": "2026-11-30"})
    html = program_page(client, staff_token())
    for section in ("earning", "tiers", "rewards", "actions", "campaigns", "settings", "history"):
        assert f'id="{section}"' in html
    assert re.search(r'data-tier="Bronze".*data-tier="Silver".*data-tier="Gold"', html, re.S)
    assert 'data-reward="Free shipping"' in html and 'data-action="birthday"' in html
    assert 'data-campaign="Black Friday"' in html and "×3.00" in html
    assert 'data-api="PUT /admin/api/settings"' in html and 'data-preview="POST /admin/api/tiers"' in html
    assert 'name="points_per_unit" value="1"' in html
    assert 'data-change="campaign-create"' in html and "Staff member 1" in html
    assert "program.js" in html


def test_the_page_reads_in_norwegian(client, shop, staff_token):
    html = program_page(client, staff_token(), locale="nb-NO")
    assert "Måter å tjene poeng på" in html and "Nivåer" in html and "Forhåndsvis" in html


def test_the_history_shows_what_changed_and_pages_back(client, shop, staff_token, admin_api, session):
    silver = session.query(Tier).filter_by(name="Silver").one().id
    admin_api.put(f"/tiers/{silver}", json={"threshold": 600})
    for days in range(1, 22):
        admin_api.put("/settings", json={"pending_days": days})
    html = program_page(client, staff_token())
    assert html.count('data-change="settings-update"') == 20 and "Days points stay pending: 20 → 21" in html
    older = re.search(r'href="([^"]*cursor=(\d+)[^"]*)#history"', html)
    assert older
    html = program_page(client, staff_token(), cursor=older.group(2))
    assert 'data-change="tier-update"' in html and "Threshold: 500.00 → 600.00" in html


@pytest.mark.parametrize("cursor", ["abc", "-1", "99999999999999999999999"])
def test_a_bad_history_cursor_shows_the_first_page(client, shop, staff_token, cursor):
    assert 'id="history"' in program_page(client, staff_token(), cursor=cursor)


@pytest.mark.parametrize(("locale", "heading", "kind"), [("en", "Store credit", "cashback as store credit"),
                                                         ("nb-NO", "Butikkreditt", "cashback som butikkreditt"),
                                                         ("sv-SE", "Butikskredit", "cashback som butikskredit"),
                                                         ("da-DK", "Butikskredit", "cashback som butikskredit")])
def test_the_store_credit_settings_read_in_every_language(client, shop, staff_token, locale, heading, kind):
    html = program_page(client, staff_token(), locale=locale)
    assert 'id="store-credit"' in html and f'heading="{heading}"' in html and kind in html
    assert 'name="cashback_percent"' in html and 'name="store_credit_notify"' in html
    assert '<s-option value="store_credit"' in html  # a reward can be store credit
