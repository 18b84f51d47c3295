"""The Activity page and its API: the shop's webhook events, retrying a failed one, health and Web Vitals."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from rq import SimpleWorker
from sqlalchemy import select

from loyalty_app import create_app
from loyalty_app.extensions import db
from loyalty_app.models import LedgerEntry, WebhookEvent, WebVital, utcnow
from loyalty_app.services.activity import verdict
from loyalty_app.services.members import find_member
from loyalty_app.services.shops import install_shop
from tests.conftest import BASE_CONFIG, SHOP_DOMAIN
from tests.helpers import AdminApi, simple_order

OTHER_SHOP = "other-shop.myshopify.com"


def add_event(session, shop, *, status="failed", topic="orders/paid", body=None, error="PayloadError: no line items",
              received_at=None, **extra):  # type: ignore[no-untyped-def]
    """A stored inbox event of ``shop``, as the drain leaves it."""
    event = WebhookEvent(webhook_id=f"wh-{utcnow().timestamp()}-{id(extra)}-{status}-{topic}", topic=topic,
                         shop_domain=shop.domain, shop_id=shop.id, status=status,
                         body=json.dumps(body if body is not None else {"id": 1}), attempts=1 if status == "failed" else 0,
                         error=error if status == "failed" else None, received_at=received_at or utcnow(), **extra)
    session.add(event)
    session.flush()
    return event


# Listing

def test_failed_events_are_listed_with_their_reason_and_never_their_body(admin_api, session, shop):
    failed = add_event(session, shop, order_id=450789469, customer_id=207119551)
    add_event(session, shop, status="processed", error=None)
    other = install_shop(session, OTHER_SHOP, "shpat_o", admin_api.client.application.extensions["token_box"])
    add_event(session, other, error="theirs")
    session.commit()

    answer = admin_api.get("/activity/events?status=failed&cursor=&limit=")
    assert answer.status_code == 200
    page = answer.get_json()
    assert [e["id"] for e in page["events"]] == [failed.id] and page["next_cursor"] is None
    listed = page["events"][0]
    assert listed["error"] == "PayloadError: no line items"
    assert (listed["topic"], listed["status"], listed["attempts"]) == ("orders/paid", "failed", 1)
    assert (listed["order_id"], listed["customer_id"]) == (450789469, 207119551)
    assert "body" not in listed and '"id": 1' not in answer.get_data(as_text=True)
    assert len(admin_api.get("/activity/events").get_json()["events"]) == 2  # every status, never another shop's


def test_events_page_newest_first_with_a_stable_cursor(admin_api, session, shop):
    ids = [add_event(session, shop, status="processed").id for _ in range(5)]
    session.commit()
    seen, cursor = [], ""
    while cursor is not None:
        page = admin_api.get(f"/activity/events?limit=2&cursor={cursor}").get_json()
        seen += [e["id"] for e in page["events"]]
        cursor = page["next_cursor"]
        if cursor is not None:
            add_event(session, shop, status="processed")  # a new delivery lands on the first page, not in between
            session.commit()
    assert seen == sorted(ids, reverse=True)


@pytest.mark.parametrize("query", ["status=lost", "limit=0", "limit=201", "cursor=abc", "cursor=0"])
def test_bad_queries_are_422(admin_api, query):
    answer = admin_api.get(f"/activity/events?{query}")
    assert answer.status_code == 422
    assert set(answer.get_json()["errors"]) == {query.split("=")[0]}


# Retrying

def test_retry_inline_processes_the_event_again(admin_api, session, shop):
    event = add_event(session, shop, body=simple_order(77, 5, "64.00"), error="LookupError: shop was gone")
    session.commit()

    answer = admin_api.post(f"/activity/events/{event.id}/retry")
    assert answer.status_code == 200
    retried = answer.get_json()
    assert (retried["status"], retried["result"], retried["error"]) == ("processed", "earned 64", None)
    session.expire_all()
    assert find_member(session, shop.id, 5).balance == 64
    assert admin_api.post(f"/activity/events/{event.id}/retry").status_code == 409  # processed now, not failed


@pytest.mark.parametrize("status", ["received", "processing", "processed", "ignored"])
def test_retrying_an_event_that_did_not_fail_is_409_and_changes_nothing(admin_api, session, shop, status):
    event = add_event(session, shop, status=status)
    session.commit()
    answer = admin_api.post(f"/activity/events/{event.id}/retry")
    assert answer.status_code == 409 and answer.get_json()["error"] == "conflict"
    session.expire_all()
    assert session.get(WebhookEvent, event.id).status == status


def test_a_failed_event_whose_body_is_gone_cannot_be_retried(admin_api, session, shop):
    event = add_event(session, shop)
    event.body = None
    session.commit()
    assert admin_api.post(f"/activity/events/{event.id}/retry").status_code == 409
    session.expire_all()
    assert session.get(WebhookEvent, event.id).status == "failed"


def test_another_shops_event_and_unknown_ids_are_404(admin_api, session, shop):
    other = install_shop(session, OTHER_SHOP, "shpat_o", admin_api.client.application.extensions["token_box"])
    theirs = add_event(session, other, body=simple_order(78, 6, "10.00"))
    session.commit()
    assert admin_api.post(f"/activity/events/{theirs.id}/retry").status_code == 404
    assert admin_api.post(f"/activity/events/{theirs.id + 1000}/retry").status_code == 404
    session.expire_all()
    assert session.get(WebhookEvent, theirs.id).status == "failed"
    assert session.scalars(select(LedgerEntry)).all() == []


@pytest.mark.integration
def test_retry_with_rq_queues_a_drain_that_processes_the_event(pg_redis_app, redis_shop, staff_token):
    with pg_redis_app.app_context():
        session = db.session()
        event = add_event(session, redis_shop, body=simple_order(79, 7, "30.00"))
        session.commit()
        event_id = event.id
        api = AdminApi(pg_redis_app.test_client(), staff_token())
        answer = api.post(f"/activity/events/{event_id}/retry")
        assert answer.status_code == 200 and answer.get_json()["status"] == "received"
        queues = pg_redis_app.extensions["queues"]
        assert queues.default.count == 1
        health = api.get("/activity/health").get_json()
        assert health["queue"] == {"reachable": True, "depth": 1, "failed_jobs": 0}
        assert health["counts"]["received"] == 1 and health["oldest_unprocessed_age_seconds"] >= 0

        SimpleWorker([queues.default], connection=queues.redis).work(burst=True)
        session.expire_all()
        assert session.get(WebhookEvent, event_id).status == "processed"
        assert find_member(session, redis_shop.id, 7).balance == 30


# Health

def test_health_counts_by_status_and_the_oldest_waiting_event(admin_api, session, shop):
    add_event(session, shop)
    add_event(session, shop, status="received", received_at=utcnow() - timedelta(minutes=10))
    add_event(session, shop, status="processing", received_at=utcnow() - timedelta(minutes=3))
    add_event(session, shop, status="processed", received_at=utcnow() - timedelta(days=3))
    session.commit()
    health = admin_api.get("/activity/health").get_json()
    assert health["counts"] == {"received": 1, "processing": 1, "processed": 1, "failed": 1, "ignored": 0}
    assert 600 <= health["oldest_unprocessed_age_seconds"] < 660
    assert health["queue"] is None  # jobs run inline: there is no queue to show


# Web Vitals

def test_vitals_keep_the_last_value_per_page_and_metric_against_the_targets(admin_api, session, shop):
    report = {"page": "admin.activity", "metrics": [{"id": "v4-1", "name": "LCP", "value": 3100.5},
                                                    {"name": "CLS", "value": 0.05}, {"name": "INP", "value": 200}]}
    assert admin_api.post("/vitals", json=report).status_code == 204
    assert admin_api.post("/vitals", json={"page": "admin.activity",
                                           "metrics": [{"name": "LCP", "value": 1200}]}).status_code == 204
    assert admin_api.post("/vitals", json={"page": "admin.home",
                                           "metrics": [{"name": "TTFB", "value": 90}]}).status_code == 204
    assert session.query(WebVital).count() == 4

    pages = {p["page"]: p for p in admin_api.get("/vitals").get_json()}
    activity = {m["name"]: m for m in pages["admin.activity"]["metrics"]}
    assert [m["name"] for m in pages["admin.activity"]["metrics"]] == ["LCP", "CLS", "INP"]
    assert (activity["LCP"]["value"], activity["LCP"]["target"], activity["LCP"]["passes"]) == (1200, 2500, True)
    assert (activity["INP"]["comparison"], activity["INP"]["passes"]) == ("<=", True)
    assert pages["admin.activity"]["passes"] is True
    assert pages["admin.home"]["metrics"][0]["passes"] is None and pages["admin.home"]["passes"] is None


def test_targets_are_built_for_shopifys():
    assert verdict("LCP", 2499.9) is True and verdict("LCP", 2500) is False
    assert verdict("CLS", 0.1) is True and verdict("CLS", 0.1001) is False
    assert verdict("INP", 200) is True and verdict("INP", 201) is False
    assert verdict("FCP", 99999) is None


@pytest.mark.parametrize("report, field", [
    ({"page": "admin.activity", "metrics": [{"name": "FID", "value": 10}]}, "metrics"),
    ({"page": "admin.activity", "metrics": [{"name": "CLS", "value": -0.1}]}, "metrics"),
    ({"page": "admin.activity", "metrics": [{"name": "LCP", "value": 600_001}]}, "metrics"),
    ({"page": "admin.activity", "metrics": [{"name": "LCP", "value": "fast"}]}, "metrics"),
    ({"page": "admin.activity", "metrics": []}, "metrics"),
    ({"page": "/etc/passwd", "metrics": [{"name": "LCP", "value": 10}]}, "page"),
    ({"metrics": [{"name": "LCP", "value": 10}]}, "page"),
])
def test_bad_vitals_are_422_and_nothing_is_kept(admin_api, session, report, field):
    good = {"name": "CLS", "value": 0.01}
    if report.get("metrics"):
        report = {**report, "metrics": [good, *report["metrics"]]}  # the good one is not kept either
    answer = admin_api.post("/vitals", json=report)
    assert answer.status_code == 422
    assert field in answer.get_json()["errors"]
    assert session.query(WebVital).count() == 0


# The page

def test_the_page_shows_failed_events_with_retry_health_and_vitals(client, session, shop, staff_token):
    event = add_event(session, shop, error="ActionError: no such reward", order_id=1234)
    session.add(WebVital(shop_id=shop.id, page="admin.home", metric="LCP", value=3200.0))
    session.commit()
    html = client.get(f"/admin/activity?shop={SHOP_DOMAIN}&host=abc&locale=nb&id_token={staff_token()}")
    assert html.status_code == 200
    text = html.get_data(as_text=True)
    assert "ActionError: no such reward" in text and "Ordre 1234" in text
    assert f'data-api="POST /admin/api/activity/events/{event.id}/retry"' in text and "Prøv igjen" in text
    assert "3,20 s" in text and "Når ikke målet" in text and "Jobber kjøres i appen" in text


def test_the_page_says_when_nothing_failed(client, shop, staff_token):
    text = client.get(f"/admin/activity?shop={SHOP_DOMAIN}&host=abc&id_token={staff_token()}").get_data(as_text=True)
    assert "No failed deliveries." in text and "Nothing measured yet" in text


def test_nul_characters_are_422_on_both_databases(admin_api, session):
    """PostgreSQL cannot store NUL in text (schemathesis found a 500 here); every route refuses it up front."""
    answer = admin_api.post("/keys", json={"name": "ERP\x00"})
    assert answer.status_code == 422 and answer.get_json()["errors"] == {"name": ["must not contain NUL characters"]}
    assert admin_api.get("/activity/events?status=fail%00ed").status_code == 422
    assert admin_api.post("/vitals", json={"page": "admin.home", "metrics": [{"name": "LCP", "value": 1, "id": "\x00"}]}
                          ).status_code == 422


def test_retry_when_redis_is_down_keeps_the_event_queued_for_the_sweeper(app, session, shop, staff_token):
    event = add_event(session, shop, body=simple_order(80, 8, "20.00"))
    session.commit()
    down = create_app({**BASE_CONFIG, "DATABASE_URL": app.config["DATABASE_URL"], "REDIS_URL": "redis://127.0.0.1:1/0",
                       "AUTO_MIGRATE": False})
    try:
        answer = AdminApi(down.test_client(), staff_token()).post(f"/activity/events/{event.id}/retry")
        assert answer.status_code == 200 and answer.get_json()["status"] == "received"
        health = AdminApi(down.test_client(), staff_token()).get("/activity/health").get_json()
        assert health["queue"] == {"reachable": False, "depth": None, "failed_jobs": None}
    finally:
        down.extensions["db"].dispose()
    session.expire_all()
    assert session.get(WebhookEvent, event.id).status == "received"  # overdue: the sweeper schedules its drain


def test_decimals_written_as_strings_are_documented_as_strings():
    """apispec called them numbers with string bounds ("maximum": "100"), which schemathesis refuses as OpenAPI."""
    from decimal import Decimal

    from apispec import APISpec
    from marshmallow import Schema, fields, validate

    from loyalty_app.web.api.openapi import _plugin

    class Priced(Schema):
        rate = fields.Decimal(as_string=True, validate=validate.Range(min=Decimal("0"), max=Decimal("100"),
                                                                     min_inclusive=False))
        floor = fields.Decimal(as_string=True, allow_none=True, validate=validate.Range(min=0, max=10**9))
        plain = fields.Decimal(validate=validate.Range(min=0, max=5))

    spec = APISpec(title="t", version="1", openapi_version="3.0.3", plugins=[_plugin()])
    spec.components.schema("Priced", schema=Priced)
    properties = spec.to_dict()["components"]["schemas"]["Priced"]["properties"]
    assert properties["rate"] == {"type": "string", "format": "decimal", "x-minimum": "0", "x-maximum": "100"}
    assert properties["floor"] == {"type": "string", "format": "decimal", "nullable": True, "x-minimum": "0",
                                   "x-maximum": "1000000000"}
    assert properties["plain"] == {"type": "number", "minimum": 0, "maximum": 5}
