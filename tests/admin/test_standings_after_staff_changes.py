"""Staff adjustments and imports (and their undo) mirror the members' new standings to Shopify, as orders do.

On Redis (as in production) they mark the members and schedule the one delayed sync job the webhook
drain uses; without Redis (the embedded default, jobs inline) nothing is mirrored and no request waits
on Shopify; with Redis unreachable the committed change still answers.
"""
from __future__ import annotations

import logging

import pytest
import responses
from sqlalchemy import select

from loyalty_app import create_app
from loyalty_app.extensions import db, queues
from loyalty_app.models import LedgerEntry
from loyalty_app.services.members import enrol, find_member
from tests.conftest import BASE_CONFIG
from tests.fake_admin import FakeAdmin
from tests.helpers import AdminApi
from webhooks.jobs import STANDINGS_DIRTY, sync_standings

IMPORT = "customer_id,points\n1001,300\n1002,40\n1003,75\n"  # 1003 is no member yet: the import enrols them


def _enrol(session, shop, *customer_ids: int) -> None:  # type: ignore[no-untyped-def]
    for customer_id in customer_ids:
        enrol(session, shop, customer_id, email=f"{customer_id}@example.com")
    session.commit()


def _dirty() -> set[int]:
    """The member ids marked for the next sync."""
    return {int(value) for value in queues.redis.smembers(STANDINGS_DIRTY)}


def _ids(session, shop, *customer_ids: int) -> set[int]:  # type: ignore[no-untyped-def]
    return {find_member(session, shop.id, customer_id).id for customer_id in customer_ids}


def _sync() -> dict[str, str]:
    """Run the scheduled sync job's work against the fake Admin; the balances it wrote, by customer gid."""
    written: dict[str, str] = {}

    def metafields_set(variables):  # type: ignore[no-untyped-def]
        for metafield in variables["metafields"]:
            if metafield["key"] == "balance":
                written[metafield["ownerId"]] = metafield["value"]
        return {"metafieldsSet": {"metafields": [], "userErrors": []}}

    with responses.RequestsMock() as rsps:
        FakeAdmin(rsps).serve("MetafieldsSet", metafields_set)
        sync_standings()
    return written


@pytest.fixture
def redis_admin(pg_redis_app, redis_shop, staff_token):  # type: ignore[no-untyped-def]
    """``/admin/api`` of the Redis-backed app as staff member 1, inside its app context."""
    with pg_redis_app.app_context():
        yield AdminApi(pg_redis_app.test_client(), staff_token(lifetime=3600))


@pytest.mark.integration
def test_an_adjustment_schedules_the_members_sync_and_a_replay_or_refusal_does_not(redis_admin, redis_shop):
    session = db.session()
    _enrol(session, redis_shop, 1001)
    body = {"points": 250, "reason": "Goodwill", "idempotency_key": "goodwill-1"}
    assert redis_admin.post("/members/1001/adjustments", json=body).status_code == 201

    assert _dirty() == _ids(session, redis_shop, 1001)
    assert queues.jobs.scheduled_job_registry.count == 1
    assert _sync() == {"gid://shopify/Customer/1001": "250"}
    assert _dirty() == set()

    assert redis_admin.post("/members/1001/adjustments", json=body).status_code == 201  # replayed: nothing changed
    too_much = {"points": -999, "reason": "Typo", "idempotency_key": "goodwill-2"}
    assert redis_admin.post("/members/1001/adjustments", json=too_much).status_code == 422
    assert _dirty() == set()


@pytest.mark.integration
def test_an_import_and_its_undo_each_schedule_the_sync_of_every_member_they_change(redis_admin, redis_shop):
    session = db.session()
    _enrol(session, redis_shop, 1001, 1002, 1004)
    applied = redis_admin.post("/imports?dry_run=false", data=IMPORT.encode(), content_type="text/csv")
    assert applied.status_code == 200

    assert _dirty() == _ids(session, redis_shop, 1001, 1002, 1003)  # 1004 was not in the file
    assert queues.jobs.scheduled_job_registry.count == 1
    assert _sync() == {"gid://shopify/Customer/1001": "300", "gid://shopify/Customer/1002": "40",
                       "gid://shopify/Customer/1003": "75"}

    assert redis_admin.post(f"/imports/{applied.get_json()['import']['id']}/undo").status_code == 200
    assert _dirty() == _ids(session, redis_shop, 1001, 1002, 1003)
    assert _sync() == {"gid://shopify/Customer/1001": "0", "gid://shopify/Customer/1002": "0",
                       "gid://shopify/Customer/1003": "0"}


@pytest.mark.integration
def test_with_redis_unreachable_an_adjustment_still_answers_and_says_why_it_was_not_synced(
        pg_redis_app, redis_shop, pg_url, staff_token, caplog):
    down = create_app({**BASE_CONFIG, "DATABASE_URL": pg_url, "REDIS_URL": "redis://127.0.0.1:1/0",
                       "AUTO_MIGRATE": False})
    with down.app_context():
        _enrol(db.session(), redis_shop, 1001)
        api = AdminApi(down.test_client(), staff_token(lifetime=3600))
        with caplog.at_level(logging.ERROR, logger="webhooks.jobs"):
            response = api.post("/members/1001/adjustments",
                                json={"points": 30, "reason": "Goodwill", "idempotency_key": "goodwill-1"})
        assert response.status_code == 201 and response.get_json()["member"]["balance"] == 30
        assert "could not schedule the standings sync of 1 member(s)" in caplog.text
        assert db.session().execute(select(LedgerEntry.amount)).scalars().all() == [30]


def test_without_redis_staff_changes_never_wait_on_shopify(admin_api, session, shop):
    """The embedded default mirrors nothing (the widget asks the app proxy): no Admin call in the request."""
    _enrol(session, shop, 1001, 1002)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake = FakeAdmin(rsps)
        assert admin_api.post("/members/1001/adjustments",
                              json={"points": 5, "reason": "Goodwill", "idempotency_key": "goodwill-1"}).status_code == 201
        applied = admin_api.post("/imports?dry_run=false", data=IMPORT.encode(), content_type="text/csv")
        assert applied.status_code == 200
        assert admin_api.post(f"/imports/{applied.get_json()['import']['id']}/undo").status_code == 200
    assert fake.requests == []
    assert find_member(session, shop.id, 1003).balance == 0
