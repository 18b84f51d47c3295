"""The program's rules through the admin API: every route, bad input refused whole, every change versioned."""
from __future__ import annotations

import pytest

from loyalty_app.models import Campaign, EarningRule, LedgerEntry, Member, ProgramChange, Reward, Shop, Tier
from loyalty_app.services.shops import install_shop
from tests.helpers import AdminApi, simple_order

OTHER_SHOP = "other-shop.myshopify.com"


def version(session, shop):
    session.expire_all()
    return session.get(Shop, shop.id).program_version


def changes(session):
    session.expire_all()
    return session.query(ProgramChange).order_by(ProgramChange.id).all()


def tier_id(session, name):
    return session.query(Tier).filter_by(name=name).one().id


# Settings

def test_settings_read_with_defaults_and_decimals_as_strings(admin_api):
    settings = admin_api.get("/settings").get_json()
    assert settings["points_per_unit"] == "1" and settings["rounding"] == "floor"
    assert settings["pending_days"] == 0 and settings["languages"] == ["en"]


def test_a_partial_settings_change_bumps_the_version_once_and_is_recorded(admin_api, session, shop):
    start = version(session, shop)
    response = admin_api.put("/settings", json={"points_per_unit": "2.5", "pending_days": 14})
    assert response.status_code == 200
    body = response.get_json()
    assert (body["points_per_unit"], body["pending_days"], body["rounding"]) == ("2.5", 14, "floor")
    assert version(session, shop) == start + 1
    [change] = changes(session)
    assert (change.version, change.actor, change.subject, change.action) == (start + 1, "staff:1", "settings", "update")
    assert change.before["points_per_unit"] == "1" and change.after["points_per_unit"] == "2.5"
    assert change.before["pending_days"] == 0 and change.after["pending_days"] == 14

    assert admin_api.put("/settings", json={"pending_days": 14}).status_code == 200  # no change: no new version
    assert version(session, shop) == start + 1 and len(changes(session)) == 1


@pytest.mark.parametrize("body, field", [
    ({"points_per_unit": "-1"}, "points_per_unit"),
    ({"points_per_unit": "1001"}, "points_per_unit"),
    ({"points_per_unit": "NaN"}, "points_per_unit"),
    ({"rounding": "sideways"}, "rounding"),
    ({"pending_days": 366}, "pending_days"),
    ({"pending_days": "soon"}, "pending_days"),
    ({"minimum_order_amount": "-5"}, "minimum_order_amount"),
    ({"tier_window": "forever"}, "tier_window"),
    ({"point_of_no_return": 1}, "point_of_no_return"),
    ({"earning_mode": "coins"}, "earning_mode"),
    ({"cashback_percent": "-1"}, "cashback_percent"),
    ({"cashback_percent": "101"}, "cashback_percent"),
    ({"cashback_percent": "2.555"}, "cashback_percent"),
    ({"store_credit_expiry_days": 0}, "store_credit_expiry_days"),
    ({"store_credit_notify": "maybe"}, "store_credit_notify"),
])
def test_bad_settings_are_422_per_field_and_nothing_is_applied(admin_api, session, shop, body, field):
    start = version(session, shop)
    response = admin_api.put("/settings", json={"pending_days": 7, **body})
    assert response.status_code == 422
    assert field in response.get_json()["errors"]
    assert admin_api.get("/settings").get_json()["pending_days"] == 0  # the valid part was not applied either
    assert version(session, shop) == start and changes(session) == []


def test_settings_body_must_be_an_object(admin_api):
    assert admin_api.put("/settings", json=["pending_days", 3]).status_code == 400


def test_a_settings_change_takes_effect_on_the_next_order_webhook_and_the_entry_names_the_new_version(
        admin_api, deliver, session, shop):
    deliver("orders/paid", simple_order(1, 5, "100.00"))
    response = admin_api.put("/settings", json={"points_per_unit": "3"})
    assert response.status_code == 200
    new_version = version(session, shop)
    [change] = changes(session)
    assert change.version == new_version

    assert deliver("orders/paid", simple_order(2, 6, "100.00")).status_code == 200
    session.expire_all()
    before = session.query(LedgerEntry).filter_by(idempotency_key="order:1").one()
    after = session.query(LedgerEntry).filter_by(idempotency_key="order:2").one()
    assert before.amount == 100 and before.detail["program_version"] == new_version - 1
    assert after.amount == 300 and after.detail["program_version"] == new_version
    assert after.detail["points_per_unit"] == "3"


# Tiers

def test_tiers_list_create_update_delete(admin_api, session, shop):
    assert [t["name"] for t in admin_api.get("/tiers").get_json()] == ["Bronze", "Silver", "Gold"]
    created = admin_api.post("/tiers", json={"name": " Platinum ", "threshold": 5000, "multiplier": "2",
                                             "entry_bonus": 500})
    assert created.status_code == 201
    tier = created.get_json()
    assert tier == {"id": tier["id"], "name": "Platinum", "threshold": "5000.00", "multiplier": "2.000",
                    "entry_bonus": 500, "translations": {}}
    updated = admin_api.put(f"/tiers/{tier['id']}", json={"threshold": "4000.50"})
    assert updated.status_code == 200 and updated.get_json()["threshold"] == "4000.50"
    assert updated.get_json()["name"] == "Platinum"
    assert admin_api.delete(f"/tiers/{tier['id']}").status_code == 204
    assert [t["name"] for t in admin_api.get("/tiers").get_json()] == ["Bronze", "Silver", "Gold"]
    assert [(c.subject, c.action) for c in changes(session)] == [("tier", "create"), ("tier", "update"),
                                                                   ("tier", "delete")]


@pytest.mark.parametrize("body, field", [
    ({"name": "gold", "threshold": 9000}, "name"),  # unique, whatever the case
    ({"name": "Steel", "threshold": "500"}, "threshold"),  # Silver's threshold
    ({"name": "", "threshold": 10}, "name"),
    ({"name": "   ", "threshold": 10}, "name"),
    ({"name": "x" * 101, "threshold": 10}, "name"),
    ({"name": "Steel", "threshold": -1}, "threshold"),
    ({"name": "Steel", "threshold": "10.005"}, "threshold"),
    ({"name": "Steel", "threshold": "Infinity"}, "threshold"),
    ({"name": "Steel"}, "threshold"),
    ({"name": "Steel", "threshold": 10, "multiplier": 0}, "multiplier"),
    ({"name": "Steel", "threshold": 10, "multiplier": 101}, "multiplier"),
    ({"name": "Steel", "threshold": 10, "entry_bonus": -5}, "entry_bonus"),
    ({"name": "Steel", "threshold": 10, "entry_bonus": 2.5}, "entry_bonus"),
    ({"name": "Steel", "threshold": 10, "colour": "grey"}, "colour"),
])
def test_bad_tiers_are_422_and_nothing_is_created(admin_api, session, shop, body, field):
    start = version(session, shop)
    response = admin_api.post("/tiers", json=body)
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["errors"]
    assert session.query(Tier).count() == 3 and version(session, shop) == start and changes(session) == []


def test_a_tier_update_is_validated_whole_and_refused_whole(admin_api, session, shop):
    silver = tier_id(session, "Silver")
    response = admin_api.put(f"/tiers/{silver}", json={"entry_bonus": 5, "name": "Gold"})
    assert response.status_code == 422 and "name" in response.get_json()["errors"]
    response = admin_api.put(f"/tiers/{silver}", json={"entry_bonus": 5, "threshold": "1500"})
    assert response.status_code == 422 and "threshold" in response.get_json()["errors"]
    session.expire_all()
    assert session.get(Tier, silver).entry_bonus == 100 and changes(session) == []
    # Renaming a tier to its own name in another case is fine.
    assert admin_api.put(f"/tiers/{silver}", json={"name": "SILVER"}).status_code == 200


def test_an_unchanged_update_records_nothing(admin_api, session, shop):
    start = version(session, shop)
    assert admin_api.put(f"/tiers/{tier_id(session, 'Gold')}", json={"threshold": "1500"}).status_code == 200
    assert version(session, shop) == start and changes(session) == []


def members_with_points(deliver, points_by_customer):
    for order_id, (customer_id, points) in enumerate(points_by_customer.items(), start=1):
        deliver("orders/paid", simple_order(order_id, customer_id, f"{points}.00"))


def tiers_of(session, shop):
    session.expire_all()
    names = {t.id: t.name for t in session.query(Tier)}
    return {m.customer_id: names.get(m.tier_id) for m in session.query(Member).filter_by(shop_id=shop.id)}


def test_a_new_tier_re_ranks_members_at_once_without_redis(admin_api, deliver, session, shop):
    members_with_points(deliver, {1: 100, 2: 600, 3: 1200, 4: 2000})
    assert tiers_of(session, shop) == {1: "Bronze", 2: "Silver", 3: "Silver", 4: "Gold"}
    assert admin_api.post("/tiers", json={"name": "Silver+", "threshold": 1000, "entry_bonus": 40}).status_code == 201
    assert tiers_of(session, shop) == {1: "Bronze", 2: "Silver", 3: "Silver+", 4: "Gold"}
    bonus = session.query(LedgerEntry).filter(LedgerEntry.source == f"tier:{tier_id(session, 'Silver+')}").one()
    assert bonus.amount == 40  # a promotion by re-ranking pays the entry bonus, as any promotion does


def test_a_raised_threshold_demotes_and_a_deleted_tier_re_ranks_its_members(admin_api, deliver, session, shop):
    members_with_points(deliver, {1: 100, 2: 600, 3: 1200, 4: 2000})
    assert admin_api.put(f"/tiers/{tier_id(session, 'Silver')}", json={"threshold": 1000}).status_code == 200
    assert tiers_of(session, shop) == {1: "Bronze", 2: "Bronze", 3: "Silver", 4: "Gold"}
    assert admin_api.delete(f"/tiers/{tier_id(session, 'Gold')}").status_code == 204
    assert tiers_of(session, shop) == {1: "Bronze", 2: "Bronze", 3: "Silver", 4: "Silver"}


# Preview

def test_preview_counts_who_moves_where_and_changes_nothing(admin_api, deliver, session, shop):
    members_with_points(deliver, {1: 100, 2: 600, 3: 1200, 4: 2000, 5: 2100})
    start = version(session, shop)
    proposal = [{"id": tier_id(session, "Bronze"), "name": "Bronze", "threshold": 0},
                {"id": tier_id(session, "Silver"), "name": "Silver", "threshold": 1000, "entry_bonus": 100},
                {"id": tier_id(session, "Gold"), "name": "Gold", "threshold": 1500, "entry_bonus": 250},
                {"name": "Platinum", "threshold": "2050"}]
    response = admin_api.post("/tiers/preview", json={"tiers": proposal})
    assert response.status_code == 200, response.get_json()
    preview = response.get_json()
    assert (preview["members"], preview["up"], preview["down"], preview["same"]) == (5, 1, 1, 3)
    assert preview["tiers"] == [
        {"id": tier_id(session, "Bronze"), "name": "Bronze", "before": 1, "after": 2},
        {"id": tier_id(session, "Silver"), "name": "Silver", "before": 2, "after": 1},
        {"id": tier_id(session, "Gold"), "name": "Gold", "before": 2, "after": 1},
        {"id": None, "name": "Platinum", "before": 0, "after": 1},
    ]
    assert sorted(preview["moves"], key=lambda m: m["to"]) == [
        {"from": "Silver", "to": "Bronze", "direction": "down", "members": 1},
        {"from": "Gold", "to": "Platinum", "direction": "up", "members": 1},
    ]
    before = tiers_of(session, shop)
    assert version(session, shop) == start and session.query(Tier).count() == 3

    # Applying the same change ranks the members exactly as the preview said.
    admin_api.put(f"/tiers/{tier_id(session, 'Silver')}", json={"threshold": 1000})
    admin_api.post("/tiers", json={"name": "Platinum", "threshold": "2050"})
    after = tiers_of(session, shop)
    assert before == {1: "Bronze", 2: "Silver", 3: "Silver", 4: "Gold", 5: "Gold"}
    assert after == {1: "Bronze", 2: "Bronze", 3: "Silver", 4: "Gold", 5: "Platinum"}


def test_preview_of_an_empty_list_takes_everyone_out_of_their_tier(admin_api, deliver, session, shop):
    members_with_points(deliver, {1: 100, 2: 600})
    preview = admin_api.post("/tiers/preview", json={"tiers": []}).get_json()
    assert (preview["members"], preview["down"], preview["up"]) == (2, 2, 0)
    assert preview["tiers"][0] == {"id": None, "name": None, "before": 0, "after": 2}


@pytest.mark.parametrize("tiers, message", [
    ([{"name": "A", "threshold": 0}, {"name": "a", "threshold": 5}], "names"),
    ([{"name": "A", "threshold": 0}, {"name": "B", "threshold": "0.00"}], "thresholds"),
    ([{"name": "A", "threshold": 0, "id": 999999}], "No such tier"),
    ([{"name": "A", "threshold": -3}], "greater than or equal"),
    ([{"name": f"T{i}", "threshold": i} for i in range(21)], "Longer than maximum"),
])
def test_bad_previews_are_422(admin_api, tiers, message):
    response = admin_api.post("/tiers/preview", json={"tiers": tiers})
    assert response.status_code == 422
    assert message in str(response.get_json()["errors"])


def test_preview_needs_a_list(admin_api):
    assert admin_api.post("/tiers/preview", json={}).status_code == 422
    assert admin_api.post("/tiers/preview", json={"tiers": "Gold"}).status_code == 422


# Rewards

def test_rewards_list_create_update_delete(admin_api, session, shop):
    assert [r["cost"] for r in admin_api.get("/rewards").get_json()] == [500, 750, 1000]
    created = admin_api.post("/rewards", json={"name": "20% off", "kind": "percentage", "cost": 2000, "value": 20,
                                               "combines_with": {"shipping_discounts": False}})
    assert created.status_code == 201
    reward = created.get_json()
    assert reward["value"] == "20.00" and reward["active"] is True and reward["expires_after_days"] is None
    assert reward["combines_with"] == {"order_discounts": False, "product_discounts": True,
                                       "shipping_discounts": False}
    assert admin_api.put(f"/rewards/{reward['id']}", json={"active": False}).get_json()["active"] is False
    assert admin_api.delete(f"/rewards/{reward['id']}").status_code == 204
    assert session.query(Reward).count() == 3
    assert [c.action for c in changes(session)] == ["create", "update", "delete"]


@pytest.mark.parametrize("body, field", [
    ({"kind": "percentage", "value": 101}, "value"),
    ({"kind": "percentage", "value": 0}, "value"),
    ({"kind": "fixed_amount", "value": 0}, "value"),
    ({"kind": "free_shipping", "value": 5}, "value"),
    ({"kind": "gift_card", "value": 5}, "kind"),
    ({"kind": "store_credit", "value": 0}, "value"),
    ({"kind": "store_credit", "value": -5}, "value"),
    ({"kind": "fixed_amount", "value": 5, "cost": 0}, "cost"),
    ({"kind": "fixed_amount", "value": 5, "cost": "100"}, "cost"),
    ({"kind": "fixed_amount", "value": 5, "name": "Free shipping"}, "name"),
    ({"kind": "fixed_amount", "value": 5, "expires_after_days": 0}, "expires_after_days"),
    ({"kind": "fixed_amount", "value": 5, "minimum_subtotal": "-1"}, "minimum_subtotal"),
    ({"kind": "fixed_amount", "value": 5, "combines_with": {"gift_cards": True}}, "combines_with"),
])
def test_bad_rewards_are_422(admin_api, session, shop, body, field):
    response = admin_api.post("/rewards", json={"name": "New", "cost": 100, **body})
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["errors"]
    assert session.query(Reward).count() == 3 and changes(session) == []


def test_a_reward_update_checks_the_value_against_the_kind_it_ends_with(admin_api, session, shop):
    five_off = session.query(Reward).filter_by(name="5 off your order").one()
    response = admin_api.put(f"/rewards/{five_off.id}", json={"kind": "percentage", "value": "150"})
    assert response.status_code == 422 and "value" in response.get_json()["errors"]
    assert admin_api.put(f"/rewards/{five_off.id}", json={"kind": "free_shipping"}).status_code == 422
    session.expire_all()
    assert (session.get(Reward, five_off.id).kind, session.get(Reward, five_off.id).value) == ("fixed_amount", 5)
    assert admin_api.put(f"/rewards/{five_off.id}", json={"kind": "percentage"}).get_json()["kind"] == "percentage"


# Ways to earn

def test_actions_list_create_update_delete(admin_api, session, shop):
    listed = admin_api.get("/actions").get_json()
    assert [a["action"] for a in listed][:2] == ["signup", "birthday"]
    signup = listed[0]
    assert admin_api.delete(f"/actions/{signup['id']}").status_code == 204
    created = admin_api.post("/actions", json={"action": "signup", "points": 150})
    assert created.status_code == 201 and created.get_json()["limit_kind"] == "once"
    updated = admin_api.put(f"/actions/{created.get_json()['id']}", json={"limit_kind": "per_period",
                                                                          "limit_count": 3, "period_days": 30})
    assert updated.status_code == 200 and updated.get_json()["limit_count"] == 3
    assert session.query(EarningRule).filter_by(action="signup").one().points == 150


@pytest.mark.parametrize("body, field", [
    ({"action": "birthday", "points": 10}, "action"),  # one rule per action
    ({"action": "dancing", "points": 10}, "action"),
    ({"action": "custom", "points": 0}, "points"),
    ({"action": "custom", "points": 1_000_001}, "points"),
    ({"action": "custom", "points": 10, "limit_kind": "twice"}, "limit_kind"),
    ({"action": "custom", "points": 10, "limit_count": 0}, "limit_count"),
    ({"action": "custom", "points": 10, "period_days": 0}, "period_days"),
    ({"action": "custom", "points": 10, "active": "maybe"}, "active"),
])
def test_bad_actions_are_422(admin_api, session, shop, body, field):
    response = admin_api.post("/actions", json=body)
    assert response.status_code == 422 and field in response.get_json()["errors"]
    assert session.query(EarningRule).count() == 6


def test_an_action_cannot_be_renamed_onto_another(admin_api, session, shop):
    newsletter = session.query(EarningRule).filter_by(action="newsletter").one()
    response = admin_api.put(f"/actions/{newsletter.id}", json={"action": "signup"})
    assert response.status_code == 422 and "action" in response.get_json()["errors"]


# Campaigns

def test_campaigns_list_create_update_delete_and_orders_earn_with_them(admin_api, deliver, session, shop):
    assert admin_api.get("/campaigns").get_json() == []
    created = admin_api.post("/campaigns", json={"name": "Double points", "multiplier": 2,
                                                 "starts_at": "2000-01-01", "ends_at": "2100-01-01T00:00:00+01:00"})
    assert created.status_code == 201, created.get_json()
    campaign = created.get_json()
    assert campaign["starts_at"].startswith("2000-01-01T00:00:00") and campaign["multiplier"] == "2.000"
    deliver("orders/paid", simple_order(1, 5, "100.00"))
    session.expire_all()
    assert session.query(LedgerEntry).filter_by(idempotency_key="order:1").one().amount == 200
    assert admin_api.put(f"/campaigns/{campaign['id']}", json={"name": "Triple", "multiplier": 3}).status_code == 200
    assert admin_api.delete(f"/campaigns/{campaign['id']}").status_code == 204
    assert session.query(Campaign).count() == 0


@pytest.mark.parametrize("body, field", [
    ({"ends_at": "2026-11-30T00:00:00Z"}, "ends_at"),
    ({"ends_at": "2026-12-01T00:00:00Z"}, "ends_at"),  # ends when it starts
    ({"multiplier": 1}, "multiplier"),
    ({"multiplier": "1.0005"}, "multiplier"),
    ({"starts_at": "next friday"}, "starts_at"),
    ({"name": None}, "name"),
])
def test_bad_campaigns_are_422(admin_api, session, shop, body, field):
    base = {"name": "Weekend", "multiplier": 2, "starts_at": "2026-12-01T00:00:00Z", "ends_at": "2026-12-03T00:00:00Z"}
    response = admin_api.post("/campaigns", json={**base, **body})
    assert response.status_code == 422 and field in response.get_json()["errors"]
    assert session.query(Campaign).count() == 0


def test_a_campaign_cannot_be_moved_to_end_before_it_starts(admin_api, session, shop):
    created = admin_api.post("/campaigns", json={"name": "Weekend", "multiplier": 2, "starts_at": "2026-12-01",
                                                 "ends_at": "2026-12-03"}).get_json()
    response = admin_api.put(f"/campaigns/{created['id']}", json={"ends_at": "2026-11-01"})
    assert response.status_code == 422 and "ends_at" in response.get_json()["errors"]
    assert admin_api.get("/campaigns").get_json()[0]["ends_at"].startswith("2026-12-03")


# Another shop's objects, and ids that are not ids

@pytest.fixture
def other_shop_ids(app, client, session, staff_token):
    other = install_shop(session, OTHER_SHOP, "shpat_other", app.extensions["token_box"])
    session.commit()
    api = AdminApi(client, staff_token(shop=OTHER_SHOP))
    campaign = api.post("/campaigns", json={"name": "Theirs", "multiplier": 2, "starts_at": "2026-12-01",
                                            "ends_at": "2026-12-03"}).get_json()
    return {"tiers": session.query(Tier).filter_by(shop_id=other.id).first().id,
            "rewards": session.query(Reward).filter_by(shop_id=other.id).first().id,
            "actions": session.query(EarningRule).filter_by(shop_id=other.id).first().id,
            "campaigns": campaign["id"]}


VALID_CHANGE = {"tiers": {"entry_bonus": 1}, "rewards": {"cost": 1}, "actions": {"points": 1},
                "campaigns": {"multiplier": 5}}


@pytest.mark.parametrize("collection", ["tiers", "rewards", "actions", "campaigns"])
def test_another_shops_objects_are_404_and_untouched(admin_api, session, shop, other_shop_ids, collection):
    theirs = other_shop_ids[collection]
    before = len(changes(session))
    assert admin_api.put(f"/{collection}/{theirs}", json=VALID_CHANGE[collection]).status_code == 404
    assert admin_api.delete(f"/{collection}/{theirs}").status_code == 404
    assert admin_api.delete(f"/{collection}/{10**20}").status_code == 404
    assert admin_api.put(f"/{collection}/0", json={}).status_code == 404
    assert len(changes(session)) == before
    assert all(item["id"] != theirs for item in admin_api.get(f"/{collection}").get_json())


def test_preview_refuses_another_shops_tier_ids(admin_api, other_shop_ids):
    response = admin_api.post("/tiers/preview", json={"tiers": [{"id": other_shop_ids["tiers"], "name": "X",
                                                                 "threshold": 0}]})
    assert response.status_code == 422


# History

def test_versions_are_listed_newest_first_with_keyset_pages(admin_api, app, client, session, shop):
    admin_api.put("/settings", json={"pending_days": 1})
    tier = admin_api.post("/tiers", json={"name": "Platinum", "threshold": 9000}).get_json()
    admin_api.put(f"/tiers/{tier['id']}", json={"threshold": 9500})
    admin_api.delete(f"/tiers/{tier['id']}")
    key = admin_api.post("/keys", json={"name": "ERP"}).get_json()
    AdminApi(client, key["secret"]).post("/rewards", json={"name": "Tote bag", "kind": "fixed_amount", "cost": 900,
                                                           "value": 12})

    first = admin_api.get("/program/versions?limit=2").get_json()
    current = version(session, shop)
    assert first["program_version"] == current
    assert [(i["version"], i["subject"], i["action"]) for i in first["items"]] == [
        (current, "reward", "create"), (current - 1, "tier", "delete")]
    assert first["items"][0]["actor"] == f"api-key:{key['key']['id']}"
    deleted = first["items"][1]
    assert deleted["before"]["threshold"] == "9500.00" and deleted["after"] is None
    assert deleted["actor"] == "staff:1" and deleted["subject_id"] == tier["id"]

    second = admin_api.get(f"/program/versions?limit=2&cursor={first['next_cursor']}").get_json()
    assert [(i["subject"], i["action"]) for i in second["items"]] == [("tier", "update"), ("tier", "create")]
    assert second["items"][0]["before"]["threshold"] == "9000.00"
    assert second["items"][0]["after"]["threshold"] == "9500.00"
    third = admin_api.get(f"/program/versions?limit=2&cursor={second['next_cursor']}").get_json()
    assert [i["subject"] for i in third["items"]] == ["settings"] and third["next_cursor"] is None


@pytest.mark.parametrize("query", ["limit=0", "limit=201", "limit=x", "cursor=0", "cursor=abc", "page=2"])
def test_bad_version_queries_are_422(admin_api, query):
    assert admin_api.get(f"/program/versions?{query}").status_code == 422


def test_another_shops_history_is_not_shown(admin_api, client, session, staff_token, other_shop_ids):
    theirs = AdminApi(client, staff_token(shop=OTHER_SHOP)).get("/program/versions").get_json()
    assert [i["subject"] for i in theirs["items"]] == ["campaign"]
    assert admin_api.get("/program/versions").get_json()["items"] == []


def test_the_openapi_document_calls_decimals_strings(admin_api):
    schemas = admin_api.get("/openapi.json").get_json()["components"]["schemas"]
    settings = next(s for name, s in schemas.items() if name.startswith("Settings") and "rounding" in s["properties"])
    assert settings["properties"]["points_per_unit"]["type"] == "string"
    tier = next(s for name, s in schemas.items() if name.startswith("Tier") and "entry_bonus" in s["properties"])
    assert tier["properties"]["threshold"]["type"] == "string"


def test_no_schema_publishes_a_range_as_a_string(admin_api):
    """apispec copies a Decimal range as ``"maximum": "100"``; OpenAPI wants numbers (schemathesis refuses the rest)."""
    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("minimum", "maximum"):
                    assert isinstance(value, (int, float)), node
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(admin_api.get("/openapi.json").get_json())


def test_concurrent_changes_apply_in_turn_each_with_a_version_of_its_own(app, shop, staff_token, session):
    from concurrent.futures import ThreadPoolExecutor

    start = version(session, shop)
    session.close()  # let the threads' transactions take the shop's lock

    def create(index):
        with app.app_context():
            api = AdminApi(app.test_client(), staff_token(sub=str(index), lifetime=600))
            return api.post("/tiers", json={"name": f"Tier {index}", "threshold": 10_000 + index}).status_code

    with ThreadPoolExecutor(6) as pool:
        statuses = list(pool.map(create, range(6)))
    # The same name from two places at once: one is created, the other refused cleanly.
    with ThreadPoolExecutor(2) as pool:
        twins = sorted(pool.map(lambda _: AdminApi(app.test_client(), staff_token(lifetime=600)).post(
            "/tiers", json={"name": "Twin", "threshold": 20_000}).status_code, range(2)))
    assert statuses == [201] * 6 and twins == [201, 422]
    versions = sorted(change.version for change in changes(session))
    assert versions == list(range(start + 1, start + 8))
    assert version(session, shop) == start + 7


def test_store_credit_rewards_and_settings(admin_api, session, shop):
    created = admin_api.post("/rewards", json={"name": "10 in store credit", "kind": "store_credit", "cost": 1000,
                                               "value": "10"})
    assert created.status_code == 201 and created.get_json()["kind"] == "store_credit"
    assert created.get_json()["value"] == "10.00"
    changed = admin_api.put("/settings", json={"earning_mode": "cashback", "cashback_percent": "2.5",
                                               "store_credit_notify": False, "store_credit_expiry_days": 90})
    assert changed.status_code == 200
    settings = admin_api.get("/settings").get_json()
    assert (settings["earning_mode"], settings["cashback_percent"], settings["store_credit_notify"],
            settings["store_credit_expiry_days"]) == ("cashback", "2.5", False, 90)
