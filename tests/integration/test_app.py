"""The app factory, the health route and the migrations."""
import shutil

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from loyalty_app import create_app
from loyalty_app.extensions import db
from loyalty_app.models import Base
from loyalty_app.shopify.documents import document
from tests.conftest import BASE_CONFIG
from tests.fake_admin import answer_errors


def test_healthz_reports_inline_jobs_and_api_version(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "api_version": "2026-10", "jobs": "inline", "database": "ok",
                             "redis": "not configured", "queues": {},
                             "inbox": {"waiting": 0, "processing": 0, "failed": 0, "oldest_waiting_seconds": None}}


def test_healthz_reports_the_backlog_and_a_stale_one_as_degraded(app, client, session, shop):
    from datetime import timedelta

    from loyalty_app.models import WebhookEvent, utcnow

    session.add_all([
        WebhookEvent(webhook_id="old", topic="orders/paid", shop_domain=shop.domain, shop_id=shop.id, body="{}",
                     received_at=utcnow() - timedelta(minutes=10)),
        WebhookEvent(webhook_id="bad", topic="orders/paid", shop_domain=shop.domain, shop_id=shop.id, status="failed")])
    session.commit()
    body = client.get("/healthz").json
    assert body["status"] == "degraded"
    assert (body["inbox"]["waiting"], body["inbox"]["failed"]) == (1, 1)
    assert 590 < body["inbox"]["oldest_waiting_seconds"] < 700


def test_healthz_is_503_when_the_database_is_unreachable(tmp_path):
    from loyalty_app import create_app

    broken = create_app({**BASE_CONFIG, "DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none",
                         "AUTO_MIGRATE": False})
    response = broken.test_client().get("/healthz")
    assert response.status_code == 503 and response.json["status"] == "down"


def test_healthz_reports_queue_depths_and_a_lost_redis(pg_redis_app):
    body = pg_redis_app.test_client().get("/healthz").json
    assert (body["redis"], body["queues"]) == ("ok", {"loyalty": 0, "loyalty-jobs": 0})
    from loyalty_app import create_app
    from tests.conftest import BASE_CONFIG as CONFIG

    lost = create_app({**CONFIG, "DATABASE_URL": pg_redis_app.config["DATABASE_URL"], "AUTO_MIGRATE": False,
                       "REDIS_URL": "redis://127.0.0.1:1/0"})
    body = lost.test_client().get("/healthz")
    assert body.status_code == 200 and body.json["status"] == "degraded" and body.json["redis"] == "unreachable"


def test_ping_needs_nothing(client):
    response = client.get("/ping")
    assert (response.status_code, response.data) == (200, b"ok")


def test_migrations_match_the_models(app):
    with app.app_context(), db.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_migrations_match_the_models_on_postgresql(pg_app):
    with pg_app.app_context(), db.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_inbox_bodies_are_compressed_with_lz4_on_postgresql(pg_app):
    """Migration 0004: lz4 where the server has it (Debian's and the official images do), else the default."""
    with pg_app.app_context(), db.engine.connect() as connection:
        available = connection.execute(text(
            "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'")).scalar()
        method = connection.execute(text(
            "SELECT attcompression FROM pg_attribute WHERE attrelid = 'webhook_events'::regclass AND attname = 'body'"
        )).scalar()
    assert method == ("l" if available else "")


def test_development_storefront_and_fake_admin_exist_only_in_development(app, client):
    assert app.config["LOYALTY_ENV"] == "test"
    assert client.get("/dev/storefront").status_code == 404
    assert client.post("/dev/admin/demo-shop.myshopify.com/2026-10/graphql.json", json={}).status_code == 404
    assert client.get("/apps/loyalty/me").status_code == 404


def test_development_fake_admin_reports_codes_unused_as_shopify_would(sqlite_template, tmp_path):
    """The hourly code expiry asks for usage; in development no checkout ever used a code."""
    path = tmp_path / "dev.sqlite3"
    shutil.copy(sqlite_template, path)
    dev = create_app({**BASE_CONFIG, "LOYALTY_ENV": "development", "DATABASE_URL": f"sqlite:///{path}",
                      "AUTO_MIGRATE": False})
    query, variables = document("DiscountUsage"), {"id": "gid://shopify/DiscountCodeNode/1"}
    answer = dev.test_client().post("/dev/admin/demo-shop.myshopify.com/2026-10/graphql.json",
                                    json={"query": query, "variables": variables}).get_json()
    dev.extensions["db"].dispose()
    assert answer_errors(query, variables, answer["data"]) == []
    assert answer["data"]["codeDiscountNode"]["codeDiscount"]["asyncUsageCount"] == 0


def test_development_fake_admin_issues_store_credit_as_shopify_would(sqlite_template, tmp_path):
    """Store credit rewards can be tried on the development storefront: its answers fit Shopify's schema."""
    path = tmp_path / "dev.sqlite3"
    shutil.copy(sqlite_template, path)
    dev = create_app({**BASE_CONFIG, "LOYALTY_ENV": "development", "DATABASE_URL": f"sqlite:///{path}",
                      "AUTO_MIGRATE": False})
    money = {"amount": "10.00", "currencyCode": "USD"}
    asked = [("StoreCreditConfiguration", {}),
             ("StoreCreditAccountCredit", {"id": "gid://shopify/Customer/1", "creditInput": {"creditAmount": money}}),
             ("StoreCreditAccountDebit", {"id": "gid://shopify/Customer/1", "debitInput": {"debitAmount": money}})]
    client = dev.test_client()
    answers = [client.post("/dev/admin/demo-shop.myshopify.com/2026-10/graphql.json",
                           json={"query": document(name), "variables": variables}).get_json()
               for name, variables in asked]
    dev.extensions["db"].dispose()
    for (name, variables), answer in zip(asked, answers):
        assert answer_errors(document(name), variables, answer["data"]) == [], name
    assert answers[0]["data"]["storeCreditConfiguration"]["storeCreditEnabled"] is True
