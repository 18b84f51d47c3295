"""The /proxy/me shape the widget draws: states of ways to earn, money, translations, tier progress, codes."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from loyalty_app.models import EarningRule, Redemption, Reward, Tier, utcnow
from loyalty_app.program.actions import ActionLimit, action_state, shown_to_shopper
from loyalty_app.program.tiers import TierRule, progress_percent
from loyalty_app.services import actions, orders
from loyalty_app.services.members import enrol, find_member
from loyalty_app.security import proxy_signature
from loyalty_app.services.storefront import localized
from tests.conftest import SECRET
from tests.helpers import proxy_query, simple_order


def me(client, customer_id, **params):
    """``/proxy/me`` with the shopper's own query (``locale``) signed along, as Shopify's app proxy signs it."""
    query = [(k, v) for k, v in proxy_query(customer_id) if k != "signature"] + list(params.items())
    return client.get("/proxy/me", query_string=query + [("signature", proxy_signature(SECRET, query))])


def ways(body):
    return {w["action"]: w["state"] for w in body["ways_to_earn"]}


# Pure rules

NOW = utcnow()


@pytest.mark.parametrize("limit, claims, state", [
    (ActionLimit("once"), [], "available"),
    (ActionLimit("once"), [NOW - timedelta(days=900)], "done"),
    (ActionLimit("per_year"), [NOW.replace(year=NOW.year - 1)], "available"),
    (ActionLimit("per_year"), [NOW], "done"),
    (ActionLimit("per_period", 2, 30), [NOW - timedelta(days=1)], "available"),
    (ActionLimit("per_period", 2, 30), [NOW - timedelta(days=1), NOW - timedelta(days=2)], "limit_reached"),
    (ActionLimit("per_period", 2, 30), [NOW - timedelta(days=31), NOW - timedelta(days=40)], "available"),
    (ActionLimit("unlimited"), [NOW] * 50, "available"),
])
def test_action_state(limit, claims, state):
    assert action_state(limit, claims, NOW) == state


def test_only_creditable_actions_are_shown():
    assert not shown_to_shopper("custom", True, False) and not shown_to_shopper("custom", False, False)
    assert shown_to_shopper("signup", False, False)  # a guest can still join
    assert not shown_to_shopper("signup", True, False)  # signed in without the bonus: too late for it
    assert shown_to_shopper("signup", True, True)  # shown as done
    assert shown_to_shopper("newsletter", True, False)


TIERS = [TierRule(1, "Bronze", Decimal("0")), TierRule(2, "Silver", Decimal("500")), TierRule(3, "Gold", Decimal("1500"))]


@pytest.mark.parametrize("value, percent", [(0, 0), (250, 50), (499, 99), (500, 0), (1000, 50), (1499, 99),
                                            (1500, 100), (9000, 100)])
def test_progress_percent_runs_from_the_current_tier_to_the_next(value, percent):
    assert progress_percent(TIERS, Decimal(value)) == percent


def test_progress_without_a_reached_tier_starts_at_zero():
    assert progress_percent(TIERS[1:], Decimal("125")) == 25


def test_localized_names_fall_back_from_region_to_language_to_the_plain_name():
    names = {"nb": "Gull", "pt": "Ouro", "pt-BR": "Ouro (BR)"}
    assert localized("Gold", names, "nb") == "Gull"
    assert localized("Gold", names, "pt-BR") == "Ouro (BR)"
    assert localized("Gold", names, "pt-PT") == "Ouro"
    assert localized("Gold", names, "sv") == "Gold"
    assert localized("Gold", {}, "nb") == "Gold" and localized("Gold", names, None) == "Gold"


# Through the proxy

@pytest.fixture
def nok_shop(session, shop):
    shop.currency = "NOK"
    session.commit()
    return shop


@pytest.fixture
def member(session, nok_shop):
    orders.record_paid_order(session, nok_shop, simple_order(1, 5, "1000.00"))  # 1000 + Silver bonus 100
    session.commit()
    return find_member(session, nok_shop.id, 5)


def test_ways_to_earn_carry_the_members_state(client, session, nok_shop, member):
    shop = nok_shop
    session.add(EarningRule(shop_id=shop.id, action="custom", points=10, limit_kind="unlimited"))
    session.query(EarningRule).filter_by(shop_id=shop.id, action="product_review").update(
        {"limit_count": 2, "period_days": 30})
    session.commit()
    actions.award_action(session, shop, member, "birthday")
    actions.award_action(session, shop, member, "newsletter")
    actions.award_action(session, shop, member, "product_review", reference="r1")
    session.commit()
    assert ways(me(client, 5).json) == {"order": "available", "birthday": "done", "newsletter": "done",
                                        "product_review": "available", "social_follow": "available",
                                        "referral": "available"}  # no custom, no signup
    actions.award_action(session, shop, member, "product_review", reference="r2")
    session.commit()
    assert ways(me(client, 5).json)["product_review"] == "limit_reached"


def test_an_inactive_rule_is_not_offered(client, session, nok_shop, member):
    session.query(EarningRule).filter_by(shop_id=nok_shop.id, action="social_follow").update({"active": False})
    session.commit()
    assert "social_follow" not in ways(me(client, 5).json)


def test_a_member_who_got_the_signup_bonus_sees_it_done(client, session, nok_shop):
    member, _ = enrol(session, nok_shop, 7)
    actions.award_action(session, nok_shop, member, "signup")
    session.commit()
    assert ways(me(client, 7).json)["signup"] == "done"


def test_a_guest_sees_every_creditable_way_as_available(client, nok_shop):
    body = me(client, None).json
    assert set(ways(body).values()) == {"available"} and "signup" in ways(body)
    assert body["currency"] == "NOK" and body["codes"] == [] and body["tier_progress"] is None


def test_money_comes_with_the_shops_currency_and_missing_points(client, session, nok_shop, member):
    body = me(client, 5).json
    assert body["currency"] == "NOK"
    fixed = next(r for r in body["rewards"] if r["kind"] == "fixed_amount")
    assert (fixed["value"], fixed["currency"], fixed["affordable"], fixed["missing"]) == ("5", "NOK", True, 0)
    session.add(Reward(shop_id=nok_shop.id, name="Big", kind="fixed_amount", cost=5000, value=Decimal("500")))
    session.commit()
    big = next(r for r in me(client, 5).json["rewards"] if r["name"] == "Big")
    assert (big["affordable"], big["missing"]) == (False, 5000 - 1100)


def test_names_follow_the_shoppers_locale(client, session, nok_shop, member):
    session.query(Tier).filter_by(shop_id=nok_shop.id, name="Silver").update({"translations": {"nb": "Sølv"}})
    session.query(Tier).filter_by(shop_id=nok_shop.id, name="Gold").update({"translations": {"nb": "Gull"}})
    session.query(Reward).filter_by(shop_id=nok_shop.id, kind="free_shipping").update(
        {"translations": {"nb": "Gratis frakt"}})
    session.commit()
    body = me(client, 5, locale="nb").json
    assert body["tier"]["name"] == "Sølv" and body["next_tier"]["name"] == "Gull"
    assert (body["tier_progress"]["current"], body["tier_progress"]["next"]) == ("Sølv", "Gull")
    assert "Gratis frakt" in [r["name"] for r in body["rewards"]]
    english = me(client, 5).json
    assert english["tier"]["name"] == "Silver" and "Free shipping" in [r["name"] for r in english["rewards"]]
    assert "Gratis frakt" in [r["name"] for r in me(client, None, locale="nb").json["rewards"]]


@pytest.mark.parametrize("locale", ["x", "norwegian", "nb_NO", "nb-no", "../etc"])
def test_a_bad_locale_is_400(client, nok_shop, locale):
    response = me(client, 5, locale=locale)
    assert response.status_code == 400 and response.json["error"] == "bad_locale"


def test_tier_progress(client, member):
    # 1000 points earned (the Silver bonus does not count): Silver at 500, Gold at 1500
    assert me(client, 5).json["tier_progress"] == {"current": "Silver", "next": "Gold", "remaining": "500",
                                                   "percent": 50}
    assert me(client, 404).json["tier_progress"] == {"current": "Bronze", "next": "Silver", "remaining": "500",
                                                     "percent": 0}


def test_tier_progress_at_the_top(client, session, nok_shop):
    orders.record_paid_order(session, nok_shop, simple_order(2, 6, "2000.00"))
    session.commit()
    assert me(client, 6).json["tier_progress"] == {"current": "Gold", "next": None, "remaining": "0", "percent": 100}


def test_birthday_is_month_and_day(client, session, member):
    assert me(client, 5).json["birthday"] is None
    member.birthday = date(1990, 3, 7)
    session.commit()
    assert me(client, 5).json["birthday"] == "03-07"


def test_active_codes_are_listed_newest_first_without_used_or_expired_ones(client, session, nok_shop, member):
    now = utcnow()

    def code(n, state, expires_at=None):
        session.add(Redemption(shop_id=nok_shop.id, member_id=member.id, reward_id=None, code=f"LOYAL-{n}",
                               cost=500, state=state, idempotency_key=f"k{n}", expires_at=expires_at,
                               created_at=now - timedelta(minutes=10 - n)))

    code(1, "active")
    code(2, "used")
    code(3, "active", expires_at=now - timedelta(minutes=1))
    code(4, "released")
    code(5, "active", expires_at=now + timedelta(days=3))
    session.commit()
    listed = me(client, 5).json["codes"]
    assert [c["code"] for c in listed] == ["LOYAL-5", "LOYAL-1"]
    assert {c["state"] for c in listed} == {"active"}
    assert listed[0]["apply_url"] == "/discount/LOYAL-5?redirect=/cart"
    # the same items as /proxy/codes
    every = {c["code"]: c for c in client.get("/proxy/codes", query_string=proxy_query(5)).json["codes"]}
    assert all(every[c["code"]] == c for c in listed)


# Admin: the merchant enters the translations

def test_admin_api_takes_translations_for_rewards_and_tiers(admin_api, session, shop):
    reward = admin_api.get("/rewards").get_json()[0]
    assert reward["translations"] == {}
    changed = admin_api.put(f"/rewards/{reward['id']}", json={"translations": {"nb": "50 kr avslag", "pt-BR": "R$"}})
    assert changed.status_code == 200 and changed.get_json()["translations"] == {"nb": "50 kr avslag", "pt-BR": "R$"}
    tier = admin_api.get("/tiers").get_json()[0]
    assert admin_api.put(f"/tiers/{tier['id']}", json={"translations": {"sv": "Brons"}}).get_json()["translations"] \
        == {"sv": "Brons"}
    session.expire_all()
    assert session.get(Tier, tier["id"]).translations == {"sv": "Brons"}


@pytest.mark.parametrize("translations", [{"norsk": "x"}, {"nb": ""}, {"nb": "   "}, {"nb": "x" * 201}, {"nb": 5},
                                          ["nb"], "nb"])
def test_admin_api_refuses_bad_translations(admin_api, shop, translations):
    reward = admin_api.get("/rewards").get_json()[0]
    response = admin_api.put(f"/rewards/{reward['id']}", json={"translations": translations})
    assert response.status_code == 422 and "translations" in response.get_json()["errors"]


def test_the_follow_action_carries_the_profile_it_opens(client, session, nok_shop, member):
    session.query(EarningRule).filter_by(shop_id=nok_shop.id, action="social_follow").update(
        {"settings": {"follow_urls": ["https://www.instagram.com/nordiskbutikk", "https://www.tiktok.com/@nb"]}})
    session.commit()
    follow = next(w for w in me(client, 5).json["ways_to_earn"] if w["action"] == "social_follow")
    assert follow["url"] == "https://www.instagram.com/nordiskbutikk"
    assert all("url" not in w for w in me(client, 5).json["ways_to_earn"] if w["action"] != "social_follow")
