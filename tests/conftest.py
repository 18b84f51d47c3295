"""Fixtures: an app per test on SQLite (the embedded default) or on the real PostgreSQL and Redis.

SQLite databases are copied from one migrated template, so migrations run once per session.
PostgreSQL gets one database per xdist worker, named after DATABASE_URL's, migrated once and truncated between
tests. Redis tests use exactly the database number in REDIS_URL, flushed per test, one at a time across xdist
workers.
"""
from __future__ import annotations

import fcntl
import functools
import gc
import os
import shutil
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from loyalty_app import create_app
from loyalty_app.extensions import db
from loyalty_app.migrate import upgrade
from loyalty_app.models import Base, Shop
from loyalty_app.services.shops import install_shop
from tests.helpers import AdminApi, post_webhook, session_token

SECRET = "test-api-secret-0123456789abcdef"
BASE_CONFIG = {
    "LOYALTY_ENV": "test",
    "SHOPIFY_API_KEY": "test-api-key",
    "SHOPIFY_API_SECRET": SECRET,
    "SHOPIFY_API_SECRET_PREVIOUS": None,
    "REDIS_URL": None,
    "APP_URL": "https://loyalty.example.com",
    # Pinned here: the development default points at the built-in fake Admin, tests mock Shopify's own URL.
    "SHOPIFY_ADMIN_URL": "https://{shop}/admin/api/{version}/graphql.json",
    "TESTING": True,
}
SHOP_DOMAIN = "demo-shop.myshopify.com"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated SQLite file that each test copies."""
    path = tmp_path_factory.mktemp("template") / "loyalty.sqlite3"
    create_app({**BASE_CONFIG, "DATABASE_URL": f"sqlite:///{path}", "AUTO_MIGRATE": True}).extensions["db"].dispose()
    return str(path)


@pytest.fixture(params=["sqlite", "postgresql"])
def app(request: pytest.FixtureRequest, sqlite_template: str, tmp_path) -> Iterator[Flask]:  # type: ignore[no-untyped-def]
    """The app with jobs inline, once on SQLite (the embedded default) and once on the real PostgreSQL."""
    if request.param == "postgresql":
        yield request.getfixturevalue("pg_app")
        return
    path = tmp_path / "loyalty.sqlite3"
    shutil.copy(sqlite_template, path)
    application = create_app({**BASE_CONFIG, "DATABASE_URL": f"sqlite:///{path}", "AUTO_MIGRATE": False})
    yield application
    application.extensions["db"].dispose()


def _require(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        if os.environ.get("CI"):
            pytest.fail(f"{name} must be set in CI: .ci/run points it at the machine's server")
        pytest.skip(f"{name} is not set (run through .ci/run, or export it)")
    return value


@pytest.fixture(scope="session")
def pg_url(worker_id: str) -> str:
    """A PostgreSQL database of this xdist worker's own (``<name>_master``, ``<name>_gw0``, …), migrated to head.

    Only names derived from DATABASE_URL's are created or dropped, so suites given different names never meet.
    """
    base = make_url(_require("DATABASE_URL")).set(drivername="postgresql+psycopg")
    name = f"{base.database}_{worker_id}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = base.set(database=name).render_as_string(hide_password=False)
    application = create_app({**BASE_CONFIG, "DATABASE_URL": url, "AUTO_MIGRATE": False})
    upgrade(application)
    application.extensions["db"].dispose()
    return url


@pytest.fixture
def redis_url(worker_id: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Exactly the Redis database REDIS_URL names, held by this test alone; the tests flush it.

    Every test that uses Redis comes through here. Under xdist the workers share the one database, so each
    Redis test holds an exclusive lock on a file in the run's shared temporary directory: one runs at a
    time across the workers, and a flush never hits a neighbour's data. (``--dist loadgroup`` would keep
    them on one worker, but pytest 9.2 broke it silently: pytest-xdist issue #1386.)
    """
    url = _require("REDIS_URL")
    if worker_id == "master":
        yield url
        return
    lock_path = tmp_path_factory.getbasetemp().parent / "redis.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield url
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture
def pg_redis_app(pg_url: str, redis_url: str) -> Iterator[Flask]:
    """The app on the real PostgreSQL and Redis (emptied first), as in production."""
    application = create_app({**BASE_CONFIG, "DATABASE_URL": pg_url, "REDIS_URL": redis_url, "AUTO_MIGRATE": False})
    _truncate(application)
    application.extensions["queues"].redis.flushdb()
    yield application
    application.extensions["db"].dispose()


@pytest.fixture
def redis_shop(pg_redis_app: Flask) -> Shop:
    """An installed shop in ``pg_redis_app``'s database."""
    with pg_redis_app.app_context():
        session = db.session()
        created = install_shop(session, SHOP_DOMAIN, "shpat_t", pg_redis_app.extensions["token_box"])
        session.commit()
        return created


def _truncate(application: Flask) -> None:
    """Empty every table; a connection an earlier test left idle in a transaction is ended first.

    Such a leftover (an app of an earlier test whose session was never closed) holds a lock that
    TRUNCATE would wait on for ever; ending it turns a hung run into a clean start.
    """
    # A session an earlier test dropped without closing still holds its connection until the garbage
    # collector finalises it; collected here, its transaction rolls back cleanly. Left to chance, the
    # finaliser could run after the TRUNCATE below had ended that backend, and raise inside whatever
    # code was running then (once, CPython's AST compiler in a later test's app factory).
    gc.collect()
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with application.extensions["db"].engine.begin() as conn:
        conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
                          "AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'"))
        conn.execute(text("SET LOCAL lock_timeout = '30s'"))
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
def pg_app(pg_url: str) -> Iterator[Flask]:
    """The app on the real PostgreSQL, tables emptied first; jobs inline unless a test adds Redis."""
    application = create_app({**BASE_CONFIG, "DATABASE_URL": pg_url, "AUTO_MIGRATE": False})
    _truncate(application)
    yield application
    application.extensions["db"].dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def session(app: Flask) -> Iterator[Session]:
    """A session on the test's SQLite database, inside an app context."""
    with app.app_context():
        yield db.session()  # type: ignore[misc]


@pytest.fixture
def deliver(client: FlaskClient):  # type: ignore[no-untyped-def]
    """POST a body to /webhooks signed like Shopify signs it; returns the response."""
    return functools.partial(post_webhook, client)


@pytest.fixture
def shop(app: Flask, session: Session) -> Shop:
    """An installed shop with the default program."""
    created = install_shop(session, SHOP_DOMAIN, "shpat_test_token", app.extensions["token_box"],
                           scopes="read_orders", currency="USD")
    session.commit()
    return created


@pytest.fixture
def staff_token():  # type: ignore[no-untyped-def]
    """Make an App Bridge session token: ``staff_token(shop=SHOP_DOMAIN, sub="1", lifetime=60, **claims)``."""

    def make(shop: str = SHOP_DOMAIN, **kwargs):  # type: ignore[no-untyped-def]
        return session_token(SECRET, BASE_CONFIG["SHOPIFY_API_KEY"], shop, **kwargs)

    return make


@pytest.fixture
def admin_api(client: FlaskClient, shop: Shop, staff_token) -> AdminApi:  # type: ignore[no-untyped-def]
    """``/admin/api`` as staff member 1 of the installed test shop (token valid for the whole test)."""
    return AdminApi(client, staff_token(lifetime=3600))
