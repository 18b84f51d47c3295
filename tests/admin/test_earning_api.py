"""The admin API's birthdays, review secret and action settings (follow URLs, photo bonus)."""
from datetime import date

import pytest

from loyalty_app.models import EarningRule
from loyalty_app.services import birthdays, reviews
from loyalty_app.services.members import enrol, find_member
from tests.conftest import SHOP_DOMAIN


@pytest.fixture
def member(session, shop):
    made, _ = enrol(session, shop, 5)
    session.commit()
    return made


def test_the_merchant_sets_and_changes_a_birthday_the_shopper_locked(admin_api, session, shop, member):
    birthdays.set_by_shopper(session, shop, 5, date(2000, 5, 17))
    session.commit()
    response = admin_api.put("/members/5/birthday", json={"birthday": "06-01"})
    assert response.status_code == 200
    assert {k: response.json[k] for k in ("customer_id", "birthday", "birthday_set_by")} == {
        "customer_id": 5, "birthday": "06-01", "birthday_set_by": "merchant"}
    session.expire_all()
    assert find_member(session, shop.id, 5).birthday == date(2000, 6, 1)
    cleared = admin_api.put("/members/5/birthday", json={"birthday": None})
    assert (cleared.status_code, cleared.json["birthday"], cleared.json["birthday_set_by"]) == (200, None, None)


@pytest.mark.parametrize("body", [{"birthday": "02-30"}, {"birthday": "13-01"}, {"birthday": 517}, {},
                                  {"birthday": "05-17", "year": 1990}])
def test_a_bad_birthday_in_the_admin_is_a_422(admin_api, member, body):
    response = admin_api.put("/members/5/birthday", json=body)
    assert response.status_code == 422 and "errors" in response.json


def test_a_birthday_for_someone_who_is_not_a_member_is_a_404(admin_api, member):
    assert admin_api.put("/members/6/birthday", json={"birthday": "05-17"}).status_code == 404


def test_the_review_secret_is_made_once_shown_to_staff_and_rotated(app, admin_api, session, shop):
    first = admin_api.get("/review-secret")
    assert first.status_code == 200
    assert first.json["endpoint"].endswith(f"/hooks/reviews/{SHOP_DOMAIN}")
    assert first.json["header"] == "X-Loyalty-Hmac-Sha256" and len(first.json["secret"]) == 64
    assert admin_api.get("/review-secret").json["secret"] == first.json["secret"]
    rotated = admin_api.post("/review-secret/rotate")
    assert rotated.status_code == 200 and rotated.json["secret"] != first.json["secret"]
    session.expire_all()
    assert reviews.review_secret(shop, app.extensions["token_box"]) == rotated.json["secret"]
    assert shop.review_secret_encrypted and rotated.json["secret"] not in shop.review_secret_encrypted  # sealed


def _rule_id(session, action):
    return session.query(EarningRule).filter_by(action=action).one().id


def test_follow_urls_and_photo_bonus_are_rule_settings(admin_api, session, shop):
    follow, review = _rule_id(session, "social_follow"), _rule_id(session, "product_review")
    response = admin_api.put(f"/actions/{follow}",
                             json={"settings": {"follow_urls": ["https://instagram.com/demo"]}})
    assert response.status_code == 200 and response.json["settings"] == {"follow_urls": ["https://instagram.com/demo"]}
    assert admin_api.put(f"/actions/{review}", json={"settings": {"photo_bonus": 20}}).status_code == 200
    listed = {a["action"]: a["settings"] for a in admin_api.get("/actions").json}
    assert listed["social_follow"] == {"follow_urls": ["https://instagram.com/demo"]}
    assert listed["product_review"] == {"photo_bonus": 20}


@pytest.mark.parametrize("action, settings", [
    ("social_follow", {"follow_urls": ["http://instagram.com/demo"]}),  # https only
    ("social_follow", {"follow_urls": ["javascript:alert(1)"]}),
    ("social_follow", {"follow_urls": ["https://a.example/" + str(i) for i in range(6)]}),
    ("social_follow", {"photo_bonus": 5}),  # another action's setting
    ("product_review", {"photo_bonus": -1}),
    ("product_review", {"photo_bonus": "5"}),
    ("product_review", {"colour": "red"}),
])
def test_bad_action_settings_are_a_422(admin_api, session, shop, action, settings):
    response = admin_api.put(f"/actions/{_rule_id(session, action)}", json={"settings": settings})
    assert response.status_code == 422, response.json


def _page(client, token, path, **query):
    response = client.get(path, query_string={"shop": SHOP_DOMAIN, "host": "abc", "id_token": token, **query})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_program_page_shows_the_review_secret_and_the_rule_settings(app, client, session, shop, staff_token):
    html = _page(client, staff_token(), "/admin/program")
    session.expire_all()
    secret = reviews.review_secret(shop, app.extensions["token_box"])
    assert 'id="reviews"' in html and f"<code data-review-secret-value>{secret}</code>" in html
    assert f"/hooks/reviews/{SHOP_DOMAIN}</code>" in html
    assert 'data-api="POST /admin/api/review-secret/rotate"' in html
    assert 'name="settings.follow_urls"' in html and 'name="settings.photo_bonus"' in html
    assert _page(client, staff_token(), "/admin/program").count(secret) == 1  # the same secret on the next view


def test_the_program_page_speaks_the_merchants_language(client, shop, staff_token):
    html = _page(client, staff_token(), "/admin/program", locale="nb-NO")
    assert "Produktanmeldelser" in html and "Bytt hemmelighet" in html


def test_the_member_page_has_the_birthday_form(client, session, shop, staff_token, member):
    birthdays.set_by_shopper(session, shop, 5, date(2000, 2, 29))
    session.commit()
    html = _page(client, staff_token(), "/admin/members/5")
    assert 'data-api="PUT /admin/api/members/5/birthday"' in html and 'value="02-29"' in html
    assert "Birthday (MM-DD)" in html
