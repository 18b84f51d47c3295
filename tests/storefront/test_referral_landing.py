"""The referral landing page through the app proxy, and the friend's code behind it (Shopify faked at the network)."""
import re

import pytest
import responses
from markupsafe import escape

from loyalty_app.models import FriendCode
from loyalty_app.program.referrals import CART_ATTRIBUTE
from loyalty_app.services import orders, referrals
from loyalty_app.services.members import find_member
from loyalty_app.services.shops import update_settings
from loyalty_app.web.referral_proxy import LANGUAGES, strings
from tests.conftest import SECRET, SHOP_DOMAIN
from tests.fake_admin import FakeAdmin
from tests.helpers import proxy_query, simple_order

CREATED = {"codeDiscountNode": {"id": "gid://shopify/DiscountCodeNode/77"}, "userErrors": []}
VISITOR = "a1b2c3d4e5f6a7b8c9d0"


@pytest.fixture
def fake():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield FakeAdmin(rsps)


@pytest.fixture
def code(session, shop):
    orders.record_paid_order(session, shop, simple_order(1, 5, "100.00"))
    value = referrals.code_for(session, shop, find_member(session, shop.id, 5), SECRET)
    session.commit()
    return value


def land(client, code, customer_id=None):
    return client.get(f"/proxy/r/{code}", query_string=proxy_query(customer_id))


def reward(client, code, body, customer_id=None):
    return client.post(f"/proxy/r/{code}/reward", query_string=proxy_query(customer_id), json=body)


def test_the_landing_page_is_liquid_in_every_language_and_remembers_the_code(client, shop, code):
    answer = land(client, code)
    assert answer.status_code == 200 and answer.content_type.startswith("application/liquid")
    page = answer.get_data(as_text=True)
    assert "{% case request.locale.iso_code %}" in page and page.count("{% when '") == 3
    for lang in LANGUAGES:
        assert escape(strings(lang)["heading"]) in page
        assert escape(strings(lang)["offer_percentage"].format(value="10")) in page
    assert f'data-code="{code}"' in page and f'data-reward-url="/apps/loyalty/r/{code}/reward"' in page
    assert f'data-cart-attribute="{CART_ATTRIBUTE}"' in page and "/cart/update.js" in page
    assert "loyalty_visitor=" in page and "loyalty_referral=" in page
    # The only Liquid is ours: the language switch and the theme's routes.
    liquid = set(re.findall(r"\{[{%].*?[%}]\}", page))
    assert liquid == {"{% case request.locale.iso_code %}", "{% when 'nb' %}", "{% when 'sv' %}", "{% when 'da' %}",
                      "{% else %}", "{% endcase %}", "{{ routes.all_products_collection_url }}"}


def test_the_offer_follows_the_shops_settings(client, session, shop, code):
    update_settings(shop, {"referral_friend_kind": "fixed_amount", "referral_friend_value": "15.50"})
    session.commit()
    page = land(client, code.upper()).get_data(as_text=True)  # codes are read case-insensitively
    assert "15.5 USD off your first order" in page


@pytest.mark.parametrize("bad", ["zzzzzzzzzz", "short", "{{shop.name}}", "x" * 64, "%7B%25raw%25%7D"])
def test_an_unknown_code_gets_a_friendly_page_not_an_error(client, shop, code, bad):
    answer = land(client, bad)
    assert answer.status_code == 404 and answer.content_type.startswith("application/liquid")
    page = answer.get_data(as_text=True)
    assert all(escape(strings(lang)["unknown_heading"]) in page for lang in LANGUAGES)
    assert "shop.name" not in page and "raw" not in page  # nothing from the request is echoed into the Liquid


def test_an_unsigned_request_is_refused(client, shop, code):
    assert client.get(f"/proxy/r/{code}").status_code == 401
    assert client.post(f"/proxy/r/{code}/reward", json={"visitor": VISITOR}).status_code == 401


def test_a_visitor_gets_one_code_however_often_they_load_the_page(client, session, shop, code, fake):
    fake.answer({"discountCodeBasicCreate": CREATED})
    first = reward(client, code, {"visitor": VISITOR})
    assert first.status_code == 200 and first.json["state"] == "active", first.json
    sent = fake.sent("DiscountCodeBasicCreate")[0]["basicCodeDiscount"]
    assert sent["code"] == first.json["code"] and sent["usageLimit"] == 1
    assert sent["context"] == {"all": "ALL"} and sent["customerGets"]["value"] == {"percentage": 0.1}
    again = reward(client, code, {"visitor": VISITOR})
    assert again.json == first.json and len(fake.requests) == 1
    fake.answer({"discountCodeBasicCreate": {**CREATED, "codeDiscountNode": {"id": "gid://shopify/DiscountCodeNode/78"}}})
    other = reward(client, code, {"visitor": "f" * 20})
    assert other.status_code == 200 and other.json["code"] != first.json["code"]
    assert session.query(FriendCode).count() == 2


def test_a_signed_in_friend_is_keyed_by_customer_and_the_code_is_theirs(client, shop, code, fake):
    fake.answer({"discountCodeBasicCreate": CREATED})
    answer = reward(client, code, {}, customer_id=6)
    assert answer.status_code == 200
    assert fake.sent("DiscountCodeBasicCreate")[0]["basicCodeDiscount"]["context"] == {
        "customers": {"add": ["gid://shopify/Customer/6"]}}
    assert reward(client, code, {"visitor": VISITOR}, customer_id=6).json == answer.json


def test_the_referrer_gets_no_code_from_their_own_link(client, shop, code, fake):
    answer = reward(client, code, {"visitor": VISITOR}, customer_id=5)
    assert answer.status_code == 409 and answer.json["error"] == "self_referral"
    assert fake.requests == []


@pytest.mark.parametrize("body", [{}, {"visitor": "short"}, {"visitor": "x" * 65}, {"visitor": 12345678901234567},
                                  {"visitor": "bad visitor id here!"}, None])
def test_a_bad_visitor_id_is_400(client, shop, code, fake, body):
    answer = client.post(f"/proxy/r/{code}/reward", query_string=proxy_query(None), json=body) if body is not None \
        else client.post(f"/proxy/r/{code}/reward", query_string=proxy_query(None), data="not json")
    assert answer.status_code == 400 and answer.json["error"] == "bad_visitor"
    assert fake.requests == []


def test_an_unknown_code_has_no_reward(client, shop, code, fake):
    answer = reward(client, "zzzzzzzzzz", {"visitor": VISITOR})
    assert answer.status_code == 404 and answer.json["error"] == "unknown_code"


def test_a_link_gives_out_a_bounded_number_of_codes_a_day(client, session, shop, code, fake, monkeypatch):
    monkeypatch.setattr(referrals, "FRIEND_CODES_PER_DAY", 2)
    fake.serve("DiscountCodeBasicCreate", lambda variables: {"discountCodeBasicCreate": CREATED})
    assert reward(client, code, {"visitor": "1" * 20}).status_code == 200
    assert reward(client, code, {"visitor": "2" * 20}).status_code == 200
    third = reward(client, code, {"visitor": "3" * 20})
    assert third.status_code == 429 and third.json["error"] == "too_many"
    assert reward(client, code, {"visitor": "1" * 20}).status_code == 200  # a known visitor still sees theirs


def test_shopify_refusing_the_code_is_502_and_the_next_visit_tries_the_same_code(client, session, shop, code, fake):
    fake.answer({"discountCodeBasicCreate": {"codeDiscountNode": None, "userErrors": [
        {"field": ["basicCodeDiscount", "code"], "message": "Code is invalid", "code": "INVALID"}]}})
    failed = reward(client, code, {"visitor": VISITOR})
    assert failed.status_code == 502 and failed.json["error"] == "shopify_failed"
    fake.answer({"discountCodeBasicCreate": {"codeDiscountNode": None, "userErrors": [
        {"field": ["basicCodeDiscount", "code"], "message": "Code must be unique", "code": "TAKEN"}]}})
    fake.answer({"codeDiscountNodeByCode": {"id": "gid://shopify/DiscountCodeNode/99"}})
    retried = reward(client, code, {"visitor": VISITOR})
    assert retried.status_code == 200 and retried.json["state"] == "active"
    codes = [v["basicCodeDiscount"]["code"] for v in fake.sent("DiscountCodeBasicCreate")]
    assert codes[0] == codes[1] == retried.json["code"]
    session.expire_all()
    assert session.query(FriendCode).one().discount_id == "gid://shopify/DiscountCodeNode/99"


def test_the_member_view_links_to_the_landing_page(client, shop, code):
    body = client.get("/proxy/me", query_string=proxy_query(5)).json
    assert body["referral_url"] == f"https://{SHOP_DOMAIN}/apps/loyalty/r/{code}"
    assert land(client, body["referral_url"].rsplit("/", 1)[1]).status_code == 200


def test_the_development_storefront_renders_the_landing_page_as_shopify_would(sqlite_template, tmp_path):
    """``/apps/loyalty/r/<code>`` in development: the storefront language's branch, the routes filled in."""
    import shutil

    from loyalty_app import create_app
    from loyalty_app.demo import DEMO_CUSTOMERS, seed
    from tests.conftest import BASE_CONFIG

    path = tmp_path / "dev.sqlite3"
    shutil.copy(sqlite_template, path)
    dev = create_app({**BASE_CONFIG, "LOYALTY_ENV": "development", "DATABASE_URL": f"sqlite:///{path}",
                      "AUTO_MIGRATE": False})
    with dev.app_context():
        session = dev.extensions["db"].session()
        shop = seed(session, dev.extensions["token_box"])
        member = find_member(session, shop.id, DEMO_CUSTOMERS[0][0])
        code = referrals.code_for(session, shop, member, dev.config["SECRET_KEY"])
        session.commit()
    page = dev.test_client().get(f"/apps/loyalty/r/{code}?lang=nb")
    dev.extensions["db"].dispose()
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert str(escape(strings("nb")["heading"])) in text and str(escape(strings("en")["heading"])) not in text
    assert "{%" not in text and "{{" not in text and 'href="/dev/storefront"' in text
